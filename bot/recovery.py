"""Recovery: messages stored but never processed (the process died in between) are processed later."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core import Inbound, process
from bot.settings import Settings
from flows.channels import Channel
from store.conversations import pending_messages

__all__ = ["GRACE", "recover_pending"]

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
        except Exception:
            log.exception("recovery failed message=%s", message.id)
    if done:
        log.info("recovered messages=%d", done)
    return done
