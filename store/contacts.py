"""Who may be written to: opt-outs (STOP) and blocks (Telegram 403), each change recorded with its time."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from flows.channels import Channel
from store.crypto import keyed_hash, keyed_hashes
from store.models import Contact, ContactEvent
from store.sealing import row_values

__all__ = ["address_hash", "address_hashes", "contact_for", "find_contact", "set_blocked", "set_opted_out"]


def address_hash(channel: Channel, address: str) -> str:
    return keyed_hash(f"{channel}:{address}", "contact")


def address_hashes(channel: Channel, address: str) -> list[str]:
    """The address's hash under every configured key: contacts not yet rotated to the current one are found too."""
    return keyed_hashes(f"{channel}:{address}", "contact")


async def contact_for(db: AsyncSession, channel: Channel, address: str, now: datetime) -> Contact:
    """The contact for an address, created on first use."""
    digests = address_hashes(channel, address)
    # Nearly always there already: one statement then, not an insert that does nothing and a select.
    existing = await _by_hash(db, channel, digests)
    if existing is not None:
        return existing
    insert = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    await db.execute(
        insert(Contact)
        .values(row_values(Contact, channel=channel, address_hash=digests[0], address=address, opted_out=False,
                           blocked=False, created_at=now, changed_at=now))
        .on_conflict_do_nothing(index_elements=["channel", "address_hash"])
    )
    created = await _by_hash(db, channel, digests)
    assert created is not None  # inserted, or inserted by a racing transaction just now
    return created


async def find_contact(db: AsyncSession, channel: Channel, address: str) -> Contact | None:
    found = await db.execute(select(Contact).where(Contact.channel == channel,
                                                   Contact.address_hash.in_(address_hashes(channel, address))))
    return found.scalar_one_or_none()


async def _by_hash(db: AsyncSession, channel: Channel, digests: list[str]) -> Contact | None:
    found = await db.execute(select(Contact).where(Contact.channel == channel, Contact.address_hash.in_(digests))
                             .execution_options(populate_existing=True))
    return found.scalar_one_or_none()


async def set_opted_out(db: AsyncSession, contact: Contact, opted_out: bool, now: datetime) -> bool:
    """Record an opt-out or opt-in; True when it changed anything."""
    if contact.opted_out == opted_out:
        return False
    contact.opted_out = opted_out
    contact.changed_at = now
    db.add(ContactEvent(contact_id=contact.id, event="opt_out" if opted_out else "opt_in", at=now))
    return True


async def set_blocked(db: AsyncSession, contact: Contact, blocked: bool, now: datetime) -> None:
    if contact.blocked == blocked:
        return
    contact.blocked = blocked
    contact.changed_at = now
    db.add(ContactEvent(contact_id=contact.id, event="blocked" if blocked else "unblocked", at=now))
