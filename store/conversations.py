"""Conversations and their inbound messages: found by keyed hash, locked one sender at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from store.crypto import keyed_hash
from store.models import Conversation, InboundMessage

__all__ = ["sender_hash", "lock_conversation", "find_message", "record_message", "forget_message_bodies"]


def sender_hash(channel: str, sender: str) -> str:
    return keyed_hash(f"{channel}:{sender}", "sender")


async def lock_conversation(db: AsyncSession, channel: str, sender: str, now: datetime) -> Conversation:
    """The sender's conversation, created if new, locked so their messages are handled one at a time."""
    digest = sender_hash(channel, sender)
    insert = pg_insert if db.bind.dialect.name == "postgresql" else sqlite_insert
    # Two first messages from one sender can arrive together: let the database pick one row.
    await db.execute(
        insert(Conversation)
        .values(channel=channel, sender_hash=digest, sender=sender, state="new", flagged=False,
                created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["channel", "sender_hash"])
    )
    # On PostgreSQL FOR UPDATE serialises one sender's messages; SQLite's BEGIN IMMEDIATE already has.
    found = await db.execute(
        select(Conversation)
        .where(Conversation.channel == channel, Conversation.sender_hash == digest)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return found.scalar_one()


async def find_message(db: AsyncSession, channel: str, provider_id: str) -> InboundMessage | None:
    found = await db.execute(
        select(InboundMessage).where(InboundMessage.channel == channel, InboundMessage.provider_id == provider_id)
    )
    return found.scalar_one_or_none()


async def record_message(
    db: AsyncSession,
    *,
    channel: str,
    provider_id: str,
    conversation_id: int,
    body: str | None,
    replies: list[dict[str, Any]],
    received_at: datetime,
) -> None:
    db.add(InboundMessage(channel=channel, provider_id=provider_id, conversation_id=conversation_id,
                          body=body, replies=replies, received_at=received_at))


async def forget_message_bodies(db: AsyncSession, conversation_id: int) -> None:
    """Drop what a conversation's messages said (after a screen-out), keeping their ids for dedupe."""
    await db.execute(
        update(InboundMessage)
        .where(InboundMessage.conversation_id == conversation_id)
        .values(body=None, replies=None)
    )
