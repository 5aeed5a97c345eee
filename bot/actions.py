"""The referral unit's actions, one implementation for the staff pages, the command line and the
referrer's answer to the unit's question (which the core takes as an action by the referrer).

Each action asks flows.process whether it is allowed, then changes the referral, writes its
history and the audit log, and queues what the referrer must be told, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows.channels import REPLYABLE_CHANNELS, Channel
from flows.notices import (
    DECLINE_REASONS,
    accepted_text,
    allocated_text,
    checked_words,
    declined_text,
    info_request_text,
    question_room,
    reason_room,
    unit_alert_text,
    unit_enquiry_text,
    unit_notice_text,
)
from flows.process import Action, Refused, Role, decide
from flows.questions import flags_for
from store.audit import audit
from store.conversations import find_conversation
from store.models import Enquiry, Referral, ReferralEvent
from store.outbox import enqueue
from store.referrals import lock_referral
from store.staff_notices import notify_staff
from store.users import get_user

__all__ = ["REFERRER", "Actor", "act", "notify_unit_of_alert", "notify_unit_of_enquiry", "notify_unit_of_referral",
           "written_text"]


@dataclass(frozen=True)
class Actor:
    """Who is acting: a staff member (email) or an operator at the command line."""

    name: str
    role: Role


# The referrer answering the unit's question. flows.process knows them by this name and lets no
# staff role take that action; the role here is never consulted.
REFERRER = Actor("referrer", Role.UNIT)


async def act(db: AsyncSession, settings: Settings, reference: str, action: Action, actor: Actor, now: datetime,
              *, reason: str | None = None, question: str | None = None, caseworker: str | None = None,
              answer: str | None = None) -> Referral:
    """Take one action on a referral, or raise Refused saying why not.

    `reason` goes with DECLINE, `question` with REQUEST_INFO, `caseworker` (an email) with ALLOCATE,
    and `answer` (the referrer's words, kept as sent) with INFO_RECEIVED.
    """
    referral = await lock_referral(db, reference)
    move = decide(action, referral.status, referral.reviewer, actor.name, actor.role)
    note: str | None = None
    if action is Action.DECLINE:
        note = (reason or "").strip()
        written_text(settings, referral.reference, action, note)
    elif action is Action.REQUEST_INFO:
        note = (question or "").strip()
        written_text(settings, referral.reference, action, note)
    elif action is Action.ALLOCATE:
        worker = await get_user(db, caseworker or "")
        if worker is None or worker.role != Role.CASEWORKER or worker.disabled:
            raise Refused("Please choose an active caseworker to allocate to.")
        referral.caseworker_id = worker.id
        note = worker.email
    elif action is Action.INFO_RECEIVED:
        note = answer
        # Marked on the queue until a unit member opens the referral.
        referral.new_info_at = now
    previous = referral.reviewer
    referral.status = move.after
    referral.reviewer = move.reviewer
    referral.updated_at = now
    if action in (Action.ACCEPT, Action.DECLINE):
        referral.decided_at = now
    if action is Action.CLOSE:
        referral.closed_at = now
    db.add(ReferralEvent(referral_id=referral.id, at=now, actor=actor.name, action=action.value,
                         status_after=move.after.value, note=note))
    detail = f"{move.before.value} -> {move.after.value}"
    if previous and previous != actor.name and action in (Action.TAKE_OVER, Action.RELEASE):
        detail += f" (was {previous})"
        await _tell_previous_reviewer(db, referral.reference, action, actor, previous, now)
    await audit(db, actor.name, action.value, now, referral.reference, detail)
    await _tell_referrer(db, settings, referral, action, now, note, first_allocation=move.before != move.after)
    return referral


async def _tell_previous_reviewer(db: AsyncSession, reference: str, action: Action, actor: Actor, previous: str,
                                  now: datetime) -> None:
    """Someone took over (or an admin released) a referral another had claimed: they are told on their next page."""
    them = await get_user(db, previous)
    if them is None:
        return
    who = await get_user(db, actor.name)
    name = who.name if who is not None else actor.name
    done = "took over" if action is Action.TAKE_OVER else "released back to the queue"
    await notify_staff(db, them.id, f"{name} {done} {reference}, which you were reviewing.", now)


def written_text(settings: Settings, reference: str, action: Action, words: str) -> str:
    """The whole text a decline or question with these staff words sends the referrer; Refused if it can't go whole.

    Staff words are never cut: over the limit, the refusal says the limit in characters.
    """
    if action is Action.DECLINE:
        if not words:
            raise Refused("Please give a reason for declining: the referrer is told it.")
        if words not in DECLINE_REASONS:
            checked_words("reason", words, reason_room(reference, settings.unit_contact))
        return declined_text(reference, words, settings.unit_contact)
    checked_words("question", words, question_room(reference))
    return info_request_text(reference, words)


async def _tell_referrer(db: AsyncSession, settings: Settings, referral: Referral, action: Action, now: datetime,
                         note: str | None, *, first_allocation: bool) -> None:
    if referral.channel not in REPLYABLE_CHANNELS or not referral.origin_address:
        return
    if action in (Action.DECLINE, Action.REQUEST_INFO):
        body = written_text(settings, referral.reference, action, note or "")
    elif action is Action.ACCEPT:
        body = accepted_text(referral.reference)
    elif action is Action.ALLOCATE and first_allocation:
        # A change of caseworker later is the unit's to explain; the referrer hears once.
        body = allocated_text(referral.reference)
    else:
        return
    if action is Action.REQUEST_INFO:
        # The referrer's next message (outside a new referral) is their answer to this.
        await _await_answer(db, referral)
    await enqueue(db, channel=referral.channel, to=referral.origin_address, body=body, purpose="decision", now=now,
                  dedupe_key=f"{action.value}:{referral.reference}:{now.isoformat()}")


async def _await_answer(db: AsyncSession, referral: Referral) -> None:
    conversation = await find_conversation(db, referral.channel, referral.origin_address or "")
    if conversation is not None:
        conversation.awaiting_info_reference = referral.reference


def _unit_destinations(settings: Settings) -> list[tuple[Channel, str]]:
    """Where the unit hears of new referrals and alerts: its Telegram group and/or its inbox."""
    found = []
    if settings.unit_telegram_chat_id and settings.telegram_enabled:
        found.append((Channel.TELEGRAM, settings.unit_telegram_chat_id))
    if settings.unit_email and settings.email_enabled:
        found.append((Channel.EMAIL, settings.unit_email))
    return found


async def _tell_unit(db: AsyncSession, settings: Settings, body: str, now: datetime, dedupe_key: str) -> None:
    for channel, address in _unit_destinations(settings):
        await enqueue(db, channel=channel, to=address, body=body, purpose="unit_notice", now=now,
                      dedupe_key=f"{dedupe_key}:{channel}")


async def notify_unit_of_referral(db: AsyncSession, settings: Settings, referral: Referral, now: datetime) -> None:
    """Tell the unit a referral arrived: reference and flags, nothing personal."""
    flags = [
        name
        for name, on in (
            ("URGENT", referral.urgency == "urgent"),
            ("SAFEGUARDING", referral.safeguarding_flag),
            ("UNDER 18", referral.under_18),
            ("TEST FROM THE SIMULATOR", referral.channel == Channel.SIMULATOR),
        )
        if on
    ]
    # Flags the answers raise (no MASH referral yet) carry no personal data: a category, not a person.
    flags += flags_for(referral.details)
    await _tell_unit(db, settings, unit_notice_text(referral.reference, flags), now, f"unit:new:{referral.reference}")


async def notify_unit_of_enquiry(db: AsyncSession, settings: Settings, enquiry: Enquiry, now: datetime) -> None:
    """Tell the unit an enquiry arrived, as for a new referral: reference and flags, nothing personal."""
    flags = [name for name, on in (("SAFEGUARDING", enquiry.safeguarding_flag),
                                   ("TEST FROM THE SIMULATOR", enquiry.channel == Channel.SIMULATOR)) if on]
    await _tell_unit(db, settings, unit_enquiry_text(enquiry.reference, flags), now,
                     f"unit:enquiry:{enquiry.reference}")


async def notify_unit_of_alert(db: AsyncSession, settings: Settings, alert_id: int, reference: str | None,
                               now: datetime, *, test: bool = False, enquiry: bool = False) -> None:
    await _tell_unit(db, settings, unit_alert_text(reference, test=test, enquiry=enquiry), now,
                     f"unit:alert:{alert_id}")


