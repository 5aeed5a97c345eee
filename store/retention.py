"""Retention: each kind of record is deleted once its period is over; the audit log is kept for good.

| record                         | kept for                                   |
|--------------------------------|--------------------------------------------|
| draft conversations, inbound   | draft TTL (hours) since the last message   |
| alerts from chats never sent   | with their draft, once acknowledged        |
| alerts linked to a referral    | as long as the referral                    |
| declined referrals + history   | `declined_days` after the decision         |
| closed referrals + history     | `closed_days` after closing                |
| enquiries replied to or closed | `enquiry_days` after the unit marked them  |
| new enquiries                  | until the unit marks them replied/closed   |
| finished outbound messages     | `closed_days` after their last change      |
| contacts (address, opt-outs)   | until no message, conversation, referral   |
|                                | or staff account needs the address         |
| a referrer's kept details      | `remembered_days` since they were last used |
| screen-outs                    | always (reason and day only, no one named) |
| audit log                      | always (the database refuses deletes)      |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from flows.channels import PHONE_CHANNELS, Channel
from flows.process import Status
from flows.simulator_addresses import simulated_young_person
from flows.statuses import EnquiryStatus, OutboundStatus
from store.audit import audit
from store.conversations import sender_hashes
from store.db import rows_affected
from store.models import Contact, Conversation, Enquiry, OutboundMessage, Referral, SafeguardingAlert, User
from store.purge import purge_drafts
from store.referrals import young_person_hashes
from store.remembered import forget_unused_referrers

__all__ = ["ACTOR", "FINISHED_OUTBOUND", "RetentionCounts", "purge_expired", "purge_handled_enquiries"]

# Statuses after which the dispatcher never touches a message again (Twilio's "queued" and "sent"
# are as far as some messages ever get reported).
FINISHED_OUTBOUND = (OutboundStatus.QUEUED, OutboundStatus.SENT, OutboundStatus.DELIVERED,
                     OutboundStatus.UNDELIVERED, OutboundStatus.FAILED, OutboundStatus.SUPPRESSED)
ACTOR = "retention"
_CHUNK = 500


@dataclass(frozen=True)
class RetentionCounts:
    conversations: int
    messages: int
    declined: int
    closed: int
    outbound: int
    alerts: int = 0
    contacts: int = 0
    enquiries: int = 0
    referrers: int = 0

    @property
    def total(self) -> int:
        return (self.conversations + self.messages + self.declined + self.closed + self.outbound + self.alerts
                + self.contacts + self.enquiries + self.referrers)


def _older(column: InstrumentedAttribute[datetime | None], fallback: InstrumentedAttribute[datetime],
           cutoff: datetime) -> ColumnElement[bool]:
    """The record's own date if it has one, else when it was last changed, is before the cutoff."""
    return or_(and_(column.is_not(None), column < cutoff), and_(column.is_(None), fallback < cutoff))


async def purge_expired(db: AsyncSession, now: datetime, *, draft_ttl_hours: int, declined_days: int,
                        closed_days: int, enquiry_days: int = 90, remembered_days: int = 365) -> RetentionCounts:
    """Delete every record past its retention period; each deleted referral leaves one audit line."""
    drafts = await purge_drafts(db, now, draft_ttl_hours)
    expired = (
        (Status.DECLINED, _older(Referral.decided_at, Referral.updated_at, now - timedelta(days=declined_days)),
         declined_days),
        (Status.CLOSED, _older(Referral.closed_at, Referral.updated_at, now - timedelta(days=closed_days)),
         closed_days),
    )
    deleted: dict[str, int] = {}
    for status, condition, days in expired:
        found = (await db.execute(select(Referral.id, Referral.reference)
                                  .where(Referral.status == status.value, condition))).all()
        for start in range(0, len(found), _CHUNK):
            chunk = found[start:start + _CHUNK]
            ids = [row.id for row in chunk]
            # Alerts name their referral by reference (no foreign key): they go with it, here.
            references = [row.reference for row in chunk]
            await db.execute(delete(SafeguardingAlert).where(SafeguardingAlert.reference.in_(references))
                             .execution_options(synchronize_session=False))
            # referral_events go with them: ON DELETE CASCADE (foreign keys are on for SQLite in store/db.py).
            await db.execute(delete(Referral).where(Referral.id.in_(ids)).execution_options(synchronize_session=False))
        for row in found:
            await audit(db, ACTOR, "purged", now, row.reference, f"{status.value}, retention {days} days")
        deleted[status.value] = len(found)
    outbound = await db.execute(
        delete(OutboundMessage)
        .where(OutboundMessage.status.in_(FINISHED_OUTBOUND),
               OutboundMessage.updated_at < now - timedelta(days=closed_days))
        .execution_options(synchronize_session=False))
    contacts = await purge_unneeded_contacts(db, now - timedelta(hours=draft_ttl_hours))
    enquiries = await purge_handled_enquiries(db, now, enquiry_days)
    referrers = await forget_unused_referrers(db, now - timedelta(days=remembered_days))
    return RetentionCounts(conversations=drafts.conversations, messages=drafts.messages,
                           declined=deleted[Status.DECLINED.value], closed=deleted[Status.CLOSED.value],
                           outbound=rows_affected(outbound), alerts=drafts.alerts, contacts=contacts,
                           enquiries=enquiries, referrers=referrers)


async def purge_handled_enquiries(db: AsyncSession, now: datetime, days: int) -> int:
    """Delete enquiries the unit marked replied or closed `days` ago; each leaves one audit line.

    A new enquiry is kept until someone has dealt with it: it is someone asking for help.
    """
    found = (await db.execute(select(Enquiry.id, Enquiry.reference, Enquiry.status).where(
        Enquiry.status.in_((EnquiryStatus.REPLIED, EnquiryStatus.CLOSED)),
        _older(Enquiry.handled_at, Enquiry.updated_at, now - timedelta(days=days))))).all()
    for start in range(0, len(found), _CHUNK):
        ids = [row.id for row in found[start:start + _CHUNK]]
        await db.execute(delete(Enquiry).where(Enquiry.id.in_(ids)).execution_options(synchronize_session=False))
    for row in found:
        await audit(db, ACTOR, "purged", now, row.reference, f"enquiry {row.status.value}, retention {days} days")
    return len(found)


async def purge_unneeded_contacts(db: AsyncSession, idle_since: datetime) -> int:
    """Delete contacts (an encrypted address and its opt-out history) that nothing needs any more.

    A contact is needed while an outbound message to it is kept, a conversation or a referral came
    from its address, a referral gives it as the young person's mobile, or it is a staff member's
    address. It goes with the last of those, once it has been unchanged since `idle_since` (so a
    contact made a moment ago, before what needs it is written, stays). Contacts are matched to
    conversations and referrals by keyed hashes, so each idle one is decrypted here, in batches.
    """
    staff = {address for row in (await db.execute(select(User.email, User.telegram_chat_id))).all()
             for address in row if address}
    idle = (select(Contact)
            .where(Contact.changed_at < idle_since, ~exists().where(OutboundMessage.contact_id == Contact.id))
            .order_by(Contact.id).limit(_CHUNK))
    deleted, after = 0, 0
    while batch := (await db.scalars(idle.where(Contact.id > after))).all():
        after = batch[-1].id
        needed = await _needed(db, [contact for contact in batch if contact.address not in staff])
        unneeded = [contact.id for contact in batch if contact.address not in staff and contact.id not in needed]
        if unneeded:
            await db.execute(delete(Contact).where(Contact.id.in_(unneeded))
                             .execution_options(synchronize_session=False))
            deleted += len(unneeded)
    return deleted


async def _needed(db: AsyncSession, contacts: list[Contact]) -> set[int]:
    """The contacts a conversation or referral still refers to: three look-ups for the whole batch."""
    senders = {contact.id: sender_hashes(contact.channel, contact.address) for contact in contacts}
    young = {contact.id: young_person_hashes(number) for contact in contacts
             if (number := _young_person_number(contact.channel, contact.address)) is not None}
    by_sender = [digest for digests in senders.values() for digest in digests]
    used = await _present(db, Conversation.sender_hash, by_sender) | await _present(db, Referral.origin_hash, by_sender)
    used_young = await _present(db, Referral.yp_phone_hash, [d for digests in young.values() for d in digests])
    return ({contact_id for contact_id, digests in senders.items() if used.intersection(digests)}
            | {contact_id for contact_id, digests in young.items() if used_young.intersection(digests)})


async def _present(db: AsyncSession, column: InstrumentedAttribute[Any], digests: list[str]) -> set[str]:
    """Which of these keyed hashes the column holds."""
    if not digests:
        return set()
    return set((await db.scalars(select(column).where(column.in_(digests)))).all())


def _young_person_number(channel: Channel, address: str) -> str | None:
    """The mobile number a contact could be a young person's by: texts to young people go by SMS (or the simulator)."""
    if channel in PHONE_CHANNELS:
        return address
    if channel == Channel.SIMULATOR:
        return simulated_young_person(address)
    return None
