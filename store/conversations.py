"""Conversations and their inbound messages: stored first, found by keyed hash, locked one sender at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from flows.channels import Channel
from flows.statuses import InboundStatus
from store.crypto import keyed_hash, keyed_hashes
from store.models import Conversation, InboundMessage, SafeguardingAlert
from store.sealing import row_values

__all__ = [
    "GIVE_UP_AFTER",
    "alerted_since",
    "count_attempt",
    "find_conversation",
    "find_message",
    "finish_message",
    "forget_message_bodies",
    "lock_conversation",
    "pending_messages",
    "sender_hash",
    "sender_hashes",
    "store_inbound",
]

# Failed this many times, a stored message is marked failed instead of being tried again and again.
GIVE_UP_AFTER = 3


def sender_hash(channel: Channel, sender: str) -> str:
    return keyed_hash(f"{channel}:{sender}", "sender")


def sender_hashes(channel: Channel, sender: str) -> list[str]:
    """The sender's hash under every configured key: rows not yet rotated to the current one are found too."""
    return keyed_hashes(f"{channel}:{sender}", "sender")


def _insert(db: AsyncSession) -> Any:
    return pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert


async def find_conversation(db: AsyncSession, channel: Channel, sender: str) -> Conversation | None:
    """The sender's conversation, if they ever wrote in; not locked."""
    found = await db.execute(select(Conversation).where(Conversation.channel == channel,
                                                        Conversation.sender_hash.in_(sender_hashes(channel, sender))))
    return found.scalar_one_or_none()


async def lock_conversation(db: AsyncSession, channel: Channel, sender: str, now: datetime) -> Conversation:
    """The sender's conversation, created if new, locked so their messages are handled one at a time."""
    digest = sender_hash(channel, sender)
    # On PostgreSQL FOR UPDATE serialises one sender's messages; SQLite's BEGIN IMMEDIATE already has.
    lock = (
        select(Conversation)
        .where(Conversation.channel == channel, Conversation.sender_hash.in_(sender_hashes(channel, sender)))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    existing = (await db.execute(lock)).scalar_one_or_none()
    if existing is not None:
        return existing
    # Two first messages from one sender can arrive together: let the database pick one row.
    await db.execute(
        _insert(db)(Conversation)
        .values(row_values(Conversation, channel=channel, sender_hash=digest, sender=sender, state="new",
                           flagged=False, created_at=now, updated_at=now))
        .on_conflict_do_nothing(index_elements=["channel", "sender_hash"])
    )
    return (await db.execute(lock)).scalar_one()


async def store_inbound(db: AsyncSession, *, channel: Channel, provider_id: str, sender: str, body: str,
                        received_at: datetime) -> InboundMessage | None:
    """Keep a message the moment it arrives, before anything is done with it, once per provider id.

    Returns None when it is new, and the copy stored before when the provider sent it again.
    """
    inserted = await db.execute(
        _insert(db)(InboundMessage)
        .values(row_values(InboundMessage, channel=channel, provider_id=provider_id, sender=sender, body=body,
                           received_at=received_at, status=InboundStatus.RECEIVED, attempts=0, reply_segments=0))
        .on_conflict_do_nothing(index_elements=["channel", "provider_id"])
        .returning(InboundMessage.id)
    )
    if inserted.scalar_one_or_none() is not None:
        return None
    return await find_message(db, channel, provider_id)


async def find_message(db: AsyncSession, channel: Channel, provider_id: str) -> InboundMessage | None:
    found = await db.execute(
        select(InboundMessage)
        .where(InboundMessage.channel == channel, InboundMessage.provider_id == provider_id)
        .execution_options(populate_existing=True)
    )
    return found.scalar_one_or_none()


async def finish_message(db: AsyncSession, message: InboundMessage, *, conversation_id: int, body: str | None,
                         replies: list[dict[str, Any]], segments: int) -> None:
    message.conversation_id = conversation_id
    message.body = body
    message.replies = replies
    message.reply_segments = segments
    message.status = InboundStatus.PROCESSED


async def forget_message_bodies(db: AsyncSession, conversation_id: int) -> None:
    """Drop what a conversation's messages said (after a screen-out), keeping their ids for dedupe."""
    await db.execute(
        update(InboundMessage)
        .where(InboundMessage.conversation_id == conversation_id)
        .values(body=None, replies=None)
    )


async def pending_messages(db: AsyncSession, older_than: datetime, limit: int) -> list[InboundMessage]:
    """Messages stored but never processed (the process died in between): for recovery."""
    found = await db.execute(
        select(InboundMessage)
        .where(InboundMessage.status == InboundStatus.RECEIVED, InboundMessage.received_at < older_than)
        .order_by(InboundMessage.received_at, InboundMessage.id)
        .limit(limit)
    )
    return list(found.scalars())


async def count_attempt(db: AsyncSession, channel: Channel, provider_id: str) -> None:
    """A processing attempt failed; after GIVE_UP_AFTER of them the message is marked failed, not retried."""
    message = await find_message(db, channel, provider_id)
    if message is None or message.status != InboundStatus.RECEIVED:
        return
    message.attempts += 1
    if message.attempts >= GIVE_UP_AFTER:
        message.status = InboundStatus.FAILED


async def alerted_since(db: AsyncSession, conversation_id: int, since: datetime) -> bool:
    """Whether this conversation raised a safeguarding alert at or after `since`."""
    found = await db.scalar(select(SafeguardingAlert.id).where(SafeguardingAlert.conversation_id == conversation_id,
                                                               SafeguardingAlert.created_at >= since).limit(1))
    return found is not None
