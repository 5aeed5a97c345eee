"""Sessions with young people: scheduling, moving and cancelling them, and the reminders that follow.

Each change plans or cancels its reminders in the same transaction, as outbox rows due at their
planned time; the dispatcher sends them. Pages and the CLI both come through here.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions import Actor
from bot.settings import Settings
from flows.channels import Channel
from flows.combined import mobile_of, safe_to_text
from flows.discreet import cancelled_text, first_contact_text, moved_text, reminder_text
from flows.process import Refused, Role, Status
from flows.questions import current_answers
from flows.reminders import Note, QuietHours, parse_offsets, plan_reminders, session_start
from flows.simulator_addresses import simulated_young_person_sender
from flows.statuses import AppointmentStatus
from store.appointments import appointments_for, cancel_pending_reminders, get_appointment, was_told
from store.audit import audit
from store.models import Appointment, Referral, ReferralEvent, User
from store.outbox import enqueue
from store.queue import caseworker_of
from store.referrals import lock_referral

__all__ = [
    "add_session",
    "can_text",
    "cancel_session",
    "full_name",
    "move_session",
    "plan_session_reminders",
    "send_first_contact",
    "set_reminders",
    "texted_about_change",
    "worker_name",
    "young_name",
    "young_person_address",
]


def young_name(referral: Referral) -> str:
    name = current_answers(referral.details).get("yp_name") or {}
    return name.get("known_as") or name.get("first") or ""


def full_name(referral: Referral) -> str:
    """The young person's name as staff read it: first and last name, and what they like to be called."""
    details = current_answers(referral.details)
    name = (details.get("yp_name") or {}).get("given") or ""
    known = (details.get("yp_name") or {}).get("known_as")
    if known and known != (details.get("yp_name") or {}).get("first"):
        name = f"{name} (known as {known})" if name else known
    return name or "Name not given"


def worker_name(worker: User | None) -> str:
    return worker.name if worker else "your worker"


def young_person_address(referral: Referral) -> tuple[Channel, str]:
    """Where texts to the young person go: their mobile by SMS, or the simulator's young-person inbox."""
    number = mobile_of(referral.details)
    assert number is not None, "texts go only to a referral that gives a mobile"
    if referral.channel == Channel.SIMULATOR:
        return Channel.SIMULATOR, simulated_young_person_sender(number)
    return Channel.SMS, number


def can_text(referral: Referral) -> bool:
    """Only a number the referral marked safe to text, and only while reminders are on."""
    return safe_to_text(referral.details)


def _may_text(referral: Referral) -> bool:
    """Texts about sessions go only after the first message, to a safe number, while reminders are on."""
    return referral.first_contact_at is not None and not referral.reminders_off and can_text(referral)


async def texted_about_change(db: AsyncSession, referral: Referral, appointment: Appointment) -> bool:
    """Whether moving or cancelling this session texts the young person: only if they were told of it."""
    return _may_text(referral) and await was_told(db, appointment.id)


async def _referral_for(db: AsyncSession, reference: str, actor: Actor, user_id: int | None) -> Referral:
    """The referral whose sessions are being arranged, locked; Refused unless this person may arrange them now."""
    referral = await lock_referral(db, reference)
    if actor.role is Role.CASEWORKER and referral.caseworker_id != user_id:
        raise Refused("Only the young person's own caseworker can arrange their sessions.")
    if referral.status != Status.ALLOCATED:
        raise Refused("Sessions can be arranged once a referral is allocated to a caseworker.")
    return referral


async def add_session(db: AsyncSession, settings: Settings, reference: str, day: date, at: time, place: str,
                      actor: Actor, now: datetime, user_id: int | None = None) -> Appointment:
    """Book a session (London time) and plan its reminders."""
    referral = await _referral_for(db, reference, actor, user_id)
    place = " ".join(place.split())
    if not place or len(place) > 40:
        raise Refused("Please give a short place label (1 to 40 characters), e.g. the usual place.")
    try:
        starts_at = session_start(day, at, settings.tz)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    if starts_at <= now:
        raise Refused("That time has already passed.")
    appointment = Appointment(referral_id=referral.id, starts_at=starts_at, place=place,
                              status=AppointmentStatus.SCHEDULED, created_by=actor.name, created_at=now, updated_at=now)
    db.add(appointment)
    await db.flush()
    planned = await plan_session_reminders(db, settings, referral, appointment, now)
    local = starts_at.astimezone(settings.tz).strftime("%a %d %b %Y %H:%M")
    db.add(ReferralEvent(referral_id=referral.id, at=now, actor=actor.name, action="session_added",
                         status_after=referral.status, note=f"{local}, {place}"))
    await audit(
        db, actor.name, "session_added", now, referral.reference, f"session {appointment.id}, reminders={planned}"
    )
    return appointment


async def plan_session_reminders(
    db: AsyncSession, settings: Settings, referral: Referral, appointment: Appointment, now: datetime,
    *, catch_up: bool = True,
) -> int:
    """Queue a session's reminders; none before the first message, which must be the first thing they get.

    Without `catch_up`, a reminder whose time has passed is left out rather than sent at once: a young
    person who just said Y needs no "see you tomorrow, reply Y" a second later.
    """
    if not _may_text(referral):
        return 0
    worker = await caseworker_of(db, referral)
    local_start = appointment.starts_at.astimezone(settings.tz)
    plans = plan_reminders(appointment.starts_at, parse_offsets(settings.reminder_offsets), settings.tz,
                           QuietHours.parse(settings.quiet_hours), now)
    if not catch_up:
        plans = [plan for plan in plans if plan.note is not Note.DUE_NOW]
    for plan in plans:
        body = reminder_text(young_name(referral), worker_name(worker), local_start, appointment.place, plan.kind)
        channel, address = young_person_address(referral)
        await enqueue(db, channel=channel, to=address, body=body, purpose="reminder", now=now,
                      send_at=plan.send_at, appointment_id=appointment.id, planned_for=plan.offset,
                      dedupe_key=f"reminder:{appointment.id}:{appointment.updated_at.isoformat()}:{plan.offset}")
    return len(plans)


async def cancel_session(db: AsyncSession, settings: Settings, appointment_id: int, actor: Actor, now: datetime,
                         user_id: int | None = None) -> Appointment:
    """Cancel a session: its pending reminders stop, and the young person is told if they knew of it."""
    appointment = await get_appointment(db, appointment_id)
    if appointment is None:
        raise Refused(f"There is no session {appointment_id}.")
    referral = await db.get(Referral, appointment.referral_id)
    assert referral is not None
    await _referral_for(db, referral.reference, actor, user_id)
    if appointment.status == AppointmentStatus.CANCELLED:
        raise Refused("That session is already cancelled.")
    if appointment.starts_at <= now:
        raise Refused("That session has already started.")
    # Asked before anything changes: a reminder that went out is what makes the news worth sending.
    tell = await texted_about_change(db, referral, appointment)
    appointment.status = AppointmentStatus.CANCELLED
    appointment.updated_at = now
    await cancel_pending_reminders(db, appointment.id, now)
    if tell:
        worker = await caseworker_of(db, referral)
        body = cancelled_text(young_name(referral), worker_name(worker), appointment.starts_at.astimezone(settings.tz))
        channel, address = young_person_address(referral)
        await enqueue(db, channel=channel, to=address, body=body, purpose="session_cancelled",
                      now=now, appointment_id=None, dedupe_key=f"cancelled:{appointment.id}")
    db.add(ReferralEvent(referral_id=referral.id, at=now, actor=actor.name, action="session_cancelled",
                         status_after=referral.status, note=None))
    await audit(db, actor.name, "session_cancelled", now, referral.reference, f"session {appointment.id}")
    return appointment


async def move_session(db: AsyncSession, settings: Settings, appointment_id: int, day: date, at: time, place: str,
                       actor: Actor, now: datetime, user_id: int | None = None) -> Appointment:
    """Move a session: its pending reminders are replaced by new ones; the young person is told if they knew of it."""
    appointment = await get_appointment(db, appointment_id)
    if appointment is None:
        raise Refused(f"There is no session {appointment_id}.")
    referral = await db.get(Referral, appointment.referral_id)
    assert referral is not None
    await _referral_for(db, referral.reference, actor, user_id)
    if appointment.status == AppointmentStatus.CANCELLED or appointment.starts_at <= now:
        raise Refused("Only a session still to come can be moved.")
    place = " ".join(place.split()) or appointment.place
    try:
        starts_at = session_start(day, at, settings.tz)
    except ValueError as exc:
        raise Refused(str(exc)) from None
    if starts_at <= now:
        raise Refused("That time has already passed.")
    tell = await texted_about_change(db, referral, appointment)
    await cancel_pending_reminders(db, appointment.id, now)
    appointment.starts_at, appointment.place = starts_at, place
    # A moved session needs a fresh answer: "Y" was for the old time.
    appointment.status, appointment.answer, appointment.answered_at = AppointmentStatus.SCHEDULED, None, None
    appointment.updated_at = now
    if tell:
        worker = await caseworker_of(db, referral)
        channel, address = young_person_address(referral)
        body = moved_text(young_name(referral), worker_name(worker), starts_at.astimezone(settings.tz), place)
        # Tied to the session: it asks for Y or N, so a reply to it is about this session.
        await enqueue(db, channel=channel, to=address, body=body, purpose="session_moved", now=now,
                      appointment_id=appointment.id, dedupe_key=f"moved:{appointment.id}:{now.isoformat()}")
    planned = await plan_session_reminders(db, settings, referral, appointment, now)
    local = starts_at.astimezone(settings.tz).strftime("%a %d %b %Y %H:%M")
    db.add(ReferralEvent(referral_id=referral.id, at=now, actor=actor.name, action="session_moved",
                         status_after=referral.status, note=f"{local}, {place}"))
    await audit(
        db, actor.name, "session_moved", now, referral.reference, f"session {appointment.id}, reminders={planned}"
    )
    return appointment


async def send_first_contact(db: AsyncSession, settings: Settings, reference: str, actor: Actor, now: datetime,
                             user_id: int | None = None) -> int:
    """The first message to a young person: only when their caseworker presses the button, never by itself.

    Sessions booked before it get their reminders now, planned to follow it; how many were planned is returned.
    """
    referral = await _referral_for(db, reference, actor, user_id)
    if not can_text(referral):
        raise Refused("The referral does not say it is safe to text this young person.")
    if referral.first_contact_at is not None:
        raise Refused("The first message was already sent.")
    worker = await caseworker_of(db, referral)
    channel, address = young_person_address(referral)
    await enqueue(db, channel=channel, to=address, purpose="first_contact", now=now,
                  body=first_contact_text(young_name(referral), worker_name(worker)),
                  dedupe_key=f"first_contact:{referral.reference}")
    referral.first_contact_at = now
    # A minute later at the soonest, so a reminder already due never overtakes the introduction.
    after = now + timedelta(minutes=1)
    planned = 0
    for appointment in await appointments_for(db, referral.id):
        if appointment.starts_at > after and appointment.status in (AppointmentStatus.SCHEDULED,
                                                                    AppointmentStatus.CONFIRMED):
            planned += await plan_session_reminders(db, settings, referral, appointment, after)
    await audit(db, actor.name, "first_contact", now, referral.reference, f"reminders={planned}")
    return planned


async def set_reminders(db: AsyncSession, settings: Settings, reference: str, on: bool, actor: Actor, now: datetime,
                        user_id: int | None = None) -> None:
    """Switch a young person's reminders on or off; off stops the ones planned, on plans them again."""
    referral = await _referral_for(db, reference, actor, user_id)
    was_off = referral.reminders_off
    referral.reminders_off = not on
    for appointment in await appointments_for(db, referral.id):
        if not on:
            await cancel_pending_reminders(db, appointment.id, now)
        elif was_off and appointment.starts_at > now and appointment.status in (AppointmentStatus.SCHEDULED,
                                                                                AppointmentStatus.CONFIRMED):
            # A fresh plan: the reminders stopped when they were turned off keep their own dedupe keys.
            appointment.updated_at = now
            await plan_session_reminders(db, settings, referral, appointment, now, catch_up=False)
    await audit(db, actor.name, "reminders_on" if on else "reminders_off", now, referral.reference)
