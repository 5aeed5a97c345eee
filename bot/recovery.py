"""Recovery: messages stored but never processed (the process died in between) are processed later."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import GIVE_UP_AFTER, Inbound, process
from bot.settings import Settings
from flows.channels import Channel
from store.conversations import count_attempt, pending_messages

__all__ = ["recover_pending", "GRACE"]

log = logging.getLogger("referral_bot.recovery")

# Long enough that a message still being handled by a live request is never taken for a lost one.
GRACE = timedelta(seconds=60)


async def recover_pending(sessions: async_sessionmaker[AsyncSession], settings: Settings,
                          now: datetime | None = None, limit: int = 50) -> int:
    """Process what was left `received`; replies go out through the outbox (the webhook answer is gone)."""
    cutoff = (now or datetime.now(UTC)) - GRACE
    async with sessions() as db:
        pending = await pending_messages(db, cutoff, limit)
    done = 0
    for message in pending:
        inbound = Inbound(channel=Channel(message.channel), sender=message.sender or "", message_id=message.provider_id,
                          text=message.body or "", received_at=message.received_at)
        try:
            await process(inbound, sessions, settings, via_outbox=inbound.channel != Channel.SIMULATOR)
            done += 1
        except Exception:  # noqa: BLE001 - count it and move on; it is failed after a few tries
            log.exception("recovery failed message=%s", message.id)
            async with sessions() as db, db.begin():
                await count_attempt(db, message.channel, message.provider_id, GIVE_UP_AFTER)
    if done:
        log.info("recovered messages=%d", done)
    return done
