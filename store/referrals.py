"""The referral queue: creating referrals with unique references, and reading them back."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.channels import Channel
from flows.process import Refused, Status
from store.crypto import keyed_hash, keyed_hashes
from store.models import Referral, ScreenOut
from store.same_person import young_person_name_hash

__all__ = [
    "REFERENCE_ALPHABET",
    "create_referral",
    "get_referral",
    "list_referrals",
    "lock_referral",
    "new_reference",
    "record_screen_out",
    "referrer_hash",
    "young_person_hash",
    "young_person_hashes",
]

# No 0/O or 1/I: references are read aloud and typed back from a phone.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 5


def young_person_hash(phone: str) -> str:
    """How a young person's number is found again (their replies to reminders) without storing it plainly."""
    return keyed_hash(phone, "young_person_phone")


def young_person_hashes(phone: str) -> list[str]:
    """The number's hash under every configured key: referrals not yet rotated to the current one are found too."""
    return keyed_hashes(phone, "young_person_phone")


def referrer_hash(phone: str) -> str:
    return keyed_hash(phone, "referrer_phone")


def new_reference(prefix: str, length: int = REFERENCE_LENGTH) -> str:
    """A fresh random reference such as LGX-7K3Q9 (uniqueness is the database's unique index)."""
    return f"{prefix}-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(length))


async def create_referral(
    db: AsyncSession,
    *,
    reference: str,
    channel: Channel,
    details: dict[str, Any],
    borough: str,
    age: int,
    urgency: str,
    referrer_hash: str,
    safeguarding_flag: bool,
    now: datetime,
    origin_address: str | None = None,
    origin_hash: str | None = None,
    yp_phone_hash: str | None = None,
) -> Referral:
    referral = Referral(
        reference=reference, status=Status.QUEUED, channel=channel, borough=borough, age=age,
        under_18=age < 18, urgency=urgency, safeguarding_flag=safeguarding_flag,
        referrer_hash=referrer_hash, details=details, created_at=now, updated_at=now,
        origin_address=origin_address, origin_hash=origin_hash, yp_phone_hash=yp_phone_hash,
        # Always from the details, as key rotation recomputes it (store/keys.py): the two must agree.
        yp_name_hash=young_person_name_hash(details),
    )
    db.add(referral)
    await db.flush()
    return referral


async def list_referrals(db: AsyncSession, status: str | None = None, limit: int = 200) -> list[Referral]:
    query = select(Referral).order_by(Referral.created_at.desc(), Referral.id.desc()).limit(limit)
    if status:
        query = query.where(Referral.status == status)
    return list((await db.execute(query)).scalars())


async def get_referral(db: AsyncSession, reference: str, *, lock: bool = False) -> Referral | None:
    """A referral by its reference as typed (any case, stray spaces); `lock` holds it to change it."""
    query = select(Referral).where(Referral.reference == reference.strip().upper())
    if lock:
        # Fresh from the row once the lock is ours, even if this session loaded the referral before it.
        query = query.with_for_update().execution_options(populate_existing=True)
    return (await db.execute(query)).scalar_one_or_none()


async def lock_referral(db: AsyncSession, reference: str) -> Referral:
    """The referral to change, locked until the transaction ends; Refused when there is none."""
    referral = await get_referral(db, reference, lock=True)
    if referral is None:
        raise Refused(f"There is no referral {reference.strip().upper()}.")
    return referral


async def record_screen_out(db: AsyncSession, reason: str, channel: Channel, on: date) -> None:
    db.add(ScreenOut(reason=reason, channel=channel, screened_on=on))
