"""Reminders through the real dispatcher and SMS sender, against the stand-in Twilio taking 100 ms a call."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.dispatcher import Dispatcher
from bot.settings import Settings
from bot.sms_sender import SmsSender
from flows.channels import Channel
from flows.discreet import reminder_text
from flows.statuses import OutboundStatus
from flows.text import segment_count
from store.contacts import address_hashes
from store.models import Contact, OutboundMessage
from store.sealing import row_values

__all__ = ["RateLimited", "enqueue_reminders", "reminder_body", "run_dispatcher", "run_sequential"]

LONDON_SESSION = datetime(2026, 12, 3, 16, 30)
NAMES = ["Jordan Okafor", "Amara Campbell", "Tyrese Mensah", "Keisha Reid", "Malik Adeyemi"]


def reminder_body(n: int) -> str:
    return reminder_text(NAMES[n % len(NAMES)], "Sam Worker", LONDON_SESSION, "the usual place")


async def enqueue_reminders(sessions: async_sessionmaker[AsyncSession], count: int, first: int,
                            progress: Callable[[str], None]) -> None:
    """`count` due reminders, each to its own number (one person's messages go in order, one at a time).

    Inserted in bulk (a contact and an outbox row each, as `enqueue` writes them): queuing is not what is
    measured, and one `enqueue` at a time would take a good part of the time budget.
    """
    now = datetime.now(UTC) - timedelta(seconds=1)
    started = time.monotonic()
    for start in range(first, first + count, 1000):
        numbers = range(start, min(first + count, start + 1000))
        async with sessions() as db, db.begin():
            await db.execute(insert(Contact), [row_values(
                Contact, channel=Channel.SMS, address_hash=address_hashes(Channel.SMS, _number(n))[0],
                address=_number(n), opted_out=False, blocked=False, created_at=now, changed_at=now) for n in numbers])
            ids = dict((await db.execute(select(Contact.address_hash, Contact.id).where(Contact.address_hash.in_(
                [address_hashes(Channel.SMS, _number(n))[0] for n in numbers])))).tuples().all())
            await db.execute(insert(OutboundMessage), [row_values(
                OutboundMessage, channel=Channel.SMS,
                contact_id=ids[address_hashes(Channel.SMS, _number(n))[0]], body=reminder_body(n), purpose="reminder",
                status=OutboundStatus.PENDING, segments=segment_count(reminder_body(n)), attempts=0,
                next_attempt_at=now, created_at=now, updated_at=now) for n in numbers])
    progress(f"  {count:,} reminders queued in {time.monotonic() - started:.0f} s")


def _number(n: int) -> str:
    return f"+4475{n:08d}"


async def _sent(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as db:
        return int(await db.scalar(select(func.count()).select_from(OutboundMessage).where(
            OutboundMessage.status.not_in([OutboundStatus.PENDING, OutboundStatus.SENDING]))) or 0)


async def run_sequential(sessions: async_sessionmaker[AsyncSession], settings: Settings, count: int) -> float:
    """Seconds to send `count` one after another, each whole (claim, send, record) before the next."""
    dispatcher = Dispatcher(sessions, {Channel.SMS: SmsSender(settings)})
    started = time.monotonic()
    for _ in range(count):
        await dispatcher.run_once(limit=1)
    return time.monotonic() - started


async def run_dispatcher(sessions: async_sessionmaker[AsyncSession], settings: Settings, total: int,
                         progress: Callable[[str], None]) -> float:
    """Seconds for the dispatcher's own loop to send everything due, `total` sent in all."""
    dispatcher = Dispatcher(sessions, {Channel.SMS: SmsSender(settings)}, poll_seconds=0.2)
    started = time.monotonic()
    task = asyncio.create_task(dispatcher.run_forever())
    shown = started
    try:
        while (sent := await _sent(sessions)) < total:
            if time.monotonic() - shown > 15:
                progress(f"  {sent:,}/{total:,} sent after {time.monotonic() - started:.0f} s")
                shown = time.monotonic()
            await asyncio.sleep(0.2)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    return time.monotonic() - started


@dataclass(frozen=True)
class RateLimited:
    whole_per_s: float  # all of them over the time from the first to the last
    max_in_one_second: int


def rate_of(stamps: list[datetime]) -> RateLimited:
    ordered = sorted(stamps)
    seconds = [(s - ordered[0]).total_seconds() for s in ordered]
    whole = (len(seconds) - 1) / seconds[-1] if seconds[-1] else float("inf")
    most = 0
    j = 0
    for i, t in enumerate(seconds):
        while seconds[j] <= t - 1.0:
            j += 1
        most = max(most, i - j + 1)
    return RateLimited(whole, most)


def sent_stamps(twilio: Any, first: int) -> list[datetime]:
    """When the stand-in took each message from the `first`-th on."""
    return [m.date_created for m in list(twilio.messages)[first:]]
