"""The one way into a conversation: an inbound message in, the replies out.

Every channel (simulator, SMS, Telegram) builds an `Inbound` and calls `handle`. Each message
is one short transaction: lock the sender's conversation, return the stored replies if the
provider already delivered this message id, else step the dialog and save everything at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from flows.dialog import step
from flows.model import Context, Draft, Reply, ReplyKind, ScreenedOut, Submitted
from flows.questions import age_of
from store.conversations import find_message, forget_message_bodies, lock_conversation, record_message
from store.crypto import keyed_hash
from store.models import SafeguardingAlert
from store.referrals import create_referral, new_reference, record_screen_out

__all__ = ["Channel", "Inbound", "handle", "flow_context"]

log = logging.getLogger("referral_bot.core")

_ATTEMPTS = 5


class Channel(StrEnum):
    SMS = "sms"
    WHATSAPP = "whatsapp"
    TELEGRAM = "telegram"
    SIMULATOR = "simulator"


# Channels whose sender id is the referrer's phone number, so the flow need not ask for it.
PHONE_CHANNELS = frozenset({Channel.SMS, Channel.WHATSAPP})


@dataclass(frozen=True)
class Inbound:
    """One message as a channel received it. `sender` and `text` are personal: never log them."""

    channel: Channel
    sender: str
    message_id: str
    text: str
    received_at: datetime


def flow_context(settings: Settings, inbound: Inbound, reference: str) -> Context:
    """What the dialog may know for this message, from the settings and the channel."""
    return Context(
        now=inbound.received_at.astimezone(settings.tz),
        min_age=settings.min_age,
        max_age=settings.max_age,
        sender_phone=inbound.sender if inbound.channel in PHONE_CHANNELS else None,
        unit_contact=settings.unit_contact,
        reference=reference,
        opening_hours=settings.opening_hours,
        opening_days=settings.opening_days,
    )


async def handle(inbound: Inbound, sessions: async_sessionmaker[AsyncSession], settings: Settings) -> list[Reply]:
    """Take one inbound message and return the replies; the same message id again changes nothing."""
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            async with sessions() as db, db.begin():
                return await _handle_once(inbound, db, settings)
        except IntegrityError:
            # A reference that collided, or the same message racing in on another process:
            # the transaction rolled back whole, so trying again is safe and finds the winner.
            if attempt == _ATTEMPTS:
                raise
            log.warning("inbound retry channel=%s attempt=%d", inbound.channel, attempt)
    raise AssertionError("unreachable")


async def _handle_once(inbound: Inbound, db: AsyncSession, settings: Settings) -> list[Reply]:
    conversation = await lock_conversation(db, inbound.channel, inbound.sender, inbound.received_at)
    seen = await find_message(db, inbound.channel, inbound.message_id)
    if seen is not None:
        log.info("inbound duplicate conversation=%s", conversation.id)
        return [_reply_from(stored) for stored in seen.replies or []]

    ctx = flow_context(settings, inbound, new_reference(settings.reference_prefix))
    before = conversation.state
    outcome = step(Draft.from_json(conversation.draft or {}), inbound.text, ctx)
    body: str | None = inbound.text

    if outcome.danger:
        conversation.flagged = True
        db.add(SafeguardingAlert(created_at=inbound.received_at, channel=inbound.channel,
                                 conversation_id=conversation.id, reference=None, state=before))
        log.warning("safeguarding alert conversation=%s state=%s", conversation.id, before)

    if isinstance(outcome.event, Submitted):
        answers = outcome.event.answers
        referrer_phone = answers.get("referrer_phone") or ""
        await create_referral(
            db,
            reference=outcome.event.reference,
            channel=inbound.channel,
            details=answers,
            borough=answers["borough"],
            age=age_of(answers, ctx) or 0,
            urgency=answers["urgency"],
            referrer_hash=keyed_hash(referrer_phone, "referrer_phone"),
            safeguarding_flag=conversation.flagged,
            now=inbound.received_at,
        )
        conversation.flagged = False
        log.info("referral queued reference=%s conversation=%s", outcome.event.reference, conversation.id)
    elif isinstance(outcome.event, ScreenedOut):
        await record_screen_out(db, outcome.event.reason, inbound.channel, ctx.today)
        # Screened out: keep the reason and the day, nothing of what was said.
        await forget_message_bodies(db, conversation.id)
        body = None
        conversation.flagged = False
        log.info("screened out reason=%s conversation=%s", outcome.event.reason, conversation.id)

    conversation.state = outcome.draft.state
    conversation.draft = outcome.draft.to_json()
    conversation.updated_at = inbound.received_at
    await record_message(
        db,
        channel=inbound.channel,
        provider_id=inbound.message_id,
        conversation_id=conversation.id,
        body=body,
        replies=[_reply_to(reply) for reply in outcome.replies],
        received_at=inbound.received_at,
    )
    log.info("inbound handled conversation=%s state=%s->%s replies=%d",
             conversation.id, before, conversation.state, len(outcome.replies))
    return outcome.replies


def _reply_to(reply: Reply) -> dict[str, object]:
    return {"text": reply.text, "choices": list(reply.choices), "kind": reply.kind.value}


def _reply_from(stored: dict[str, object]) -> Reply:
    return Reply(str(stored["text"]), tuple(stored.get("choices") or ()), ReplyKind(stored.get("kind", "text")))
