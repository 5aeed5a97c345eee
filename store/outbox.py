"""The outbox: messages to send are rows, written in the same transaction as what caused them.

A dispatcher claims due rows (SKIP LOCKED on PostgreSQL, so several workers share the work),
marks them `sending` before calling the provider, and records what the provider said.

A claim is a lease: `attempts` numbers it, `renew_claim` extends it just before the provider call, and
a claim left `sending` past the stale time is taken again. A message tried before may already have
gone (the provider took it, then the worker died or the answer was lost), so `Claimed.may_have_gone`
tells the sender to ask the provider first rather than send twice.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from flows.channels import Channel
from flows.statuses import OutboundStatus
from flows.text import plain, segment_count
from store.contacts import contact_for
from store.db import rows_affected
from store.models import Contact, OutboundMessage

__all__ = [
    "RETRY_DELAYS",
    "STALE_SENDING",
    "Claimed",
    "claim_due",
    "delivered_to",
    "enqueue",
    "mark_accepted",
    "mark_failed",
    "mark_retry",
    "next_due",
    "recipient_of",
    "record_status",
    "renew_claim",
    "untried",
]

# Backoff between tries of a retryable failure (429, 5xx, time-outs); then the message has failed.
RETRY_DELAYS = (timedelta(seconds=2), timedelta(seconds=10), timedelta(seconds=30), timedelta(minutes=2),
                timedelta(minutes=10))
# A message left `sending` this long was being sent by a worker that died: look at it again.
# The default for OUTBOX_STALE_SECONDS; it must stay well above how long one send can take.
STALE_SENDING = timedelta(minutes=5)
# Provider ids of a contact's messages recorded from this long before a message was queued count as
# "someone else's" when the sender looks for that message at the provider. Wider than the sender's own
# look-back (bot.sms_sender.CLOCK_MARGIN), so every message that look-back can see is known here.
_OTHERS_MARGIN = timedelta(minutes=10)

# Provider statuses only move forward: a late "sent" must not overwrite "delivered".
_RANK = {OutboundStatus.QUEUED: 1, OutboundStatus.SENT: 2, OutboundStatus.DELIVERED: 3,
         OutboundStatus.UNDELIVERED: 3, OutboundStatus.FAILED: 3}
_KNOWN = frozenset(OutboundStatus)


async def enqueue(
    db: AsyncSession,
    *,
    channel: Channel,
    to: str,
    body: str,
    purpose: str,
    now: datetime,
    markup: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    send_at: datetime | None = None,
    appointment_id: int | None = None,
    planned_for: str | None = None,
) -> OutboundMessage | None:
    """Add a message to send; suppressed at once if the contact opted out or blocked us.

    With a dedupe_key, the same message is never queued twice (None is returned the second time).
    """
    if dedupe_key is not None:
        existing = await db.scalar(select(OutboundMessage.id).where(OutboundMessage.dedupe_key == dedupe_key))
        if existing is not None:
            return None
    contact: Contact = await contact_for(db, channel, to, now)
    text = plain(body)
    status = OutboundStatus.SUPPRESSED if contact.opted_out or contact.blocked else OutboundStatus.PENDING
    message = OutboundMessage(
        channel=channel, contact_id=contact.id, body=text, markup=markup, purpose=purpose, dedupe_key=dedupe_key,
        status=status, segments=segment_count(text), attempts=0, next_attempt_at=send_at or now, created_at=now,
        updated_at=now, appointment_id=appointment_id, planned_for=planned_for,
    )
    db.add(message)
    await db.flush()
    return message


class Claimed:
    """A message a worker has taken to send, with what it needs to send it."""

    def __init__(self, message: OutboundMessage, contact: Contact, *, reclaimed: bool = False,
                 others_sent: frozenset[str] = frozenset()) -> None:
        self.id = message.id
        self.channel = message.channel
        self.to = contact.address
        self.body = message.body
        self.markup = message.markup
        self.attempts = message.attempts
        self.last_error = message.error_code
        self.blocked = contact.opted_out or contact.blocked
        self.appointment_id = message.appointment_id
        self.created_at = message.created_at
        self.claimed_at = message.updated_at
        # Taken back from a worker that stopped mid-send (died, or stalled past the stale time).
        self.reclaimed = reclaimed
        # Provider ids already recorded for this contact's other messages: a lookup must not mistake
        # one of them (the same text sent twice on purpose) for this message.
        self.others_sent = others_sent

    @property
    def may_have_gone(self) -> bool:
        """An earlier try may have reached the provider: look there before sending again."""
        return self.attempts > 1 or self.reclaimed


async def claim_due(db: AsyncSession, now: datetime, limit: int, ids: Sequence[int] | None = None,
                    channels: Sequence[Channel] | None = None, stale_after: timedelta = STALE_SENDING,
                    exclude: Collection[int] = ()) -> list[Claimed]:
    """Take up to `limit` due messages (or just `ids`, never `exclude`), marking them `sending` so no one else does.

    `exclude`: the claimer's own sends still in flight, which it must not take again however long they take.
    """
    due = (
        (OutboundMessage.status == OutboundStatus.PENDING)
        | ((OutboundMessage.status == OutboundStatus.SENDING) & (OutboundMessage.updated_at < now - stale_after))
    )
    # One person's messages go out in order: nothing overtakes an earlier one still waiting to go,
    # whether due now or backing off after a failed try. One planned for later (tomorrow's reminder)
    # is not waiting to go yet, and must not hold back what is due now.
    earlier = aliased(OutboundMessage)
    waiting_before = (
        select(earlier.id)
        .where(earlier.contact_id == OutboundMessage.contact_id, earlier.id < OutboundMessage.id,
               earlier.status.in_((OutboundStatus.PENDING, OutboundStatus.SENDING)),
               (earlier.next_attempt_at <= now) | (earlier.attempts > 0))
        .exists()
    )
    query = (
        select(OutboundMessage, Contact)
        .join(Contact, Contact.id == OutboundMessage.contact_id)
        .where(due, OutboundMessage.next_attempt_at <= now, ~waiting_before)
        .order_by(OutboundMessage.next_attempt_at, OutboundMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=OutboundMessage)
    )
    if ids is not None:
        query = query.where(OutboundMessage.id.in_(ids))
    if channels is not None:
        query = query.where(OutboundMessage.channel.in_(channels))
    if exclude:
        query = query.where(OutboundMessage.id.not_in(list(exclude)))
    rows = (await db.execute(query)).all()
    others = await _others_sent(db, [message for message, _ in rows if message.attempts > 0])
    claimed = []
    for message, contact in rows:
        reclaimed = message.status == OutboundStatus.SENDING
        message.status = OutboundStatus.SENDING
        message.attempts += 1
        message.updated_at = now
        claimed.append(Claimed(message, contact, reclaimed=reclaimed, others_sent=others.get(message.id, frozenset())))
    return claimed


async def _others_sent(db: AsyncSession, tried: Sequence[OutboundMessage]) -> dict[int, frozenset[str]]:
    """For each message tried before: provider ids of its contact's other messages since it was queued."""
    if not tried:
        return {}
    since = min(message.created_at for message in tried) - _OTHERS_MARGIN
    found = (await db.execute(
        select(OutboundMessage.contact_id, OutboundMessage.id, OutboundMessage.provider_id)
        .where(OutboundMessage.contact_id.in_({message.contact_id for message in tried}),
               OutboundMessage.provider_id.is_not(None), OutboundMessage.updated_at >= since)
    )).all()
    return {
        message.id: frozenset(str(provider_id) for contact_id, other_id, provider_id in found
                              if contact_id == message.contact_id and other_id != message.id)
        for message in tried
    }


async def renew_claim(db: AsyncSession, message_id: int, attempts: int, now: datetime) -> bool:
    """Extend a claim just before calling the provider; False if another worker has taken it since."""
    renewed = await db.execute(update(OutboundMessage)
                               .where(_still_claimed(message_id, attempts))
                               .values(updated_at=now))
    return rows_affected(renewed) == 1


def _still_claimed(message_id: int, attempts: int) -> ColumnElement[bool]:
    """This claim is still the current one: `sending`, and not taken again since (which counts an attempt)."""
    return and_(OutboundMessage.id == message_id, OutboundMessage.status == OutboundStatus.SENDING,
                OutboundMessage.attempts == attempts)


async def next_due(db: AsyncSession) -> datetime | None:
    """When the earliest waiting message is due, so an idle dispatcher wakes up in time for it."""
    return await db.scalar(select(func.min(OutboundMessage.next_attempt_at))
                           .where(OutboundMessage.status == OutboundStatus.PENDING))


async def mark_accepted(db: AsyncSession, message_id: int, provider_id: str | None, status: OutboundStatus,
                        now: datetime) -> None:
    """Record the provider's id; whoever holds the claim now, since a message that went out did go."""
    await db.execute(update(OutboundMessage).where(OutboundMessage.id == message_id)
                     .values(status=status, provider_id=provider_id, error_code=None, updated_at=now))


async def mark_accepted_many(db: AsyncSession, accepted: Sequence[tuple[int, str | None, OutboundStatus]],
                             now: datetime) -> None:
    """`mark_accepted` for many messages (id, provider id, status) in one statement."""
    if accepted:
        await db.execute(update(OutboundMessage), [
            {"id": message_id, "status": status, "provider_id": provider_id, "error_code": None, "updated_at": now}
            for message_id, provider_id, status in accepted])


async def mark_retry(db: AsyncSession, message_id: int, attempts: int, error: str, now: datetime,
                     after: timedelta | None = None) -> bool:
    """Put a retryable failure back in the queue with backoff; False (and failed) when tries ran out.

    Only while the claim numbered `attempts` is current: a worker that lost its claim must not put
    back a message another worker has meanwhile sent.
    """
    if attempts > len(RETRY_DELAYS):
        await mark_failed(db, message_id, error, now, attempts=attempts)
        return False
    delay = after if after is not None else RETRY_DELAYS[attempts - 1]
    await db.execute(update(OutboundMessage).where(_still_claimed(message_id, attempts))
                     .values(status=OutboundStatus.PENDING, error_code=error, next_attempt_at=now + delay,
                             updated_at=now))
    return True


async def mark_failed(db: AsyncSession, message_id: int, error: str, now: datetime,
                      status: OutboundStatus = OutboundStatus.FAILED, attempts: int | None = None) -> None:
    """Record that a message will not go; with `attempts`, only while that claim is current."""
    where = OutboundMessage.id == message_id if attempts is None else _still_claimed(message_id, attempts)
    await db.execute(update(OutboundMessage).where(where).values(status=status, error_code=error, updated_at=now))


async def record_status(db: AsyncSession, provider_id: str, status: str, error_code: str | None,
                        now: datetime) -> bool:
    """A provider's delivery report; False when no message has that id."""
    message = (await db.execute(select(OutboundMessage).where(OutboundMessage.provider_id == provider_id)
                                .with_for_update())).scalar_one_or_none()
    if message is None:
        return False
    # The column holds only our statuses: one of the provider's own (Twilio's read, canceled, ...) is not kept.
    reported = OutboundStatus(status) if status in _KNOWN else None
    if reported is not None and _RANK.get(reported, 0) >= _RANK.get(message.status, 0):
        message.status = reported
        message.error_code = error_code or message.error_code
        message.updated_at = now
    return True


async def delivered_to(db: AsyncSession, contact_id: int, after_id: int, limit: int = 50) -> list[OutboundMessage]:
    """Messages already handed over to one contact, after a given id (for the simulator's inbox)."""
    found = await db.execute(
        select(OutboundMessage)
        .where(OutboundMessage.contact_id == contact_id, OutboundMessage.id > after_id,
               OutboundMessage.status == OutboundStatus.DELIVERED)
        .order_by(OutboundMessage.id).limit(limit)
    )
    return list(found.scalars())


async def untried(db: AsyncSession, ids: Sequence[int]) -> list[int]:
    """Of these messages, the ones still waiting for their first try."""
    found = await db.scalars(select(OutboundMessage.id).where(
        OutboundMessage.id.in_(ids), OutboundMessage.status == OutboundStatus.PENDING, OutboundMessage.attempts == 0))
    return list(found)


async def recipient_of(db: AsyncSession, message_id: int) -> Contact | None:
    """Who a message was for."""
    message = await db.get(OutboundMessage, message_id)
    return await db.get(Contact, message.contact_id) if message else None
