"""Safeguarding alerts: raised by a message that suggested danger, read and acknowledged by the unit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flows.channels import Channel
from flows.process import Refused
from store.audit import audit
from store.db import rows_affected
from store.models import SafeguardingAlert

__all__ = [
    "MAX_ACK_NOTE",
    "acknowledge_alert",
    "alerted_since",
    "alerts",
    "forget_unlinked_alerts",
    "get_alert",
    "link_alerts",
    "open_alert_count",
    "raise_alert",
]

MAX_ACK_NOTE = 1000


async def raise_alert(db: AsyncSession, *, at: datetime, channel: Channel, conversation_id: int | None, state: str,
                      text: str, answer: str) -> SafeguardingAlert:
    """Record the message that suggested danger and what the bot answered; flushed, so it has its id."""
    alert = SafeguardingAlert(created_at=at, channel=channel, conversation_id=conversation_id, reference=None,
                              state=state, text=text, answer=answer)
    db.add(alert)
    await db.flush()
    return alert


async def link_alerts(db: AsyncSession, conversation_id: int, reference: str) -> int:
    """The chat became this referral: its alerts not yet linked now belong to it, and are kept as long as it is."""
    result = await db.execute(
        update(SafeguardingAlert)
        .where(SafeguardingAlert.conversation_id == conversation_id, SafeguardingAlert.reference.is_(None))
        .values(reference=reference)
        .execution_options(synchronize_session=False))
    return rows_affected(result)


async def alerts(db: AsyncSession, *, open_only: bool = False, reference: str | None = None) -> list[SafeguardingAlert]:
    """Alerts, open ones first, then the newest first."""
    query = select(SafeguardingAlert).order_by(SafeguardingAlert.acknowledged_at.is_not(None),
                                               SafeguardingAlert.created_at.desc(), SafeguardingAlert.id.desc())
    if open_only:
        query = query.where(SafeguardingAlert.acknowledged_at.is_(None))
    if reference is not None:
        query = query.where(SafeguardingAlert.reference == reference)
    return list((await db.execute(query)).scalars())


async def get_alert(db: AsyncSession, alert_id: int) -> SafeguardingAlert | None:
    return await db.get(SafeguardingAlert, alert_id)


async def open_alert_count(db: AsyncSession) -> int:
    query = select(func.count()).select_from(SafeguardingAlert).where(SafeguardingAlert.acknowledged_at.is_(None))
    return int((await db.execute(query)).scalar_one())


async def acknowledge_alert(db: AsyncSession, alert_id: int, by: str, note: str, now: datetime) -> SafeguardingAlert:
    """Mark an alert as looked at by this staff member, with what they did about it (audited)."""
    note = note.strip()
    alert = await db.get(SafeguardingAlert, alert_id, with_for_update=True)
    if alert is None:
        raise Refused(f"There is no alert {alert_id}.")
    if alert.acknowledged_at is not None:
        raise Refused(f"Alert {alert_id} was already acknowledged by {alert.acknowledged_by}.")
    if not note:
        raise Refused("Please say what was done about the alert (the note is required).")
    if len(note) > MAX_ACK_NOTE:
        raise Refused(f"The note is {len(note)} characters; it can be at most {MAX_ACK_NOTE}.")
    alert.acknowledged_by, alert.acknowledged_at, alert.ack_note = by, now, note
    await audit(db, by, "alert_acknowledged", now, alert.reference, f"alert {alert.id}")
    return alert


async def forget_unlinked_alerts(db: AsyncSession, cutoff: datetime) -> int:
    """Delete acknowledged alerts raised before the cutoff in chats that never became a referral and are gone now.

    A purged conversation leaves its alerts without one (ON DELETE SET NULL): they go with its draft,
    but only once a person has acknowledged them. An alert nobody has read yet is never deleted
    unseen: it waits on the alerts page, words and all, until someone acts on it.
    """
    result = await db.execute(
        delete(SafeguardingAlert)
        .where(SafeguardingAlert.reference.is_(None), SafeguardingAlert.conversation_id.is_(None),
               SafeguardingAlert.acknowledged_at.is_not(None), SafeguardingAlert.created_at < cutoff)
        .execution_options(synchronize_session=False))
    return rows_affected(result)


async def alerted_since(db: AsyncSession, conversation_id: int, since: datetime) -> bool:
    """Whether this conversation raised a safeguarding alert at or after `since`."""
    found = await db.scalar(select(SafeguardingAlert.id).where(SafeguardingAlert.conversation_id == conversation_id,
                                                               SafeguardingAlert.created_at >= since).limit(1))
    return found is not None
