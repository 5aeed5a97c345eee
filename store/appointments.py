"""Sessions with young people, and the reminders for them that wait in the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flows.channels import Channel
from flows.process import Status
from flows.statuses import AppointmentStatus, OutboundStatus
from store.db import rows_affected
from store.models import Appointment, CaseworkerNotice, OutboundMessage, Place, Referral

__all__ = [
    "ASKING",
    "add_place",
    "appointments_for",
    "cancel_pending_reminders",
    "get_appointment",
    "last_asking",
    "mark_notices_seen",
    "next_sessions",
    "notices_for",
    "places_of",
    "referral_for_young_person",
    "reminders_for",
    "texts_to",
    "unread_counts",
    "unseen_notices",
    "was_told",
]

# The texts that ask the young person for an answer (Y or N): a reply is about the latest of these.
ASKING = ("first_contact", "reminder", "session_moved")
# Handed to the provider: the young person may have read it.
_GONE_OUT = (OutboundStatus.SENDING, OutboundStatus.ACCEPTED, OutboundStatus.QUEUED, OutboundStatus.SENT,
             OutboundStatus.DELIVERED)


async def appointments_for(db: AsyncSession, referral_id: int) -> list[Appointment]:
    found = await db.execute(select(Appointment).where(Appointment.referral_id == referral_id)
                             .order_by(Appointment.starts_at, Appointment.id))
    return list(found.scalars())


async def get_appointment(db: AsyncSession, appointment_id: int) -> Appointment | None:
    found = await db.execute(select(Appointment).where(Appointment.id == appointment_id).with_for_update())
    return found.scalar_one_or_none()


async def reminders_for(db: AsyncSession, appointment_ids: list[int]) -> list[OutboundMessage]:
    if not appointment_ids:
        return []
    # Only the reminders: the news of a move is tied to its session too, but it is not one of them.
    found = await db.execute(select(OutboundMessage).where(OutboundMessage.appointment_id.in_(appointment_ids),
                                                           OutboundMessage.purpose == "reminder")
                             .order_by(OutboundMessage.next_attempt_at, OutboundMessage.id))
    return list(found.scalars())


async def cancel_pending_reminders(db: AsyncSession, appointment_id: int, now: datetime) -> int:
    """Reminders not yet handed to the provider stop here (the session moved or was cancelled)."""
    result = await db.execute(
        update(OutboundMessage)
        .where(OutboundMessage.appointment_id == appointment_id, OutboundMessage.status == OutboundStatus.PENDING)
        .values(status=OutboundStatus.CANCELLED, updated_at=now)
    )
    return rows_affected(result)


async def referral_for_young_person(db: AsyncSession, phone_hashes: Sequence[str], *,
                                    simulated: bool) -> Referral | None:
    """The allocated referral whose young person has this number (hashed under each key), if any.

    The simulator lives in its own world: playing a young person (`simulated`) finds only referrals made in
    the simulator, and a real phone only real ones. The channel is part of the one query, so a real number
    asked from the simulator costs exactly what an unknown one does and answers the same.
    """
    if isinstance(phone_hashes, str):
        raise TypeError("pass the number's hash under every key: store.referrals.young_person_hashes(number)")
    world = Referral.channel == Channel.SIMULATOR if simulated else Referral.channel != Channel.SIMULATOR
    found = await db.execute(
        select(Referral).where(Referral.yp_phone_hash.in_(phone_hashes), Referral.status == Status.ALLOCATED, world)
        .order_by(Referral.updated_at.desc()).limit(1)
    )
    return found.scalar_one_or_none()


async def places_of(db: AsyncSession, user_id: int) -> list[Place]:
    return list((await db.execute(select(Place).where(Place.user_id == user_id).order_by(Place.id))).scalars())


async def add_place(db: AsyncSession, user_id: int, label: str, now: datetime) -> Place:
    place = Place(user_id=user_id, label=label, created_at=now)
    db.add(place)
    await db.flush()
    return place


async def unseen_notices(db: AsyncSession, referral_id: int) -> list[CaseworkerNotice]:
    found = await db.execute(select(CaseworkerNotice).where(CaseworkerNotice.referral_id == referral_id,
                                                            CaseworkerNotice.seen_at.is_(None))
                             .order_by(CaseworkerNotice.at))
    return list(found.scalars())


async def mark_notices_seen(db: AsyncSession, referral_id: int, now: datetime) -> None:
    await db.execute(update(CaseworkerNotice).where(CaseworkerNotice.referral_id == referral_id,
                                                    CaseworkerNotice.seen_at.is_(None)).values(seen_at=now))


async def last_asking(db: AsyncSession, contact_id: int) -> OutboundMessage | None:
    """The latest text that went out to this young person asking for a reply: what their reply answers."""
    found = await db.execute(
        select(OutboundMessage)
        .where(OutboundMessage.contact_id == contact_id, OutboundMessage.purpose.in_(ASKING),
               OutboundMessage.status.in_(_GONE_OUT))
        # When it was due, not when it was queued: tomorrow's reminder is queued before today's move.
        .order_by(OutboundMessage.next_attempt_at.desc(), OutboundMessage.id.desc()).limit(1)
    )
    return found.scalar_one_or_none()


async def was_told(db: AsyncSession, appointment_id: int) -> bool:
    """Whether a text naming this session (a reminder, or the news it moved) has gone to the young person."""
    found = await db.scalar(select(OutboundMessage.id).where(
        OutboundMessage.appointment_id == appointment_id,
        OutboundMessage.purpose.in_(("reminder", "session_moved")), OutboundMessage.status.in_(_GONE_OUT)).limit(1))
    return found is not None


async def texts_to(db: AsyncSession, contact_id: int) -> list[OutboundMessage]:
    """Every text queued for one contact, oldest first (the young person's timeline)."""
    found = await db.execute(select(OutboundMessage).where(OutboundMessage.contact_id == contact_id)
                             .order_by(OutboundMessage.next_attempt_at, OutboundMessage.id))
    return list(found.scalars())


async def notices_for(db: AsyncSession, referral_id: int) -> list[CaseworkerNotice]:
    """Everything the young person sent, seen or not, oldest first."""
    found = await db.execute(select(CaseworkerNotice).where(CaseworkerNotice.referral_id == referral_id)
                             .order_by(CaseworkerNotice.at, CaseworkerNotice.id))
    return list(found.scalars())


async def unread_counts(db: AsyncSession, referral_ids: Sequence[int]) -> dict[int, int]:
    """How many replies each referral's young person sent that nobody has marked as seen."""
    if not referral_ids:
        return {}
    found = await db.execute(select(CaseworkerNotice.referral_id, func.count())
                             .where(CaseworkerNotice.referral_id.in_(referral_ids), CaseworkerNotice.seen_at.is_(None))
                             .group_by(CaseworkerNotice.referral_id))
    return {int(referral_id): int(count) for referral_id, count in found.all()}


async def next_sessions(db: AsyncSession, referral_ids: Sequence[int], now: datetime) -> dict[int, Appointment]:
    """Each referral's next session still on (not cancelled, not started)."""
    if not referral_ids:
        return {}
    found = await db.execute(select(Appointment).where(
        Appointment.referral_id.in_(referral_ids), Appointment.starts_at > now,
        Appointment.status != AppointmentStatus.CANCELLED).order_by(Appointment.starts_at, Appointment.id))
    nearest: dict[int, Appointment] = {}
    for appointment in found.scalars():
        nearest.setdefault(appointment.referral_id, appointment)
    return nearest
