"""A young person's replies to their reminders: Y confirms, N tells their caseworker, anything else is passed on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.sessions import young_person_address
from bot.settings import Settings
from flows.channels import Channel
from flows.model import Reply
from flows.discreet import cant_come_text, confirmed_text, forwarded_text, saved_text
from flows.replies import Answer, read_reply
from flows.statuses import AppointmentStatus
from store.appointments import cancel_pending_reminders, next_unanswered
from store.audit import audit
from store.contacts import find_contact
from store.outbox import enqueue, last_sent_purpose
from store.models import CaseworkerNotice, Referral, User

__all__ = ["answer_young_person"]


async def answer_young_person(db: AsyncSession, settings: Settings, referral: Referral, text: str,
                              now: datetime) -> list[Reply]:
    """Match the reply to the next unconfirmed session, record it, and tell the caseworker what they must see."""
    worker = await db.get(User, referral.caseworker_id) if referral.caseworker_id else None
    name = worker.name if worker else "your worker"
    answer = read_reply(text)
    if answer is Answer.CONFIRM and await _answers_first_contact(db, referral):
        # "Reply Y to say you got this": a Y to that is not a Y to a session booked meanwhile.
        await audit(db, "young person", "first_contact_acknowledged", now, referral.reference)
        return [Reply(saved_text(name))]
    appointment = await next_unanswered(db, referral.id, now)
    if appointment is not None and answer is Answer.CONFIRM:
        appointment.status = AppointmentStatus.CONFIRMED
        appointment.answer, appointment.answered_at, appointment.updated_at = text, now, now
        await audit(db, "young person", "session_confirmed", now, referral.reference, f"session {appointment.id}")
        return [Reply(confirmed_text(name))]
    if appointment is not None and answer is Answer.DECLINE:
        appointment.status = AppointmentStatus.DECLINED
        appointment.answer, appointment.answered_at, appointment.updated_at = text, now, now
        # "See you at 3pm, reply Y" after they said they can't come would be wrong: stop the rest.
        await cancel_pending_reminders(db, appointment.id, now)
        await _notice(db, settings, referral, worker, appointment.id, "cant_come", text, now)
        await audit(db, "young person", "session_declined", now, referral.reference, f"session {appointment.id}")
        return [Reply(cant_come_text(name))]
    await _notice(db, settings, referral, worker, appointment.id if appointment else None, "message", text, now)
    await audit(db, "young person", "message_forwarded", now, referral.reference)
    return [Reply(forwarded_text(name))]


async def _notice(db: AsyncSession, settings: Settings, referral: Referral, worker: User | None,
                  appointment_id: int | None, kind: str, text: str, now: datetime) -> None:
    if worker is None:
        return
    db.add(CaseworkerNotice(user_id=worker.id, referral_id=referral.id, appointment_id=appointment_id,
                            kind=kind, text=text, at=now))
    # The reference and what kind of message: what they said stays on the staff page.
    what = "can't come to a session" if kind == "cant_come" else "sent you a message"
    body = f"The young person on {referral.reference} {what}. See your page."
    if worker.telegram_chat_id:
        await enqueue(db, channel=Channel.TELEGRAM, to=worker.telegram_chat_id, purpose="caseworker_notice", now=now,
                      body=body)
    elif settings.email_enabled:
        await enqueue(db, channel=Channel.EMAIL, to=worker.email, purpose="caseworker_notice", now=now, body=body)


async def _answers_first_contact(db: AsyncSession, referral: Referral) -> bool:
    """Whether the last thing the young person was sent is the first message (save this number)."""
    if referral.first_contact_at is None:
        return False
    contact = await find_contact(db, *young_person_address(referral))
    return contact is not None and await last_sent_purpose(db, contact.id) == "first_contact"
