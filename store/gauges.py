"""What /metrics reads from the database at scrape time: counts and ages only, by enum values only.

Read from the database, not kept in a process, so every app process and worker answers the same and
a restart loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.statuses import InboundStatus, OutboundStatus
from store.models import InboundMessage, OutboundMessage, Referral, SafeguardingAlert
from store.queue import real_referrals

__all__ = ["WAITING", "Gauges", "read_gauges"]

# Outbox rows still to be sent (or being sent): the outbox's depth.
WAITING = (OutboundStatus.PENDING, OutboundStatus.SENDING)


@dataclass(frozen=True)
class Gauges:
    outbox_by_status: dict[str, int]
    oldest_due_seconds: float
    open_alerts: int
    referrals_by_status: dict[str, int]
    inbound_unprocessed: int


async def read_gauges(db: AsyncSession, now: datetime) -> Gauges:
    """One read-only look at the outbox, the alerts and the queue."""
    outbox = {str(status): int(count) for status, count in await db.execute(
        select(OutboundMessage.status, func.count()).where(OutboundMessage.status.in_(WAITING))
        .group_by(OutboundMessage.status))}
    oldest = await db.scalar(select(func.min(OutboundMessage.next_attempt_at)).where(
        OutboundMessage.status == OutboundStatus.PENDING, OutboundMessage.next_attempt_at <= now))
    alerts = await db.scalar(select(func.count()).select_from(SafeguardingAlert)
                             .where(SafeguardingAlert.acknowledged_at.is_(None)))
    referrals = {str(status): int(count) for status, count in await db.execute(
        select(Referral.status, func.count()).where(real_referrals()).group_by(Referral.status))}
    unprocessed = await db.scalar(select(func.count()).select_from(InboundMessage)
                                  .where(InboundMessage.status == InboundStatus.RECEIVED))
    return Gauges(outbox_by_status=outbox,
                  oldest_due_seconds=max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0,
                  open_alerts=int(alerts or 0), referrals_by_status=referrals,
                  inbound_unprocessed=int(unprocessed or 0))
