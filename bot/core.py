"""The one way into a conversation: an inbound message in, the replies out.

Every channel (simulator, SMS, Telegram) builds an `Inbound` and calls `handle`. The message is
stored first, in its own short transaction, so a crash loses nothing; then one transaction locks
the sender's conversation, steps the dialog and saves everything it led to. A provider id seen
before returns the replies it got then, and changes nothing.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.actions import notify_unit_of_alert, notify_unit_of_referral
from bot.settings import Settings
from bot.young_people import answer_young_person
from flows.channels import PHONE_CHANNELS, Channel
from flows.dialog import FINISHED as FINISHED_STATES
from flows.dialog import command_of, step
from flows.keywords import Keyword, carrier_keyword
from flows.model import Context, Draft, Reply, ReplyKind, ScreenedOut, Submitted
from flows.notices import info_received_text, status_text, status_unknown_text
from flows.process import Action, Role, Status, decide
from flows.questions import age_of
from flows.statuses import InboundStatus
from flows.text import segment_count
from store.contacts import contact_for, set_blocked, set_opted_out
from store.appointments import referral_for_young_person
from store.audit import audit
from store.conversations import (
    count_attempt,
    sender_hash,
    find_message,
    finish_message,
    forget_message_bodies,
    lock_conversation,
    store_inbound,
)
from store.crypto import keyed_hash
from store.models import ReferralEvent, SafeguardingAlert
from store.outbox import enqueue
from store.referrals import create_referral, get_referral, new_reference, record_screen_out

__all__ = ["Channel", "Inbound", "Handled", "NotStored", "handle", "flow_context", "PHONE_CHANNELS", "reply_markup",
           "young_person_hash"]

log = logging.getLogger("referral_bot.core")

_ATTEMPTS = 5
GIVE_UP_AFTER = 3


SIMULATED_YOUNG_PERSON = "young_person:"
NOT_EXPECTED = "This number isn't expecting messages yet. Book a session for this young person in the staff pages first."


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


def young_person_hash(phone: str) -> str:
    """How a young person's number is found again (their replies to reminders) without storing it plainly."""
    return keyed_hash(phone, "young_person_phone")


def reply_markup(reply: Reply) -> dict[str, object] | None:
    """What a channel with buttons needs to draw them; nothing personal."""
    if not reply.choices and not reply.share_phone:
        return None
    return {"choices": list(reply.choices), "share_phone": reply.share_phone}


async def handle(inbound: Inbound, sessions: async_sessionmaker[AsyncSession], settings: Settings,
                 *, via_outbox: bool = False) -> Handled:
    """Take one inbound message; `via_outbox` queues the replies for sending instead of returning only."""
    try:
        async with sessions() as db, db.begin():
            earlier = await store_inbound(db, channel=inbound.channel, provider_id=inbound.message_id,
                                          sender=inbound.sender, body=inbound.text, received_at=inbound.received_at)
            if earlier is not None and earlier.status != InboundStatus.RECEIVED:
                log.info("inbound duplicate message=%s", earlier.id)
                return Handled([_reply_from(r) for r in earlier.replies or []])
    except Exception as exc:
        raise NotStored(type(exc).__name__) from exc
    try:
        return await process(inbound, sessions, settings, via_outbox=via_outbox)
    except Exception:
        # Stored but not processed: recovery will try again later, a few times at most.
        async with sessions() as db, db.begin():
            await count_attempt(db, inbound.channel, inbound.message_id, GIVE_UP_AFTER)
        raise


async def process(inbound: Inbound, sessions: async_sessionmaker[AsyncSession], settings: Settings,
                  *, via_outbox: bool) -> Handled:
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
        return Handled([_reply_from(r) for r in stored.replies or []])

    replies, body = await _respond(inbound, db, settings, conversation)
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


async def _respond(inbound: Inbound, db: AsyncSession, settings: Settings, conversation) -> tuple[list[Reply], str | None]:  # type: ignore[no-untyped-def]
    """The replies to one message, after carrier keywords and opt-outs; and the body to keep."""
    if inbound.channel == Channel.SIMULATOR:
        if inbound.sender.startswith(SIMULATED_YOUNG_PERSON):
            # The simulator playing a young person: their "number" is the session name.
            number = "+" + inbound.sender.removeprefix(SIMULATED_YOUNG_PERSON)
            young = await referral_for_young_person(db, young_person_hash(number))
            if young is None:
                return [Reply(NOT_EXPECTED)], None
            return await answer_young_person(db, settings, young, inbound.text, inbound.received_at), inbound.text
        return await _referrer_requests(inbound, db, settings, conversation)
    contact = await contact_for(db, inbound.channel, inbound.sender, inbound.received_at)
    if contact.blocked:
        await set_blocked(db, contact, False, inbound.received_at)  # they wrote to us: they unblocked the bot
    if inbound.channel in PHONE_CHANNELS:
        keyword = carrier_keyword(inbound.text)
        if keyword is Keyword.OPT_OUT:
            await set_opted_out(db, contact, True, inbound.received_at)
            log.info("opted out conversation=%s", conversation.id)
            return [], inbound.text  # the carrier confirms STOP itself; we must send nothing
        if keyword is Keyword.OPT_IN and contact.opted_out:
            await set_opted_out(db, contact, False, inbound.received_at)
            log.info("opted in conversation=%s", conversation.id)
            return [], inbound.text
        if contact.opted_out:
            log.info("message from opted-out number kept, not answered conversation=%s", conversation.id)
            return [], inbound.text
        young = await referral_for_young_person(db, young_person_hash(inbound.sender))
        if young is not None:
            log.info("young person replied reference=%s", young.reference)
            return await answer_young_person(db, settings, young, inbound.text, inbound.received_at), inbound.text
    return await _referrer_requests(inbound, db, settings, conversation)


STATUS_COMMAND = re.compile(r"^\s*/?status\s+([A-Za-z]{2,5}-[A-Za-z0-9]{4,10})\s*$", re.IGNORECASE)


async def _referrer_requests(inbound: Inbound, db: AsyncSession, settings: Settings, conversation) -> tuple[list[Reply], str | None]:  # type: ignore[no-untyped-def]
    """STATUS REF, and answers to the unit's questions, before the referral dialog."""
    asked = STATUS_COMMAND.match(inbound.text)
    if asked:
        reference = asked.group(1).upper()
        referral = await get_referral(db, reference)
        mine = referral is not None and referral.origin_hash == sender_hash(inbound.channel, inbound.sender)
        if referral is None or not mine:
            return [Reply(status_unknown_text(reference))], inbound.text
        received = referral.created_at.astimezone(settings.tz).strftime("%-d %b")
        log.info("status asked reference=%s", reference)
        return [Reply(status_text(reference, referral.status, received))], inbound.text
    awaited = conversation.awaiting_info_reference
    draft_state = (conversation.draft or {}).get("state", "new")
    if awaited and draft_state in FINISHED_STATES and command_of(inbound.text) is None:
        conversation.awaiting_info_reference = None
        if await attach_answer(db, awaited, inbound.text, inbound.received_at):
            return [Reply(info_received_text(awaited))], inbound.text
    return await _converse(inbound, db, settings, conversation)


async def attach_answer(db: AsyncSession, reference: str, text: str, now: datetime) -> bool:
    """The referrer's answer to the unit's question: into the referral's history, and back to review."""
    referral = await get_referral(db, reference)
    if referral is None or referral.status != Status.MORE_INFO:
        return False
    move = decide(Action.INFO_RECEIVED, referral.status, referral.reviewer, "referrer", Role.UNIT)
    referral.status = move.after
    referral.awaiting_info = False
    referral.updated_at = now
    db.add(ReferralEvent(referral_id=referral.id, at=now, actor="referrer", action=Action.INFO_RECEIVED.value,
                         status_after=move.after.value, note=text))
    await audit(db, "referrer", Action.INFO_RECEIVED.value, now, reference, f"{move.before.value} -> {move.after.value}")
    log.info("more information attached reference=%s", reference)
    return True


async def _converse(inbound: Inbound, db: AsyncSession, settings: Settings, conversation) -> tuple[list[Reply], str | None]:  # type: ignore[no-untyped-def]
    ctx = flow_context(settings, inbound, new_reference(settings.reference_prefix))
    before = conversation.state
    outcome = step(Draft.from_json(conversation.draft or {}), inbound.text, ctx)
    body: str | None = inbound.text

    if outcome.danger:
        conversation.flagged = True
        alert = SafeguardingAlert(created_at=inbound.received_at, channel=inbound.channel,
                                  conversation_id=conversation.id, reference=None, state=before)
        db.add(alert)
        await db.flush()
        await notify_unit_of_alert(db, settings, alert.id, None, inbound.received_at)
        log.warning("safeguarding alert conversation=%s state=%s", conversation.id, before)

    if isinstance(outcome.event, Submitted):
        answers = outcome.event.answers
        referral = await create_referral(
            db,
            reference=outcome.event.reference,
            channel=inbound.channel,
            details=answers,
            borough=answers["borough"],
            age=age_of(answers, ctx) or 0,
            urgency=answers["urgency"],
            referrer_hash=keyed_hash(answers.get("referrer_phone") or "", "referrer_phone"),
            safeguarding_flag=conversation.flagged,
            now=inbound.received_at,
            origin_address=inbound.sender,
            origin_hash=sender_hash(inbound.channel, inbound.sender),
            yp_phone_hash=young_person_hash(answers["yp_mobile"]) if answers.get("yp_mobile") else None,
        )
        await audit(db, "referrer", "submitted", inbound.received_at, referral.reference, f"via {inbound.channel}")
        await notify_unit_of_referral(db, settings, referral, inbound.received_at)
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
    log.info("inbound handled conversation=%s state=%s->%s replies=%d",
             conversation.id, before, conversation.state, len(outcome.replies))
    return outcome.replies, body


def _reply_to(reply: Reply) -> dict[str, object]:
    return {"text": reply.text, "choices": list(reply.choices), "kind": reply.kind.value,
            "share_phone": reply.share_phone}


def _reply_from(stored: dict[str, object]) -> Reply:
    choices = stored.get("choices") or ()
    return Reply(str(stored["text"]), tuple(choices) if isinstance(choices, list) else (),
                 ReplyKind(str(stored.get("kind", "text"))), bool(stored.get("share_phone", False)))
