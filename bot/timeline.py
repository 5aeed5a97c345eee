"""One young person's texts, in and out, as one list in time order: what the caseworker reads on their page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.sessions import young_person_address
from flows.combined import mobile_of
from flows.delivery_words import delivery_words
from flows.reminders import offset_words, when_words
from flows.statuses import ReplyKind
from store.appointments import notices_for, texts_to
from store.contacts import find_contact
from store.models import Appointment, Referral

__all__ = ["Entry", "young_person_timeline"]

# Texts the outbox sent, by purpose. Our answers to their replies ("Thanks, that's confirmed") go
# back in the webhook's response, not through the outbox: each is kept with the reply it answers.
_SHOWN = {"first_contact": "First message", "reminder": "Reminder", "session_moved": "Session moved",
          "session_cancelled": "Session cancelled"}


@dataclass(frozen=True)
class Entry:
    """One text: `incoming` from the young person, else from us; `about` says what it was, `state` what became of it."""

    at: datetime
    incoming: bool
    text: str
    about: str
    state: str
    unread: bool = False


async def young_person_timeline(db: AsyncSession, referral: Referral, sessions: list[Appointment],
                                tz: ZoneInfo) -> list[Entry]:
    """Every text to and from this young person, oldest first."""
    named = {s.id: when_words(s.starts_at.astimezone(tz)) for s in sessions}
    entries: list[Entry] = []
    if mobile_of(referral.details):
        contact = await find_contact(db, *young_person_address(referral))
        for message in await texts_to(db, contact.id) if contact is not None else []:
            if message.purpose not in _SHOWN:
                continue
            about = _SHOWN[message.purpose]
            if message.purpose == "reminder" and message.planned_for:
                about = f"Reminder, {offset_words(message.planned_for)}"
            if message.appointment_id in named:
                about += f" (session {named[message.appointment_id]})"
            entries.append(Entry(message.next_attempt_at, False, message.body, about,
                                 delivery_words(message.status, message.error_code)))
    for notice in await notices_for(db, referral.id):
        kind = ReplyKind(notice.kind) if notice.kind in set(ReplyKind) else ReplyKind.MESSAGE
        about = kind.label
        if notice.appointment_id in named:
            about += f" (session {named[notice.appointment_id]})"
        entries.append(Entry(notice.at, True, notice.text or "", about, "new" if notice.seen_at is None else "seen",
                             unread=notice.seen_at is None))
        if notice.answer:
            entries.append(Entry(notice.at, False, notice.answer, "Our answer to that reply", "sent in reply"))
    return sorted(entries, key=lambda e: e.at)
