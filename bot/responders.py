"""What a message is, and how it is answered: the responders the core asks in order.

As python-telegram-bot's handlers, each responder says what it accepts and the first that accepts a
message answers it. `accepts` looks (it may read, never write) and returns what it found, or None
when the message is not its kind; `respond` gets that back and answers. In order:

1. carrier keyword: STOP, START after a STOP, and anything from a number that sent STOP (SMS, WhatsApp)
2. young person: a young person writing back about their sessions (by SMS, or the simulator playing the
   young person of a referral made in the simulator: never a real one)
3. status: "STATUS LGX-7K3Q9" from the referrer who sent it
4. enquiry: ME, and every message after it until the enquiry is sent (a young person or family asking)
5. answer to the unit: the referrer's reply to a question the unit asked, outside a new referral
6. dialog: anything else steps the referral dialog (it accepts every message)
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions import REFERRER, act, notify_unit_of_alert, notify_unit_of_enquiry, notify_unit_of_referral
from bot.settings import Settings
from bot.young_people import answer_young_person
from flows.combined import mobile_of
from flows.dialog import FINISHED as FINISHED_STATES
from flows.dialog import STATES as DIALOG_STATES
from flows.dialog import command_of, step
from flows.enquiry import EnquirySent, is_enquiry_state, starts_enquiry, step_enquiry
from flows.keywords import Keyword, carrier_keyword
from flows.model import (
    Context,
    Draft,
    ForgetReferrer,
    Memory,
    RememberedUsed,
    RememberReferrer,
    Reply,
    ScreenedOut,
    Submitted,
)
from flows.notices import info_received_text, status_text, status_unknown_text
from flows.process import Action, Refused
from flows.questions import SCREENING_KEYS, age_of
from flows.simulator_addresses import simulated_young_person
from store.alerts import alerted_since, link_alerts, raise_alert
from store.appointments import referral_for_young_person
from store.audit import audit
from store.contacts import set_opted_out
from store.conversations import forget_message_bodies, sender_hash, sender_hashes
from store.crypto import keyed_hash
from store.enquiries import create_enquiry, new_enquiry_reference
from store.models import Contact, Conversation, Referral
from store.referrals import create_referral, get_referral, new_reference, record_screen_out, young_person_hashes
from store.remembered import forget_referrer, mark_remembered_used, recall_referrer, remember_referrer
from store.same_person import record_possible_duplicates

if TYPE_CHECKING:  # the core imports this module to route its messages
    from bot.core import Inbound

__all__ = [
    "NOT_EXPECTED",
    "RESPONDERS",
    "SIMULATOR_ALERT_WINDOW",
    "STATUS_COMMAND",
    "Answer",
    "Responder",
    "Turn",
    "attach_answer",
    "flow_context",
    "respond",
    "young_person_hash",
]

log = logging.getLogger("referral_bot.core")

NOT_EXPECTED = ("This number isn't expecting messages yet. "
                "Book a session for this young person in the staff pages first.")
# A simulator chat alerts the unit at most once in this long: 20 test posts of "he has a knife" were 20 alerts.
SIMULATOR_ALERT_WINDOW = timedelta(hours=1)
STATUS_COMMAND = re.compile(r"^\s*/?status\s+([A-Za-z]{2,5}-[A-Za-z0-9]{4,10})\s*$", re.IGNORECASE)


@dataclass
class Turn:
    """One stored message being answered, in the transaction that holds its sender's conversation locked."""

    inbound: Inbound
    db: AsyncSession
    settings: Settings
    conversation: Conversation
    contact: Contact | None  # the sender as someone the bot writes to; None on the simulator
    by_phone: bool  # the sender id is a phone number: carrier keywords apply, and it may be a young person's
    on_simulator: bool


class Answer(NamedTuple):
    """The replies to a message, and what of it to keep (None: nothing, as after a screen-out)."""

    replies: list[Reply]
    body: str | None


T = TypeVar("T")


@dataclass(frozen=True)
class Responder(Generic[T]):
    """One kind of message: `accepts` returns what it found in the message (None: not this kind), `respond` answers."""

    name: str
    accepts: Callable[[Turn], Awaitable[T | None]]
    respond: Callable[[Turn, T], Awaitable[Answer]]


def young_person_hash(phone: str) -> str:
    """How a young person's number is found again (their replies to reminders) without storing it plainly."""
    return keyed_hash(phone, "young_person_phone")


def flow_context(turn: Turn, reference: str) -> Context:
    """What the dialog may know for this message, from the settings and the channel."""
    settings, inbound = turn.settings, turn.inbound
    return Context(
        now=inbound.received_at.astimezone(settings.tz),
        min_age=settings.min_age,
        max_age=settings.max_age,
        sender_phone=inbound.sender if turn.by_phone else None,
        unit_contact=settings.unit_contact,
        reference=reference,
        opening_hours=settings.opening_hours,
        opening_days=settings.opening_days,
    )


# --- 1. carrier keywords ------------------------------------------------------------------------


class Opting(StrEnum):
    """What a carrier keyword, or a message from an opted-out number, comes to (as it is logged)."""

    OUT = "opted out"
    IN = "opted in"
    KEPT = "message from opted-out number kept, not answered"


async def carrier_keyword_in(turn: Turn) -> tuple[Contact, Opting] | None:
    """STOP; START from a number that sent STOP; anything else from such a number. Phone channels only."""
    if not turn.by_phone or turn.contact is None:
        return None
    keyword = carrier_keyword(turn.inbound.text)
    if keyword is Keyword.OPT_OUT:
        return turn.contact, Opting.OUT
    if keyword is Keyword.OPT_IN and turn.contact.opted_out:
        return turn.contact, Opting.IN
    if turn.contact.opted_out:
        return turn.contact, Opting.KEPT
    return None


async def obey_carrier_keyword(turn: Turn, found: tuple[Contact, Opting]) -> Answer:
    """Record the opt-out or opt-in, and answer nothing: the carrier confirms STOP itself; we must send nothing."""
    contact, opting = found
    if opting is not Opting.KEPT:
        await set_opted_out(turn.db, contact, opting is Opting.OUT, turn.inbound.received_at)
    log.info("%s conversation=%s", opting.value, turn.conversation.id)
    return Answer([], turn.inbound.text)


# --- 2. young people ----------------------------------------------------------------------------


@dataclass(frozen=True)
class YoungPerson:
    """A young person writing in, and their allocated referral (None: the simulator playing one not yet booked)."""

    referral: Referral | None


async def young_person_writing(turn: Turn) -> YoungPerson | None:
    """The simulator playing a young person, or a phone number a real allocated referral gives for its young person."""
    inbound = turn.inbound
    if turn.on_simulator:
        number = simulated_young_person(inbound.sender)
        if number is None:
            return None
        return YoungPerson(await referral_for_young_person(turn.db, young_person_hashes(number), simulated=True))
    if not turn.by_phone:
        return None
    referral = await referral_for_young_person(turn.db, young_person_hashes(inbound.sender), simulated=False)
    if referral is None:
        return None
    log.info("young person replied reference=%s", referral.reference)
    return YoungPerson(referral)


async def answer_the_young_person(turn: Turn, young: YoungPerson) -> Answer:
    """Their reply about a session, recorded and passed on to their caseworker."""
    if young.referral is None:
        return Answer([Reply(NOT_EXPECTED)], None)
    replies = await answer_young_person(turn.db, turn.settings, young.referral, turn.inbound.text,
                                        turn.inbound.received_at)
    return Answer(replies, turn.inbound.text)


# --- 3. STATUS ----------------------------------------------------------------------------------


async def status_asked(turn: Turn) -> str | None:
    """The reference in "STATUS LGX-7K3Q9" (any case, with or without a slash)."""
    asked = STATUS_COMMAND.match(turn.inbound.text)
    return asked.group(1).upper() if asked else None


async def tell_status(turn: Turn, reference: str) -> Answer:
    """The referral's status, only to the sender it came from; to anyone else it is not found."""
    inbound = turn.inbound
    referral = await get_referral(turn.db, reference)
    mine = referral is not None and referral.origin_hash in sender_hashes(inbound.channel, inbound.sender)
    if referral is None or not mine:
        return Answer([Reply(status_unknown_text(reference))], inbound.text)
    received = referral.created_at.astimezone(turn.settings.tz).strftime("%-d %b")
    log.info("status asked reference=%s", reference)
    return Answer([Reply(status_text(reference, referral.status, received))], inbound.text)


# --- 4. enquiries from young people and families --------------------------------------------------


async def enquiry_under_way(turn: Turn) -> dict[str, Any] | None:
    """The saved draft, when the sender is on the enquiry path, or sends ME while no referral details would be lost."""
    draft = turn.conversation.draft or {}
    if is_enquiry_state(draft.get("state")):
        return draft
    if starts_enquiry(turn.inbound.text) and _nothing_to_lose(str(draft.get("state", "new"))):
        return draft
    return None


def _nothing_to_lose(state: str) -> bool:
    """Leaving the dialog for an enquiry loses no one's details: it has not started, has ended, or is screening.

    The first reply offers ME beside the first screening question; past screening, a professional's
    "me" is an answer (the dialog reads it as one), never the end of a half-written referral.
    """
    return state in FINISHED_STATES or state in SCREENING_KEYS or state not in DIALOG_STATES


async def enquire(turn: Turn, draft: dict[str, Any]) -> Answer:
    """One step of the enquiry path; a complete enquiry goes to the unit, which is told as for a referral."""
    inbound, conversation = turn.inbound, turn.conversation
    before = conversation.state
    outcome = step_enquiry(draft, inbound.text, flow_context(turn, ""))
    if outcome.danger:
        await alert_the_unit(turn, before, outcome.replies, enquiry=True)
    if outcome.event is not None:
        await send_enquiry(turn, outcome.event)
    conversation.draft = outcome.progress.to_json()
    conversation.state = outcome.progress.state.value
    conversation.updated_at = inbound.received_at
    log.info("inbound handled conversation=%s state=%s->%s replies=%d",
             conversation.id, before, conversation.state, len(outcome.replies))
    return Answer(outcome.replies, inbound.text)


async def send_enquiry(turn: Turn, sent: EnquirySent) -> None:
    """Store the enquiry (sealed), audit it and tell the unit: a distinct outcome from a submitted referral."""
    inbound, db, conversation = turn.inbound, turn.db, turn.conversation
    enquiry = await create_enquiry(db, reference=new_enquiry_reference(), sent=sent, channel=inbound.channel,
                                   origin_address=inbound.sender, safeguarding_flag=conversation.flagged,
                                   now=inbound.received_at)
    await audit(db, "enquirer", "enquiry_sent", inbound.received_at, enquiry.reference, f"via {inbound.channel}")
    await notify_unit_of_enquiry(db, turn.settings, enquiry, inbound.received_at)
    conversation.flagged = False
    log.info("enquiry received reference=%s conversation=%s", enquiry.reference, conversation.id)


async def alert_the_unit(turn: Turn, before: str, replies: list[Reply], *, enquiry: bool = False) -> None:
    """A message suggested immediate danger: flag the chat, keep its words, tell the unit."""
    inbound, db, conversation = turn.inbound, turn.db, turn.conversation
    conversation.flagged = True
    if turn.on_simulator and await alerted_since(db, conversation.id, inbound.received_at - SIMULATOR_ALERT_WINDOW):
        # The 999 answer still goes every time; the unit hears once, not once per post of a test chat.
        log.info("safeguarding alert not repeated for simulator conversation=%s", conversation.id)
        return
    alert = await raise_alert(db, at=inbound.received_at, channel=inbound.channel, conversation_id=conversation.id,
                              state=before, text=inbound.text, answer="\n\n".join(r.text for r in replies))
    await notify_unit_of_alert(db, turn.settings, alert.id, None, inbound.received_at, test=turn.on_simulator,
                               enquiry=enquiry)
    log.warning("safeguarding alert conversation=%s state=%s", conversation.id, before)


# --- 5. answers to the unit's questions ---------------------------------------------------------


async def awaited_answer(turn: Turn) -> str | None:
    """The reference the unit asked about, when the sender is not part-way through a referral or a command."""
    awaited = turn.conversation.awaiting_info_reference
    draft_state = (turn.conversation.draft or {}).get("state", "new")
    if awaited and draft_state in FINISHED_STATES and command_of(turn.inbound.text) is None:
        return awaited
    return None


async def attach_answer(db: AsyncSession, settings: Settings, reference: str, text: str, now: datetime) -> bool:
    """The referrer's answer to the unit's question: into the referral's history, and back to review."""
    try:
        await act(db, settings, reference, Action.INFO_RECEIVED, REFERRER, now, answer=text)
    except Refused:  # gone, or no longer waiting for an answer
        return False
    log.info("more information attached reference=%s", reference)
    return True


async def take_answer(turn: Turn, reference: str) -> Answer:
    """Attach the answer to the referral; one answer per question."""
    inbound = turn.inbound
    turn.conversation.awaiting_info_reference = None
    if await attach_answer(turn.db, turn.settings, reference, inbound.text, inbound.received_at):
        return Answer([Reply(info_received_text(reference))], inbound.text)
    # The referral moved on meanwhile (declined, released): the dialog takes it as any other message.
    return await converse(turn, await any_message(turn))


# --- 6. the referral dialog ---------------------------------------------------------------------


async def any_message(turn: Turn) -> Draft:
    """The dialog takes every message, at the step the sender's draft is at."""
    return Draft.from_json(turn.conversation.draft or {})


async def converse(turn: Turn, draft: Draft) -> Answer:
    """One step of the referral dialog, and what it led to: an alert, a referral, a screen-out."""
    inbound, db, settings, conversation = turn.inbound, turn.db, turn.settings, turn.conversation
    ctx = flow_context(turn, new_reference(settings.reference_prefix))
    ctx = replace(ctx, remembered=await recall_referrer(db, inbound.channel, inbound.sender))
    before = conversation.state
    outcome = step(draft, inbound.text, ctx)
    body: str | None = inbound.text
    await keep_or_forget(turn, outcome.memory)

    if outcome.danger:
        await alert_the_unit(turn, before, outcome.replies)

    if isinstance(outcome.event, Submitted):
        answers = outcome.event.answers
        referral = await create_referral(
            db,
            reference=outcome.event.reference,
            channel=inbound.channel,
            details=answers,
            borough=answers["borough"],
            age=age_of(answers, ctx) or 0,
            urgency=answers["urgency_notes"]["level"],
            referrer_hash=keyed_hash(answers.get("referrer_phone") or "", "referrer_phone"),
            safeguarding_flag=conversation.flagged,
            now=inbound.received_at,
            origin_address=inbound.sender,
            origin_hash=sender_hash(inbound.channel, inbound.sender),
            yp_phone_hash=young_person_hash(mobile) if (mobile := mobile_of(answers)) else None,
        )
        # For the unit's eyes only: nothing the referrer is sent depends on it (being known is itself sensitive).
        await record_possible_duplicates(db, referral, young_person_hashes(mobile) if mobile else [],
                                         inbound.received_at)
        await audit(db, "referrer", "submitted", inbound.received_at, referral.reference, f"via {inbound.channel}")
        await link_alerts(db, conversation.id, referral.reference)
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
    return Answer(outcome.replies, body)


async def keep_or_forget(turn: Turn, memory: Memory | None) -> None:
    """What the referrer chose about their own details: keep them, they were used, or forget them."""
    inbound, db = turn.inbound, turn.db
    if isinstance(memory, RememberReferrer):
        await remember_referrer(db, inbound.channel, inbound.sender, memory.details, inbound.received_at)
        log.info("referrer details kept conversation=%s", turn.conversation.id)
    elif isinstance(memory, RememberedUsed):
        await mark_remembered_used(db, inbound.channel, inbound.sender, inbound.received_at)
    elif isinstance(memory, ForgetReferrer) and await forget_referrer(db, inbound.channel, inbound.sender):
        log.info("referrer details forgotten conversation=%s", turn.conversation.id)


RESPONDERS: tuple[Responder[Any], ...] = (
    Responder("carrier keyword", carrier_keyword_in, obey_carrier_keyword),
    Responder("young person", young_person_writing, answer_the_young_person),
    Responder("status", status_asked, tell_status),
    Responder("enquiry", enquiry_under_way, enquire),
    Responder("answer to the unit", awaited_answer, take_answer),
    Responder("dialog", any_message, converse),
)


async def respond(turn: Turn, responders: Sequence[Responder[Any]] = RESPONDERS) -> Answer:
    """Ask each responder in order; the first that accepts the message answers it."""
    for responder in responders:
        accepted = await responder.accepts(turn)
        if accepted is not None:
            return await responder.respond(turn, accepted)
    raise LookupError(f"no responder accepts this message (asked: {', '.join(r.name for r in responders)})")
