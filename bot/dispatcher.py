"""The dispatcher: sends what the outbox holds, a bounded number at a time, and records what came of it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.counters import record_send
from bot.delivery import Accepted, Failed, Retry, Sender
from flows.channels import PHONE_CHANNELS, Channel
from flows.statuses import AppointmentStatus, OutboundStatus, SendResult
from store.contacts import set_blocked, set_opted_out
from store.models import Appointment
from store.outbox import (
    STALE_SENDING,
    Claimed,
    claim_due,
    mark_accepted_many,
    mark_failed,
    mark_retry,
    next_due,
    recipient_of,
    renew_claim,
    untried,
)

__all__ = ["Dispatcher"]

log = logging.getLogger("referral_bot.dispatcher")

BATCH = 100
CONCURRENCY = 64  # SMS_CONCURRENCY's default: sends in flight at once


class Dispatcher:
    """One per process; several processes share the outbox safely on PostgreSQL.

    `stale_after` is how long a message may stay `sending` before another worker takes it
    (OUTBOX_STALE_SECONDS): every process sharing the outbox should use the same value.
    """

    def __init__(self, sessions: async_sessionmaker[AsyncSession], senders: Mapping[Channel, Sender],
                 poll_seconds: float = 1.0, stale_after: timedelta = STALE_SENDING,
                 concurrency: int = CONCURRENCY) -> None:
        self._sessions = sessions
        self._senders = dict(senders)
        self._poll = poll_seconds
        self._stale_after = stale_after
        self._wake = asyncio.Event()
        self._concurrency = concurrency
        self._limit = asyncio.Semaphore(concurrency)
        # Sends the provider took, waiting to be recorded together (one transaction for all of them).
        self._accepted: list[tuple[Claimed, Accepted, asyncio.Future[None]]] = []
        self._recorder: asyncio.Task[None] | None = None
        self._held: set[int] = set()  # claimed by this dispatcher and not yet done with

    @property
    def channels(self) -> list[Channel]:
        return list(self._senders)

    def kick(self) -> None:
        """Something new is due: don't wait for the next poll."""
        self._wake.set()

    async def send_now(self, ids: Sequence[int]) -> None:
        """Send these messages at once and in order (a chat reply); what fails stays for the loop to retry."""
        remaining = list(ids)
        while remaining:
            # Each round takes the next of this person's messages; a failure leaves the rest waiting behind it.
            if not await self.run_once(ids=remaining):
                break
            async with self._sessions() as db:
                remaining = await untried(db, remaining)
        if ids:
            self.kick()

    async def run_once(self, ids: Sequence[int] | None = None, limit: int = BATCH) -> int:
        """Claim and send one batch of due messages; how many were claimed."""
        claimed = await self._claim(limit, ids)
        await asyncio.gather(*(self._send(message) for message in claimed))
        return len(claimed)

    async def _claim(self, limit: int, ids: Sequence[int] | None = None) -> list[Claimed]:
        if not self._senders:
            return []
        now = datetime.now(UTC)
        async with self._sessions() as db, db.begin():
            return await claim_due(db, now, limit, ids=ids, channels=self.channels, stale_after=self._stale_after,
                                   exclude=self._held)

    async def _send(self, message: Claimed) -> None:
        self._held.add(message.id)
        try:
            await self._send_held(message)
        finally:
            self._held.discard(message.id)

    async def _send_held(self, message: Claimed) -> None:
        sender = self._senders[message.channel]
        async with self._limit:
            # The rate limit first, then the claim renewed: a wait for the limit cannot outlast the claim.
            pace = getattr(sender, "pace", None)
            if pace is not None:
                await pace()
            if not await self._ready(message):
                return
            try:
                result = await sender.send(message)
            except Exception:
                log.exception("sender crashed outbox=%s channel=%s", message.id, message.channel)
                result = Retry("sender_error")
        if isinstance(result, Accepted):
            await self._record_accepted(message, result)
            return
        now = datetime.now(UTC)
        async with self._sessions() as db, db.begin():
            if isinstance(result, Retry):
                record_send(message.channel.value, SendResult.RETRIED, result.error)
                after = None if result.after_seconds is None else timedelta(seconds=result.after_seconds)
                await mark_retry(db, message.id, message.attempts, result.error, now, after)
            elif isinstance(result, Failed):
                record_send(message.channel.value, SendResult.FAILED, result.error)
                await mark_failed(db, message.id, result.error, now, attempts=message.attempts)
                if result.blocked:
                    await self._shut_out(db, message, now)

    async def _record_accepted(self, message: Claimed, result: Accepted) -> None:
        """Record a send the provider took, with any others that finish meanwhile: one commit for many.

        Until it is recorded the message stays claimed, and a claim that lapses is looked for at the
        provider before any resend, so waiting a moment for company changes nothing about exactly once.
        """
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._accepted.append((message, result, done))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_all_accepted())
        await asyncio.shield(done)

    async def _record_all_accepted(self) -> None:
        while self._accepted:
            batch, self._accepted = self._accepted, []
            try:
                async with self._sessions() as db, db.begin():
                    await mark_accepted_many(db, [(message.id, result.provider_id, result.status)
                                                  for message, result, _ in batch], datetime.now(UTC))
            except Exception as exc:
                for _, _, done in batch:
                    done.set_exception(exc)
                    done.exception()  # retrieved here too: the sender it was for may be gone
                continue
            for message, _, done in batch:
                record_send(message.channel.value, SendResult.ACCEPTED)
                done.set_result(None)

    async def _ready(self, message: Claimed) -> bool:
        """Still ours and still wanted: renew an ageing claim, check the recipient and the session."""
        now = datetime.now(UTC)
        # A claim younger than half the stale time cannot have been taken by another worker (unless the
        # hosts' clocks differ by more than that): with nothing else to check, no transaction is needed.
        fresh = now - message.claimed_at < self._stale_after / 2
        if fresh and not message.blocked and message.appointment_id is None:
            return True
        async with self._sessions() as db, db.begin():
            # Renewed here, not only at claim time: a batch waits its turn (the semaphore, the rate limit),
            # and a claim that went stale meanwhile may already be another worker's to send.
            if not await renew_claim(db, message.id, message.attempts, now):
                log.info("outbox claim taken over by another worker outbox=%s", message.id)
                return False
            if message.blocked:
                await mark_failed(db, message.id, "opted_out", now, OutboundStatus.SUPPRESSED)
                return False
            if message.appointment_id is not None:
                return await self._session_still_ahead(db, message, now)
        return True

    async def _session_still_ahead(self, db: AsyncSession, message: Claimed, now: datetime) -> bool:
        """A reminder for a session that was cancelled, or has started, is not sent (missed, not late)."""
        appointment = await db.get(Appointment, message.appointment_id)
        if appointment is None or appointment.status == AppointmentStatus.CANCELLED:
            await mark_failed(db, message.id, "session_cancelled", now, OutboundStatus.CANCELLED)
            return False
        if appointment.starts_at <= now:
            await mark_failed(db, message.id, "session_started", now, OutboundStatus.MISSED)
            log.info("reminder missed outbox=%s", message.id)
            return False
        return True

    async def _shut_out(self, db: AsyncSession, message: Claimed, now: datetime) -> None:
        """The provider says this recipient refuses messages: stop writing to them until they write to us."""
        contact = await recipient_of(db, message.id)
        if contact is None:
            return
        if message.channel in PHONE_CHANNELS:
            await set_opted_out(db, contact, True, now)  # Twilio 21610: the number sent STOP
        else:
            await set_blocked(db, contact, True, now)  # Telegram 403: the user blocked the bot

    async def run_forever(self) -> None:
        """Keep up to `concurrency` sends in flight and as many claimed behind them.

        Claims are topped up as sends finish rather than batch by batch: waiting for a whole batch
        to finish would leave the slots idle behind its slowest send (and, under the rate limit, leave
        a gap in the spacing at every batch's end).
        """
        sending: set[asyncio.Task[None]] = set()
        try:
            while True:
                room = 2 * self._concurrency - len(sending)
                claimed: list[Claimed] = []
                if len(sending) <= self._concurrency:
                    try:
                        claimed = await self._claim(min(BATCH, room))
                    except Exception:
                        log.exception("dispatcher batch failed")
                for message in claimed:
                    task = asyncio.create_task(self._send_logged(message))
                    sending.add(task)
                    task.add_done_callback(sending.discard)
                if len(sending) > self._concurrency:
                    # Enough waiting behind the sends in flight: claim again once some have finished.
                    await asyncio.wait(set(sending), return_when=asyncio.FIRST_COMPLETED)
                    continue
                if claimed:
                    continue
                idle = await self._idle_seconds()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=idle)
                self._wake.clear()
        finally:
            for task in sending:
                task.cancel()
            await asyncio.gather(*sending, return_exceptions=True)

    async def _send_logged(self, message: Claimed) -> None:
        try:
            await self._send(message)
        except Exception:
            # Recording the result failed: the claim lapses and the message is looked for before a resend.
            log.exception("dispatcher send failed outbox=%s", message.id)
        finally:
            # The same person's next message may be due now that this one is done.
            self._wake.set()

    async def _idle_seconds(self) -> float:
        """Sleep until the poll interval, or until the next retry falls due if that is sooner."""
        try:
            async with self._sessions() as db:
                due = await next_due(db)
        except Exception:
            return self._poll
        if due is None:
            return self._poll
        return max(0.01, min(self._poll, (due - datetime.now(UTC)).total_seconds()))
