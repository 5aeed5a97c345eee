"""The referrer's own details kept for their next referral, at their choice: found by the sender's keyed hash."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flows.channels import Channel
from store.conversations import sender_hash, sender_hashes
from store.db import rows_affected
from store.models import RememberedReferrer

__all__ = ["forget_referrer", "forget_unused_referrers", "mark_remembered_used", "recall_referrer",
           "remember_referrer"]


def _mine(channel: Channel, sender: str) -> Any:
    return (RememberedReferrer.channel == channel) & RememberedReferrer.sender_hash.in_(sender_hashes(channel, sender))


async def recall_referrer(db: AsyncSession, channel: Channel, sender: str) -> dict[str, Any] | None:
    """The details this sender asked us to keep, if any."""
    return await db.scalar(select(RememberedReferrer.details).where(_mine(channel, sender)))


async def remember_referrer(db: AsyncSession, channel: Channel, sender: str, details: dict[str, Any],
                            now: datetime) -> None:
    """Keep these details for the sender, in place of any kept before."""
    kept = await db.scalar(select(RememberedReferrer).where(_mine(channel, sender)))
    if kept is None:
        db.add(RememberedReferrer(channel=channel, sender_hash=sender_hash(channel, sender), sender=sender,
                                  details=details, created_at=now, used_at=now))
    else:
        kept.details = details
        kept.used_at = now
    await db.flush()


async def mark_remembered_used(db: AsyncSession, channel: Channel, sender: str, now: datetime) -> None:
    """The kept details were used: their retention period starts again."""
    await db.execute(update(RememberedReferrer).where(_mine(channel, sender)).values(used_at=now)
                     .execution_options(synchronize_session=False))


async def forget_referrer(db: AsyncSession, channel: Channel, sender: str) -> bool:
    """FORGET: delete the sender's kept details; True if there were any."""
    deleted = await db.execute(delete(RememberedReferrer).where(_mine(channel, sender))
                               .execution_options(synchronize_session=False))
    return rows_affected(deleted) > 0


async def forget_unused_referrers(db: AsyncSession, unused_since: datetime) -> int:
    """Retention: delete kept details not used since `unused_since`."""
    deleted = await db.execute(delete(RememberedReferrer).where(RememberedReferrer.used_at < unused_since)
                               .execution_options(synchronize_session=False))
    return rows_affected(deleted)
