"""Retention: drafts and message logs are kept only as long as the settings allow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from store.alerts import forget_unlinked_alerts
from store.db import rows_affected
from store.models import Conversation, InboundMessage

__all__ = ["PurgeCounts", "purge_drafts"]


@dataclass(frozen=True)
class PurgeCounts:
    conversations: int
    messages: int
    alerts: int = 0


async def purge_drafts(db: AsyncSession, now: datetime, ttl_hours: int) -> PurgeCounts:
    """Delete conversations idle for longer than the TTL (their drafts and alerts with them) and older message logs."""
    cutoff = now - timedelta(hours=ttl_hours)
    messages = await db.execute(delete(InboundMessage).where(InboundMessage.received_at < cutoff))
    conversations = await db.execute(delete(Conversation).where(Conversation.updated_at < cutoff))
    alerts = await forget_unlinked_alerts(db, cutoff)
    return PurgeCounts(conversations=rows_affected(conversations), messages=rows_affected(messages), alerts=alerts)
