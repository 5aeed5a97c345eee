"""Sessions with young people, and the reminders for them that wait in the outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flows.channels import Channel
from flows.process import Status
from flows.statuses import AppointmentStatus, OutboundStatus
from store.db import rows_affected
from store.models import Appointment, CaseworkerNotice, OutboundMessage, Place, Referral

__all__ = [
    "add_place",
    "appointments_for",
    "cancel_pending_reminders",
    "get_appointment",
    "mark_notices_seen",
    "next_unanswered",
    "places_of",
    "referral_for_young_person",
    "reminders_for",
    "unseen_notices",
]


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
    found = await db.execute(select(OutboundMessage).where(OutboundMessage.appointment_id.in_(appointment_ids))
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


async def next_unanswered(db: AsyncSession, referral_id: int, now: datetime) -> Appointment | None:
    """The session a young person's Y or N is about: the next one that has not started and is unconfirmed."""
    found = await db.execute(
        select(Appointment)
        .where(Appointment.referral_id == referral_id, Appointment.starts_at > now,
               Appointment.status == AppointmentStatus.SCHEDULED)
        .order_by(Appointment.starts_at, Appointment.id).limit(1).with_for_update()
    )
    return found.scalar_one_or_none()


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
