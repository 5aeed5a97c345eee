"""Outbound SMS through Twilio's REST API, with a delivery-status callback.

Exactly once: a message tried before (`Claimed.may_have_gone`) is first looked for at Twilio, and
recorded with the sid found there instead of being sent again. The one exception is a message whose
last try Twilio refused outright (429): that try created nothing, and every try before it was either
refused too or looked up before it was made, so there is nothing to find and the lookup is skipped.

At most SMS_RATE_PER_SECOND messages a second leave each process, evenly spaced (one limit shared by
the dispatcher's concurrent sends). The twilio client blocks (requests), so each sender has its own
pool of SMS_CONCURRENCY threads: up to that many calls in flight, without taking the threads asyncio's
default pool keeps for everything else (database adapters, DNS).

The rate limit is per process, not shared: with the web app and N workers all sending, Twilio may see
(N + 1) x the rate, so set it to the number's limit divided by the number of sending processes.
Going over is not an error at Twilio (it queues the excess), only a delay.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TypeVar

import requests
from twilio.base.exceptions import TwilioRestException

from bot.delivery import Accepted, Failed, Result, Retry
from bot.settings import Settings
from bot.twilio_http import make_twilio_client
from flows.channels import Channel
from flows.statuses import OutboundStatus
from store.outbox import Claimed

__all__ = ["STATUS_PATH", "RateLimit", "SmsSender"]

log = logging.getLogger("referral_bot.sms")
# The twilio client logs each request's query at INFO, and a lookup's query is a phone number: keep
# that logger quiet whatever the root logger's level (no personal data in logs).
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)

STATUS_PATH = "/sms/status"

# How many of the newest messages to a number are searched for one that may already have gone. Nothing
# else of ours goes to that person while it is unresolved (the outbox keeps one person's messages in
# order), so it is among the newest few.
LOOKUP_LIMIT = 20
# Twilio's clock and ours differ a little, and its date_created is whole seconds.
CLOCK_MARGIN = timedelta(minutes=2)
_T = TypeVar("_T")
# Errors (as `_classify` records them) of a try Twilio answered by refusing: it certainly created nothing.
REFUSED_OUTRIGHT = frozenset({"429", "20429"})
# Statuses recorded as Twilio gives them; any other (still on its way: sending, scheduled) is "queued",
# which delivery reports then move forward. "sending" in particular must not be stored: it is ours.
_RECORDED_AS_GIVEN = frozenset({OutboundStatus.ACCEPTED, OutboundStatus.QUEUED, OutboundStatus.SENT,
                                OutboundStatus.DELIVERED, OutboundStatus.UNDELIVERED, OutboundStatus.FAILED})


def _recorded(status: object) -> OutboundStatus:
    """Twilio's status for a message it has, as we store it: as given if listed above, else queued."""
    given = str(status or "")
    return OutboundStatus(given) if given in _RECORDED_AS_GIVEN else OutboundStatus.QUEUED


class RateLimit:
    """An async rate limit: `take()` returns at most `rate` times in any one second, and evenly.

    A schedule of one return every 1/rate seconds, under a hard sliding window on the times it did
    return (`released`): at most N = floor(rate) in any N/rate seconds, so never more than `rate` in
    any one second, from the very first (a token bucket that starts full lets `rate` out at once and
    `rate` more within the same second). While sends queue up, one made late by a busy event loop is
    made up by the next ones coming sooner (down to half the spacing, and only as far as the window
    allows), so the rate reached does not drift below `rate`; after a quiet spell nothing is saved up.
    The spacing and window are a little longer than 1/rate (HEADROOM), so the few milliseconds a
    request may lose or gain on its way to Twilio cannot put one too many into a second there either.
    """

    HEADROOM = 1.02

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_window = max(1, math.floor(rate))
        self.window = self.per_window / rate * self.HEADROOM
        self._spacing = self.HEADROOM / rate
        self._due = -math.inf
        self._clock = clock
        self._lock = asyncio.Lock()
        self._waiting = 0
        # When take() returned, on `clock`, newest last (the window needs the last `per_window`).
        self.released: deque[float] = deque(maxlen=max(4096, self.per_window))

    async def take(self) -> None:
        # One waiter at a time, in arrival order (asyncio.Lock is fair), so no send starves.
        self._waiting += 1
        try:
            async with self._lock:
                while (wait := self._next_at() - self._clock()) > 0:
                    await asyncio.sleep(wait)
                now = self._clock()
                # Behind schedule with others waiting: keep to it (catch up). Else it starts again from now.
                self._due = (self._due if self._waiting > 1 else max(self._due, now)) + self._spacing
                self.released.append(now)
        finally:
            self._waiting -= 1

    def _next_at(self) -> float:
        if not self.released:
            return -math.inf
        at = max(self._due, self.released[-1] + self._spacing / 2)
        if len(self.released) >= self.per_window:
            at = max(at, self.released[-self.per_window] + self.window)
        return at


class SmsSender:
    """Creates messages with the official client; classifies failures as retryable or permanent."""

    def __init__(self, settings: Settings) -> None:
        self._client = make_twilio_client(settings.twilio_account_sid, settings.twilio_auth_token.get_secret_value(),
                                          settings.twilio_api_base_url, connections=settings.sms_concurrency)
        self._from = settings.twilio_from_number
        self._service = settings.twilio_messaging_service_sid
        self._callback = settings.public_base_url + STATUS_PATH
        self.rate_limit = RateLimit(settings.sms_rate_per_second)
        self._threads = ThreadPoolExecutor(max_workers=settings.sms_concurrency, thread_name_prefix="sms")

    async def pace(self) -> None:
        """Wait for the rate limit: the dispatcher calls this before it renews its claim and calls `send`."""
        await self.rate_limit.take()

    async def _in_thread(self, call: Callable[..., _T], *args: object) -> _T:
        """Run a blocking twilio call on this sender's own threads, off the event loop."""
        return await asyncio.get_running_loop().run_in_executor(self._threads, call, *args)

    def _create(self, to: str, body: str) -> tuple[str, OutboundStatus]:
        sender = {"messaging_service_sid": self._service} if self._service else {"from_": self._from}
        message = self._client.messages.create(to=to, body=body, status_callback=self._callback, **sender)
        return str(message.sid), _recorded(message.status)

    def _find_sent(self, to: str, message: Claimed) -> tuple[str, OutboundStatus] | None:
        """The sid and status of this message if Twilio already has it, else None."""
        # Not `date_sent_after`, the only date filter Twilio's list offers: a message still queued at
        # Twilio (as one whose answer was just lost may well be) has no date_sent and would not be
        # listed. Instead the newest messages to the number, newest first, and date_created here.
        since = message.created_at - CLOCK_MARGIN
        for sent in self._client.messages.list(to=to, limit=LOOKUP_LIMIT):
            if sent.sid in message.others_sent or sent.body != message.body:
                continue
            if not str(sent.direction or "outbound").startswith("outbound"):
                continue
            if sent.date_created is not None and sent.date_created < since:
                continue
            return str(sent.sid), _recorded(sent.status)
        return None

    async def send(self, message: Claimed) -> Result:
        to = f"whatsapp:{message.to}" if message.channel == Channel.WHATSAPP else message.to
        if message.may_have_gone and (message.reclaimed or message.last_error not in REFUSED_OUTRIGHT):
            try:
                found = await self._in_thread(self._find_sent, to, message)
            except (TwilioRestException, requests.RequestException) as exc:
                # Not knowing whether it went, don't send it: try again later (failed once tries run out).
                error = str(exc.code or exc.status) if isinstance(exc, TwilioRestException) else type(exc).__name__
                log.warning("sms lookup before resend failed outbox=%s error=%s", message.id, error)
                return Retry(f"lookup_{error}")
            if found is not None:
                return self._reconciled(message, *found)
        try:
            sid, status = await self._in_thread(self._create, to, message.body)
        except TwilioRestException as exc:
            return _classify(message, exc)
        except requests.RequestException as exc:
            # Includes an answer lost after Twilio took the message: the next try looks before sending.
            log.warning("sms send network error outbox=%s error=%s", message.id, type(exc).__name__)
            return Retry(type(exc).__name__)
        return Accepted(sid, status)

    def _reconciled(self, message: Claimed, sid: str, status: OutboundStatus) -> Accepted:
        log.info("sms reconciled, not resent outbox=%s attempt=%d reclaimed=%s", message.id, message.attempts,
                 message.reclaimed)
        return Accepted(sid, status)


def _classify(message: Claimed, exc: TwilioRestException) -> Result:
    """Twilio's refusal, as retryable (rate limit, its own errors) or permanent."""
    code = str(exc.code or exc.status)
    if exc.status == 429 or exc.status >= 500:
        log.warning("sms send retryable outbox=%s status=%s code=%s", message.id, exc.status, code)
        return Retry(code)
    log.warning("sms send failed outbox=%s status=%s code=%s", message.id, exc.status, code)
    return Failed(code, blocked=exc.code == 21610)
