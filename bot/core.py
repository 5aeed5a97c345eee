"""The one way into a conversation: an inbound message in, the replies out.

Every channel (simulator, SMS, Telegram) builds an `Inbound` and calls `handle`. The message is
stored first, in its own short transaction, so a crash loses nothing; then one transaction locks
the sender's conversation, steps the dialog and saves everything it led to. A provider id seen
before returns the replies it got then, and changes nothing. What the message is, and so how it is
answered, is for the responders in bot.responders to say, asked in order.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.counters import INBOUND, INBOUND_SECONDS
from bot.responders import Turn, respond
from bot.settings import Settings
from flows.channels import PHONE_CHANNELS, Channel
from flows.model import Reply, ReplyKind
from flows.statuses import InboundStatus
from flows.text import segment_count
from store.contacts import contact_for, set_blocked
from store.conversations import count_attempt, find_message, finish_message, lock_conversation, store_inbound
from store.models import Contact
from store.outbox import enqueue

__all__ = ["PHONE_CHANNELS", "Channel", "Handled", "Inbound", "NotStored", "handle", "process", "reply_markup"]

log = logging.getLogger("referral_bot.core")

_ATTEMPTS = 5




class NotStored(RuntimeError):
    """The message could not even be stored (the database is away): nothing of it is kept, so it must be sent again."""


@dataclass(frozen=True)
class Inbound:
    """One message as a channel received it. `sender` and `text` are personal: never log them."""

    channel: Channel
    sender: str
    message_id: str
    text: str
    received_at: datetime


@dataclass(frozen=True)
class Handled:
    """The replies to a message, and the outbox rows holding them when the channel sends them itself."""

    replies: list[Reply]
    outbox_ids: list[int] = field(default_factory=list)
    duplicate: bool = False  # a provider id seen before: the replies it got then, nothing changed


def reply_markup(reply: Reply) -> dict[str, object] | None:
    """What a channel with buttons needs to draw them; nothing personal."""
    if not reply.choices and not reply.share_phone:
        return None
    return {"choices": list(reply.choices), "share_phone": reply.share_phone}


async def handle(inbound: Inbound, sessions: async_sessionmaker[AsyncSession], settings: Settings,
                 *, via_outbox: bool = False) -> Handled:
    """Take one inbound message; `via_outbox` queues the replies for sending instead of returning only."""
    started = time.perf_counter()
    outcome = "failed"
    try:
        handled = await _handle(inbound, sessions, settings, via_outbox=via_outbox)
        outcome = "duplicate" if handled.duplicate else "processed"
        return handled
    except NotStored:
        outcome = "not_stored"
        raise
    finally:
        INBOUND.labels(channel=inbound.channel.value, outcome=outcome).inc()
        INBOUND_SECONDS.labels(channel=inbound.channel.value).observe(time.perf_counter() - started)


async def _handle(inbound: Inbound, sessions: async_sessionmaker[AsyncSession], settings: Settings,
                  *, via_outbox: bool) -> Handled:
    try:
        async with sessions() as db, db.begin():
            earlier = await store_inbound(db, channel=inbound.channel, provider_id=inbound.message_id,
                                          sender=inbound.sender, body=inbound.text, received_at=inbound.received_at)
            if earlier is not None and earlier.status != InboundStatus.RECEIVED:
                log.info("inbound duplicate message=%s", earlier.id)
                return Handled([_reply_from(r) for r in earlier.replies or []], duplicate=True)
    except Exception as exc:
        raise NotStored(type(exc).__name__) from exc
    return await process(inbound, sessions, settings, via_outbox=via_outbox)


async def process(inbound: Inbound, sessions: async_sessionmaker[AsyncSession], settings: Settings,
                  *, via_outbox: bool) -> Handled:
    """Answer a stored message; a failure counts against it (it is failed after a few) and is raised."""
    try:
        return await _process_retrying(inbound, sessions, settings, via_outbox)
    except Exception:
        # Stored but not processed: recovery will try again later, a few times at most.
        async with sessions() as db, db.begin():
            await count_attempt(db, inbound.channel, inbound.message_id)
        raise


async def _process_retrying(inbound: Inbound, sessions: async_sessionmaker[AsyncSession], settings: Settings,
                            via_outbox: bool) -> Handled:
    """Step the conversation for a stored message, in one transaction (retried whole on a collision)."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            async with sessions() as db, db.begin():
                return await _process_once(inbound, db, settings, via_outbox)
        except IntegrityError:
            # A reference that collided: the transaction rolled back whole, so trying again is safe.
            if attempt == _ATTEMPTS:
                raise
            log.warning("inbound retry channel=%s attempt=%d", inbound.channel, attempt)
    raise AssertionError("unreachable")


async def _process_once(inbound: Inbound, db: AsyncSession, settings: Settings, via_outbox: bool) -> Handled:
    conversation = await lock_conversation(db, inbound.channel, inbound.sender, inbound.received_at)
    # The conversation lock serialises this sender, so a racing duplicate has finished by now.
    stored = await find_message(db, inbound.channel, inbound.message_id)
    if stored is None:  # stored first, then gone: purged as too old before it could be processed
        log.warning("inbound message gone before processing channel=%s", inbound.channel)
        return Handled([])
    if stored.status != InboundStatus.RECEIVED:
        return Handled([_reply_from(r) for r in stored.replies or []], duplicate=True)

    turn = Turn(inbound, db, settings, conversation, await _sender_contact(inbound, db),
                by_phone=inbound.channel in PHONE_CHANNELS, on_simulator=inbound.channel == Channel.SIMULATOR)
    replies, body = await respond(turn)
    await finish_message(db, stored, conversation_id=conversation.id, body=body,
                         replies=[_reply_to(r) for r in replies],
                         segments=sum(segment_count(r.text) for r in replies))
    outbox_ids: list[int] = []
    if via_outbox:
        for number, reply in enumerate(replies):
            queued = await enqueue(db, channel=inbound.channel, to=inbound.sender, body=reply.text, purpose="reply",
                                   now=inbound.received_at, markup=reply_markup(reply),
                                   dedupe_key=f"reply:{stored.id}:{number}")
            if queued is not None:
                outbox_ids.append(queued.id)
    return Handled(replies, outbox_ids)


async def _sender_contact(inbound: Inbound, db: AsyncSession) -> Contact | None:
    """The sender as someone the bot writes to; None on the simulator, whose sessions write to no one."""
    if inbound.channel == Channel.SIMULATOR:
        return None
    contact = await contact_for(db, inbound.channel, inbound.sender, inbound.received_at)
    if contact.blocked:
        await set_blocked(db, contact, False, inbound.received_at)  # they wrote to us: they unblocked the bot
    return contact


def _reply_to(reply: Reply) -> dict[str, object]:
    return {"text": reply.text, "choices": list(reply.choices), "kind": reply.kind.value,
            "share_phone": reply.share_phone}


def _reply_from(stored: dict[str, object]) -> Reply:
    choices = stored.get("choices") or ()
    return Reply(str(stored["text"]), tuple(choices) if isinstance(choices, list) else (),
                 ReplyKind(str(stored.get("kind", "text"))), bool(stored.get("share_phone", False)))
