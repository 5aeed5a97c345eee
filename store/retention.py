"""Retention: each kind of record is deleted once its period is over; the audit log is kept for good.

| record                         | kept for                                   |
|--------------------------------|--------------------------------------------|
| draft conversations, inbound   | draft TTL (hours) since the last message   |
| alerts from chats never sent   | with their draft, once acknowledged        |
| alerts linked to a referral    | as long as the referral                    |
| declined referrals + history   | `declined_days` after the decision         |
| closed referrals + history     | `closed_days` after closing                |
| finished outbound messages     | `closed_days` after their last change      |
| screen-outs                    | always (reason and day only, no one named) |
| audit log                      | always (the database refuses deletes)      |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from flows.process import Status
from flows.statuses import OutboundStatus
from store.audit import audit
from store.db import rows_affected
from store.models import OutboundMessage, Referral, SafeguardingAlert
from store.purge import purge_drafts

__all__ = ["ACTOR", "FINISHED_OUTBOUND", "RetentionCounts", "purge_expired"]

# Statuses after which the dispatcher never touches a message again (Twilio's "queued" and "sent"
# are as far as some messages ever get reported).
FINISHED_OUTBOUND = (OutboundStatus.QUEUED, OutboundStatus.SENT, OutboundStatus.DELIVERED,
                     OutboundStatus.UNDELIVERED, OutboundStatus.FAILED, OutboundStatus.SUPPRESSED)
ACTOR = "retention"
_CHUNK = 500


@dataclass(frozen=True)
class RetentionCounts:
    conversations: int
    messages: int
    declined: int
    closed: int
    outbound: int
    alerts: int = 0

    @property
    def total(self) -> int:
        return self.conversations + self.messages + self.declined + self.closed + self.outbound + self.alerts


def _older(column: InstrumentedAttribute[datetime | None], fallback: InstrumentedAttribute[datetime],
           cutoff: datetime) -> ColumnElement[bool]:
    """The record's own date if it has one, else when it was last changed, is before the cutoff."""
    return or_(and_(column.is_not(None), column < cutoff), and_(column.is_(None), fallback < cutoff))


async def purge_expired(db: AsyncSession, now: datetime, *, draft_ttl_hours: int, declined_days: int,
                        closed_days: int) -> RetentionCounts:
    """Delete every record past its retention period; each deleted referral leaves one audit line."""
    drafts = await purge_drafts(db, now, draft_ttl_hours)
    expired = (
        (Status.DECLINED, _older(Referral.decided_at, Referral.updated_at, now - timedelta(days=declined_days)),
         declined_days),
        (Status.CLOSED, _older(Referral.closed_at, Referral.updated_at, now - timedelta(days=closed_days)),
         closed_days),
    )
    deleted: dict[str, int] = {}
    for status, condition, days in expired:
        found = (await db.execute(select(Referral.id, Referral.reference)
                                  .where(Referral.status == status.value, condition))).all()
        for start in range(0, len(found), _CHUNK):
            chunk = found[start:start + _CHUNK]
            ids = [row.id for row in chunk]
            # Alerts name their referral by reference (no foreign key): they go with it, here.
            references = [row.reference for row in chunk]
            await db.execute(delete(SafeguardingAlert).where(SafeguardingAlert.reference.in_(references))
                             .execution_options(synchronize_session=False))
            # referral_events go with them: ON DELETE CASCADE (foreign keys are on for SQLite in store/db.py).
            await db.execute(delete(Referral).where(Referral.id.in_(ids)).execution_options(synchronize_session=False))
        for row in found:
            await audit(db, ACTOR, "purged", now, row.reference, f"{status.value}, retention {days} days")
        deleted[status.value] = len(found)
    outbound = await db.execute(
        delete(OutboundMessage)
        .where(OutboundMessage.status.in_(FINISHED_OUTBOUND),
               OutboundMessage.updated_at < now - timedelta(days=closed_days))
        .execution_options(synchronize_session=False))
    return RetentionCounts(conversations=drafts.conversations, messages=drafts.messages,
                           declined=deleted[Status.DECLINED.value], closed=deleted[Status.CLOSED.value],
                           outbound=rows_affected(outbound), alerts=drafts.alerts)
