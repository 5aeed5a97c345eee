"""A young person's replies, each about the latest text that asked for one: Y confirms, N tells the caseworker."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.sessions import plan_session_reminders, worker_name, young_person_address
from bot.settings import Settings
from flows.channels import Channel
from flows.discreet import cant_come_text, confirmed_text, forwarded_text, saved_text
from flows.model import Reply
from flows.replies import Answer, read_reply
from flows.statuses import AppointmentStatus, ReplyKind
from store.appointments import cancel_pending_reminders, get_appointment, last_asking
from store.audit import audit
from store.contacts import find_contact
from store.models import CaseworkerNotice, OutboundMessage, Referral, User
from store.outbox import enqueue
from store.queue import caseworker_of

__all__ = ["answer_young_person"]


async def answer_young_person(db: AsyncSession, settings: Settings, referral: Referral, text: str,
                              now: datetime) -> list[Reply]:
    """Match the reply to the latest text that asked for one, record it, and tell the caseworker what they must see."""
    worker = await caseworker_of(db, referral)
    name = worker_name(worker)
    answer = read_reply(text)
    asked = await _asked(db, referral)
    if asked is not None and asked.purpose == "first_contact":
        # "Reply Y to say you got this": a Y to that is not a Y to a session booked meanwhile.
        if answer is Answer.CONFIRM:
            answered = saved_text(name)
            await _record(db, referral, worker, None, ReplyKind.GOT_IT, text, answered, now)
            await audit(db, "young person", "first_contact_acknowledged", now, referral.reference)
            return [Reply(answered)]
        return await _forward(db, settings, referral, worker, None, text, now)
    appointment = await get_appointment(db, asked.appointment_id) if asked and asked.appointment_id else None
    if appointment is not None and (appointment.status == AppointmentStatus.CANCELLED or appointment.starts_at <= now):
        # A Y to a session that is off or over confirms nothing: a person reads it.
        return await _forward(db, settings, referral, worker, appointment.id, text, now)
    if appointment is not None and answer is Answer.CONFIRM:
        declined_before = appointment.status == AppointmentStatus.DECLINED
        appointment.status = AppointmentStatus.CONFIRMED
        appointment.answer, appointment.answered_at, appointment.updated_at = text, now, now
        if declined_before:
            # They changed their mind: the reminders stopped by their N are wanted again.
            await plan_session_reminders(db, settings, referral, appointment, now, catch_up=False)
        answered = confirmed_text(name)
        await _record(db, referral, worker, appointment.id, ReplyKind.CONFIRMED, text, answered, now)
        await audit(db, "young person", "session_confirmed", now, referral.reference, f"session {appointment.id}")
        return [Reply(answered)]
    if appointment is not None and answer is Answer.DECLINE:
        appointment.status = AppointmentStatus.DECLINED
        appointment.answer, appointment.answered_at, appointment.updated_at = text, now, now
        # "See you at 3pm, reply Y" after they said they can't come would be wrong: stop the rest.
        await cancel_pending_reminders(db, appointment.id, now)
        answered = cant_come_text(name)
        await _record(db, referral, worker, appointment.id, ReplyKind.CANT_COME, text, answered, now)
        await _tell_worker(db, settings, referral, worker, ReplyKind.CANT_COME, now)
        await audit(db, "young person", "session_declined", now, referral.reference, f"session {appointment.id}")
        return [Reply(answered)]
    return await _forward(db, settings, referral, worker, appointment.id if appointment else None, text, now)


async def _forward(db: AsyncSession, settings: Settings, referral: Referral, worker: User | None,
                   appointment_id: int | None, text: str, now: datetime) -> list[Reply]:
    """Anything that is not a plain answer to a question goes to the caseworker to read."""
    answered = forwarded_text(worker_name(worker))
    await _record(db, referral, worker, appointment_id, ReplyKind.MESSAGE, text, answered, now)
    await _tell_worker(db, settings, referral, worker, ReplyKind.MESSAGE, now)
    await audit(db, "young person", "message_forwarded", now, referral.reference)
    return [Reply(answered)]


async def _asked(db: AsyncSession, referral: Referral) -> OutboundMessage | None:
    """The latest text that asked this young person for a reply (their reply answers that one)."""
    contact = await find_contact(db, *young_person_address(referral))
    return await last_asking(db, contact.id) if contact is not None else None


async def _record(db: AsyncSession, referral: Referral, worker: User | None, appointment_id: int | None,
                  kind: ReplyKind, text: str, answered: str, now: datetime) -> None:
    """Every reply, and what we answered, is kept for the caseworker's timeline, unread until they mark it seen."""
    if worker is None:
        return
    db.add(CaseworkerNotice(user_id=worker.id, referral_id=referral.id, appointment_id=appointment_id,
                            kind=kind, text=text, answer=answered, at=now))


async def _tell_worker(db: AsyncSession, settings: Settings, referral: Referral, worker: User | None,
                       kind: ReplyKind, now: datetime) -> None:
    """Tell the caseworker there is something to read (a Y needs no nudge: it shows on their page)."""
    if worker is None:
        return
    # The reference and what kind of message: what they said stays on the staff page.
    what = "can't come to a session" if kind is ReplyKind.CANT_COME else "sent you a message"
    body = f"The young person on {referral.reference} {what}. See your page."
    if worker.telegram_chat_id:
        await enqueue(db, channel=Channel.TELEGRAM, to=worker.telegram_chat_id, purpose="caseworker_notice", now=now,
                      body=body)
    elif settings.email_enabled:
        await enqueue(db, channel=Channel.EMAIL, to=worker.email, purpose="caseworker_notice", now=now, body=body)
