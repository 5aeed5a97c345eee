"""What a member of staff is told on their next page: someone took over their referral, say.

The texts name a colleague and a reference, never anything personal about a young person or referrer.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import StaffNotice

__all__ = ["notify_staff", "take_staff_notices"]


async def notify_staff(db: AsyncSession, user_id: int, text: str, now: datetime) -> None:
    db.add(StaffNotice(user_id=user_id, text=text, at=now))


async def take_staff_notices(db: AsyncSession, user_id: int, now: datetime) -> list[str]:
    """The notices this person has not seen yet, oldest first, marked as seen now that they are shown."""
    found = list((await db.execute(select(StaffNotice).where(StaffNotice.user_id == user_id,
                                                             StaffNotice.seen_at.is_(None))
                                   .order_by(StaffNotice.at, StaffNotice.id))).scalars())
    for notice in found:
        notice.seen_at = now
    return [notice.text for notice in found]
