"""The referral queue: creating referrals with unique references, and reading them back."""

from __future__ import annotations

import secrets
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.channels import Channel
from flows.process import Status
from store.models import Referral, ScreenOut

__all__ = ["REFERENCE_ALPHABET", "new_reference", "create_referral", "list_referrals", "get_referral",
           "record_screen_out"]

# No 0/O or 1/I: references are read aloud and typed back from a phone.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
REFERENCE_LENGTH = 5


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
        origin_address=origin_address, origin_hash=origin_hash, awaiting_info=False, yp_phone_hash=yp_phone_hash,
    )
    db.add(referral)
    await db.flush()
    return referral


async def list_referrals(db: AsyncSession, status: str | None = None, limit: int = 200) -> list[Referral]:
    query = select(Referral).order_by(Referral.created_at.desc(), Referral.id.desc()).limit(limit)
    if status:
        query = query.where(Referral.status == status)
    return list((await db.execute(query)).scalars())


async def get_referral(db: AsyncSession, reference: str) -> Referral | None:
    found = await db.execute(select(Referral).where(Referral.reference == reference.strip().upper()))
    return found.scalar_one_or_none()


async def record_screen_out(db: AsyncSession, reason: str, channel: Channel, on: date) -> None:
    db.add(ScreenOut(reason=reason, channel=channel, screened_on=on))
