"""The referral unit's actions, one implementation for the staff pages and the command line.

Each action asks flows.process whether it is allowed, then changes the referral, writes its
history and the audit log, and queues what the referrer must be told, in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from flows.channels import REPLYABLE_CHANNELS, Channel
from flows.notices import (
    MAX_QUESTION,
    accepted_text,
    declined_text,
    info_request_text,
    unit_alert_text,
    unit_notice_text,
)
from flows.process import Action, Refused, Role, Status, decide
from store.audit import audit
from store.conversations import sender_hash
from store.models import Conversation, Referral, ReferralEvent
from store.outbox import enqueue
from store.users import get_user

__all__ = ["Actor", "act", "notify_unit_of_referral", "notify_unit_of_alert"]


@dataclass(frozen=True)
class Actor:
    """Who is acting: a staff member (email) or an operator at the command line."""

    name: str
    role: Role


async def _locked_referral(db: AsyncSession, reference: str) -> Referral:
    found = await db.execute(select(Referral).where(Referral.reference == reference.strip().upper())
                             .with_for_update())
    referral = found.scalar_one_or_none()
    if referral is None:
        raise Refused(f"There is no referral {reference.strip().upper()}.")
    return referral


async def act(db: AsyncSession, settings: Settings, reference: str, action: Action, actor: Actor, now: datetime,
              *, reason: str | None = None, question: str | None = None, caseworker: str | None = None) -> Referral:
    """Take one action on a referral, or raise Refused saying why not."""
    referral = await _locked_referral(db, reference)
    move = decide(action, referral.status, referral.reviewer, actor.name, actor.role)
    note: str | None = None
    if action is Action.DECLINE:
        note = (reason or "").strip()
        if not note:
            raise Refused("Please give a reason for declining: the referrer is told it.")
    elif action is Action.REQUEST_INFO:
        note = (question or "").strip()
        if not note or len(note) > MAX_QUESTION:
            raise Refused(f"Please write the question in 1 to {MAX_QUESTION} characters: it goes by text message.")
    elif action is Action.ALLOCATE:
        worker = await get_user(db, caseworker or "")
        if worker is None or worker.role != Role.CASEWORKER or worker.disabled:
            raise Refused("Please choose an active caseworker to allocate to.")
        referral.caseworker_id = worker.id
        note = worker.email
    referral.status = move.after
    referral.reviewer = move.reviewer
    referral.updated_at = now
    referral.awaiting_info = move.after is Status.MORE_INFO
    if action in (Action.ACCEPT, Action.DECLINE):
        referral.decided_at = now
    if action is Action.CLOSE:
        referral.closed_at = now
    db.add(ReferralEvent(referral_id=referral.id, at=now, actor=actor.name, action=action.value,
                         status_after=move.after.value, note=note))
    await audit(db, actor.name, action.value, now, referral.reference, f"{move.before.value} -> {move.after.value}")
    await _tell_referrer(db, settings, referral, action, now, note)
    return referral


async def _tell_referrer(db: AsyncSession, settings: Settings, referral: Referral, action: Action, now: datetime,
                         note: str | None) -> None:
    if referral.channel not in REPLYABLE_CHANNELS or not referral.origin_address:
        return
    if action is Action.DECLINE:
        body = declined_text(referral.reference, note or "", settings.unit_contact)
    elif action is Action.ACCEPT:
        body = accepted_text(referral.reference)
    elif action is Action.REQUEST_INFO:
        body = info_request_text(referral.reference, note or "")
        # The referrer's next message (outside a new referral) is their answer to this.
        await _await_answer(db, referral)
    else:
        return
    await enqueue(db, channel=referral.channel, to=referral.origin_address, body=body, purpose="decision", now=now,
                  dedupe_key=f"{action.value}:{referral.reference}:{now.isoformat()}")


async def _await_answer(db: AsyncSession, referral: Referral) -> None:
    digest = sender_hash(referral.channel, referral.origin_address or "")
    conversation = (await db.execute(select(Conversation).where(Conversation.channel == referral.channel,
                                                                Conversation.sender_hash == digest))).scalar_one_or_none()
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
    flags = [name for name, on in (("URGENT", referral.urgency == "urgent"), ("SAFEGUARDING", referral.safeguarding_flag),
                                   ("UNDER 18", referral.under_18)) if on]
    await _tell_unit(db, settings, unit_notice_text(referral.reference, flags), now, f"unit:new:{referral.reference}")


async def notify_unit_of_alert(db: AsyncSession, settings: Settings, alert_id: int, reference: str | None,
                               now: datetime) -> None:
    await _tell_unit(db, settings, unit_alert_text(reference), now, f"unit:alert:{alert_id}")


