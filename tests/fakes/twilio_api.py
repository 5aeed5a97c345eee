"""A stand-in for Twilio's Messages API on loopback, plus signed inbound and status-callback requests.

Create, fetch and list messages; errors, stalls and lost answers on demand.

The real `twilio` client is pointed at it with `bot.twilio_http.make_twilio_client(sid, token, fake.base_url)`.
`StandInServer` (the loopback server plumbing) is shared with `fakes.telegram_api`.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import json
import random
import re
import socket
import sys
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import Message
from email.utils import format_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from uuid import uuid4

import httpx
from twilio.request_validator import RequestValidator

from flows.text import segment_count

__all__ = [
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_AUTH_TOKEN",
    "FakeTwilio",
    "Reply",
    "Request",
    "SentMessage",
    "StandInServer",
    "bad_signature_headers",
    "new_sid",
    "signed_inbound",
]

DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_AUTH_TOKEN = "fedcba9876543210" * 2
API_VERSION = "2010-04-01"
LOOPBACK = "127.0.0.1"

# Twilio's own wording for the errors we produce, so logs in tests read like production logs.
ERROR_MESSAGES: dict[int, str] = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    20503: "Service is unavailable. Please try again",
    21211: "Invalid 'To' Phone Number",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
}
DEFAULT_CODES: dict[int, int] = {401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}

_CREATE_PATH = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages\.json$")
_FETCH_PATH = re.compile(rf"^/{API_VERSION}/Accounts/(?P<account>[^/]+)/Messages/(?P<sid>[^/]+)\.json$")
_SENT_STATUSES = frozenset({"sent", "delivered", "undelivered", "read"})


# ---------------------------------------------------------------------------------------------
# Loopback server plumbing (shared with fakes.telegram_api)


@dataclass(frozen=True)
class Request:
    """One HTTP request as the stand-in saw it."""

    method: str
    path: str
    query: str
    headers: Message
    body: bytes


@dataclass(frozen=True)
class Reply:
    """A JSON answer: status, body and any extra headers; or, with `hang_up`, no answer at all."""

    status: int
    payload: Any
    headers: dict[str, str] = field(default_factory=dict)
    hang_up: bool = False  # close the connection without answering (what the request did stands)


class _Server(ThreadingHTTPServer):
    """A threaded HTTP server that can cut its open keep-alive connections on stop."""

    daemon_threads = True
    # socketserver's default backlog is 5: a client opening dozens of connections at once (as the
    # dispatcher does) would see some refused, which no real provider does.
    request_queue_size = 256

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__((LOOPBACK, 0), handler)
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        """Remember the connection so stop() can close it."""
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        """Forget a connection once its handler is done with it."""
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake handler threads blocked on idle keep-alive connections so they end now."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client hangs up (timeout tests do that on purpose)."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Hands every request to the stand-in and writes its JSON reply."""

    # HTTP/1.1 so clients keep connections alive, as they do with the real services.
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes: with Nagle's algorithm on, the body waits for the client's
    # delayed ACK (about 40 ms on Linux), which capped every client at some 25 requests a second.
    disable_nagle_algorithm = True
    stand_in: StandInServer

    def do_GET(self) -> None:
        """Answer a GET."""
        self._answer()

    def do_POST(self) -> None:
        """Answer a POST."""
        self._answer()

    def _answer(self) -> None:
        """Read the body, ask the stand-in, send the reply."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        reply = self.stand_in.dispatch(Request(self.command, path, query, self.headers, body))
        if reply.hang_up:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        data = json.dumps(reply.payload).encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean: no access log on stderr."""


class StandInServer:
    """A JSON HTTP server on 127.0.0.1 (any free port), served from a background thread.

    A thread rather than the test's event loop, so sync clients (requests) and async clients
    (httpx) in the same process can both reach it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []  # exceptions raised while answering: a bug in the fake

    def handle(self, request: Request) -> Reply:
        """Answer one request (subclasses implement this)."""
        raise NotImplementedError

    def dispatch(self, request: Request) -> Reply:
        """Answer one request; a crash in the fake becomes a loud 500, never a hung client."""
        try:
            return self.handle(request)
        except Exception as exc:
            with self._lock:
                self.errors.append(repr(exc))
            return Reply(500, {"fake_error": repr(exc)})

    def start(self) -> Self:
        """Start serving (does nothing if already running)."""
        if self._server is not None:
            return self
        self._stopping.clear()
        handler = type("Handler", (_Handler,), {"stand_in": self})
        self._server = _Server(handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=type(self).__name__,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut short any stalls and long polls, and close connections."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._server = self._thread = None
        self._stopping.set()
        self.wake()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def wake(self) -> None:
        """Wake anything waiting inside a handler (subclasses with long polls override this)."""

    def pause(self, seconds: float) -> None:
        """Sleep inside a handler; stop() ends the sleep early."""
        self._stopping.wait(seconds)

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """Like http://127.0.0.1:PORT (no trailing slash)."""
        return f"http://{LOOPBACK}:{self.port}"

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


# ---------------------------------------------------------------------------------------------
# Twilio


@dataclass
class SentMessage:
    """A message the app asked Twilio to send."""

    sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    status_callback: str | None
    status: str
    error_code: int | None = None
    date_created: datetime = field(default_factory=lambda: datetime.now(UTC))
    date_sent: datetime | None = None  # set once it is "sent" on to the carrier, as Twilio does


@dataclass(frozen=True)
class _Failure:
    """An error to give the next create request."""

    status: int
    code: int | None
    message: str


@dataclass
class _Flaky:
    """What `FakeTwilio.flaky` decides for each create request: an error status, a stall in seconds, or None."""

    fraction: float
    statuses: tuple[int, ...]
    timeouts: int
    timeout_seconds: float
    most_per_message: int
    rng: random.Random
    failed: Counter[tuple[str, str]] = field(default_factory=Counter)

    def decide(self, key: tuple[str, str]) -> int | float | None:
        if self.failed[key] >= self.most_per_message or self.rng.random() >= self.fraction:
            return None
        self.failed[key] += 1
        if self.timeouts > 0:
            self.timeouts -= 1
            return float(self.timeout_seconds)
        return self.rng.choice(self.statuses)


def new_sid(prefix: str = "SM") -> str:
    """Return a Twilio-style sid: a two-letter prefix and 32 hex digits."""
    return prefix + uuid4().hex


def twilio_error(status: int, code: int | None = None, message: str | None = None) -> Reply:
    """Return Twilio's error body: code, message, more_info, status."""
    code = DEFAULT_CODES.get(status) if code is None else code
    if message is None:
        message = ERROR_MESSAGES.get(code or 0) or HTTPStatus(status).phrase
    more_info = f"https://www.twilio.com/docs/errors/{code}" if code else None
    payload = {"code": code, "message": message, "more_info": more_info, "status": status}
    headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if status == 401 else {}
    return Reply(status, payload, headers)


def _rfc2822_now() -> str:
    """Return the time now as Twilio writes dates: 'Tue, 04 Mar 2025 10:00:00 +0000'."""
    return format_datetime(datetime.now(UTC).replace(microsecond=0))


class FakeTwilio(StandInServer):
    """Twilio's Messages API: create (and fetch) messages, Basic auth, errors on demand."""

    def __init__(self, account_sid: str = DEFAULT_ACCOUNT_SID, auth_token: str = DEFAULT_AUTH_TOKEN) -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[SentMessage] = []
        self.attempts = 0  # every create request, including refused ones
        self.lookups = 0  # every list request
        self._failures: deque[_Failure] = deque()
        self._stalls: deque[float] = deque()
        self._late_answers: deque[float | None] = deque()  # after recording: seconds to wait, or None to hang up
        self._unsubscribed: set[str] = set()
        self._flaky: _Flaky | None = None
        self.tries: dict[tuple[str, str], list[float]] = {}  # (to, body): when each create request for it came
        self.refused = 0  # create requests refused by `flaky` (its timeouts not included)
        self.timed_out = 0  # create requests `flaky` held past the client's patience

    # -- control from tests ---------------------------------------------------------------------

    def fail_next(self, status: int, code: int | None = None, message: str | None = None, times: int = 1) -> None:
        """Give the next `times` create requests this HTTP status and Twilio error body."""
        with self._lock:
            self._failures.extend([_Failure(status, code, message or "")] * times)

    def stall_next(self, seconds: float, times: int = 1) -> None:
        """Make the next `times` create requests wait `seconds` before answering."""
        with self._lock:
            self._stalls.extend([seconds] * times)

    def drop_response_next(self, times: int = 1) -> None:
        """Take the next `times` messages, then hang up without answering: accepted, but the answer is lost."""
        with self._lock:
            self._late_answers.extend([None] * times)

    def delay_response_next(self, seconds: float, times: int = 1) -> None:
        """Take the next `times` messages, then wait `seconds` before answering (stop() cuts the wait short)."""
        with self._lock:
            self._late_answers.extend([seconds] * times)

    def flaky(self, fraction: float = 1 / 3, statuses: tuple[int, ...] = (429, 500), *, timeouts: int = 0,
              timeout_seconds: float = 0.0, most_per_message: int = 2, seed: int = 0) -> None:
        """From now on refuse about `fraction` of create requests at random with one of `statuses`.

        The first `timeouts` of those refusals are instead stalls of `timeout_seconds` (longer than the
        client waits), after which the message is taken, as when Twilio is slow rather than down. No
        message is refused more than `most_per_message` times, so every one gets through in the end.
        """
        with self._lock:
            self._flaky = _Flaky(fraction, statuses, timeouts, timeout_seconds, most_per_message, random.Random(seed))

    def late_answers_pending(self) -> int:
        """Return how many dropped or delayed answers are still waiting for a message to apply to."""
        with self._lock:
            return len(self._late_answers)

    def unsubscribe(self, number: str) -> None:
        """Refuse every later message to `number` with 21610, as Twilio does after STOP."""
        with self._lock:
            self._unsubscribed.add(number)

    def resubscribe(self, number: str) -> None:
        """Allow messages to `number` again, as Twilio does after START."""
        with self._lock:
            self._unsubscribed.discard(number)

    def message(self, sid: str) -> SentMessage:
        """Return the recorded message with this sid (KeyError if none)."""
        with self._lock:
            for sent in self.messages:
                if sent.sid == sid:
                    return sent
        raise KeyError(sid)

    def sent_to(self, number: str) -> list[SentMessage]:
        """Return the messages sent to `number`, oldest first."""
        with self._lock:
            return [sent for sent in self.messages if sent.to == number]

    def bodies(self) -> list[str]:
        """Return every sent body, oldest first."""
        with self._lock:
            return [sent.body for sent in self.messages]

    def sent_count(self) -> int:
        """Return how many messages have been taken so far."""
        with self._lock:
            return len(self.messages)

    # -- the API ----------------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        """Route a request: create, list or fetch messages, else Twilio's 404."""
        if request.method == "POST" and (match := _CREATE_PATH.match(request.path)):
            return self._create(request, match["account"])
        if request.method == "GET" and (match := _CREATE_PATH.match(request.path)):
            return self._list(request, match["account"])
        if request.method == "GET" and (match := _FETCH_PATH.match(request.path)):
            return self._fetch(request, match["account"], match["sid"])
        return twilio_error(404, 20404, f"The requested resource {request.path} was not found")

    def _authorized(self, request: Request, account: str) -> bool:
        """True if Basic auth names this account with its token, and the path names it too."""
        header = request.headers.get("Authorization") or ""
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            given = base64.b64decode(encoded, validate=True).decode()
        except ValueError:
            return False
        expected = f"{self.account_sid}:{self.auth_token}"
        return hmac.compare_digest(given.encode(), expected.encode()) and account == self.account_sid

    def _create(self, request: Request, account: str) -> Reply:
        """Create a message, unless a stall, auth, an injected failure or validation says otherwise."""
        with self._lock:
            self.attempts += 1
            stall = self._stalls.popleft() if self._stalls else 0.0
        if stall:
            self.pause(stall)
        if not self._authorized(request, account):
            return twilio_error(401, 20003)
        form = dict(parse_qsl(request.body.decode(), keep_blank_values=True))
        key = (form.get("To", ""), form.get("Body", ""))
        with self._lock:
            self.tries.setdefault(key, []).append(time.monotonic())
            failure = self._failures.popleft() if self._failures else None
            flake = self._flaky.decide(key) if failure is None and self._flaky is not None else None
            if isinstance(flake, int):
                self.refused += 1
            elif flake is not None:
                self.timed_out += 1
        if failure is not None:
            return twilio_error(failure.status, failure.code, failure.message or None)
        if isinstance(flake, int):
            return twilio_error(flake)
        if flake is not None:
            self.pause(flake)  # the client has given up by now; the message is taken all the same
        refusal = self._refusal(form)
        if refusal is not None:
            return refusal
        sent = self._record(form)
        with self._lock:
            late = self._late_answers.popleft() if self._late_answers else 0.0
        if late is None:
            return Reply(0, None, hang_up=True)
        if late:
            self.pause(late)
        return Reply(201, self._resource(sent))

    def _refusal(self, form: dict[str, str]) -> Reply | None:
        """Return Twilio's 400 for a create request it would refuse, else None."""
        if not form.get("To"):
            return twilio_error(400, 21604)
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return twilio_error(400, 21603)
        if not form.get("Body") and not form.get("MediaUrl"):
            return twilio_error(400, 21602)
        with self._lock:
            unsubscribed = form["To"] in self._unsubscribed
        return twilio_error(400, 21610) if unsubscribed else None

    def _record(self, form: dict[str, str]) -> SentMessage:
        """Store a new message and return it."""
        service = form.get("MessagingServiceSid") or None
        sent = SentMessage(
            sid=new_sid("SM"),
            to=form["To"],
            from_=form.get("From") or None,
            messaging_service_sid=service,
            body=form.get("Body", ""),
            status_callback=form.get("StatusCallback") or None,
            # Twilio says "accepted" while a messaging service still has to pick a sender.
            status="accepted" if service and not form.get("From") else "queued",
        )
        with self._lock:
            self.messages.append(sent)
        return sent

    def _fetch(self, request: Request, account: str, sid: str) -> Reply:
        """Return a recorded message's resource, or Twilio's 404."""
        if not self._authorized(request, account):
            return twilio_error(401, 20003)
        try:
            return Reply(200, self._resource(self.message(sid)))
        except KeyError:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")

    def _list(self, request: Request, account: str) -> Reply:
        """Return one page of messages, newest first, filtered by To, From and DateSent as Twilio filters."""
        if not self._authorized(request, account):
            return twilio_error(401, 20003)
        query = dict(parse_qsl(request.query, keep_blank_values=True))
        try:
            keep = _list_filter(query)
            page, size = int(query.get("Page", "0")), min(1000, int(query.get("PageSize", "50")))
        except ValueError as exc:
            return twilio_error(400, 20001, f"Invalid filter: {exc}")
        with self._lock:
            self.lookups += 1
            found = [sent for sent in reversed(self.messages) if keep(sent)]
        chunk = found[page * size:(page + 1) * size]
        more = len(found) > (page + 1) * size
        return Reply(200, self._page(request.path, query, page, size, chunk, more))

    def _page(self, path: str, query: dict[str, str], page: int, size: int, chunk: list[SentMessage],
              more: bool) -> dict[str, Any]:
        """Return Twilio's list shape: the records under "messages" and the paging fields beside them."""
        filters = {name: value for name, value in query.items() if name not in ("Page", "PageSize", "PageToken")}

        def uri(number: int) -> str:
            return f"{path}?{urlencode({**filters, 'PageSize': size, 'Page': number})}"

        return {
            "messages": [self._resource(sent) for sent in chunk],
            "page": page,
            "page_size": size,
            "start": page * size,
            "end": page * size + max(0, len(chunk) - 1),
            "uri": uri(page),
            "first_page_uri": uri(0),
            "previous_page_uri": uri(page - 1) if page > 0 else None,
            "next_page_uri": uri(page + 1) if more else None,
        }

    def _resource(self, sent: SentMessage) -> dict[str, Any]:
        """Return the Message resource JSON as Twilio shapes it."""
        now = _rfc2822_now()
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sent.sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": sent.body,
            "date_created": format_datetime(sent.date_created.replace(microsecond=0)),
            "date_sent": format_datetime(sent.date_sent.replace(microsecond=0)) if sent.date_sent else None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": sent.error_code,
            "error_message": None,
            "from": sent.from_,
            "messaging_service_sid": sent.messaging_service_sid,
            "num_media": "0",
            "num_segments": str(segment_count(sent.body)),
            "price": None,
            "price_unit": "USD",
            "sid": sent.sid,
            "status": sent.status,
            "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
            "to": sent.to,
            "uri": f"{uri}.json",
        }

    # -- status callbacks -----------------------------------------------------------------------

    def status_request(
        self, sid: str, status: str, error_code: int | None = None, *, deliver_to: str | None = None
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """Record a new status and return the callback Twilio would send: (target URL, form, headers).

        The signature covers the StatusCallback URL the app gave; `deliver_to` (like
        http://127.0.0.1:8123) only changes where the request actually goes.
        """
        sent = self.message(sid)
        if not sent.status_callback:
            raise ValueError(f"message {sid} was created without a StatusCallback")
        with self._lock:
            sent.status, sent.error_code = status, error_code
            if status in _SENT_STATUSES and sent.date_sent is None:
                sent.date_sent = datetime.now(UTC)
        params = self._status_params(sent, status, error_code)
        signature = RequestValidator(self.auth_token).compute_signature(sent.status_callback, params)
        target = _redirect(sent.status_callback, deliver_to)
        return target, params, {"X-Twilio-Signature": signature}

    def _status_params(self, sent: SentMessage, status: str, error_code: int | None) -> dict[str, str]:
        """Return the form Twilio posts to a StatusCallback."""
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "MessageSid": sent.sid,
            "MessageStatus": status,
            "SmsSid": sent.sid,
            "SmsStatus": status,
            "To": sent.to,
        }
        if sent.from_:
            params["From"] = sent.from_
        if sent.messaging_service_sid:
            params["MessagingServiceSid"] = sent.messaging_service_sid
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return params

    def send_status(
        self,
        sid: str,
        status: str,
        error_code: int | None = None,
        *,
        deliver_to: str | None = None,
        client: httpx.Client | None = None,
    ) -> httpx.Response:
        """POST a signed status callback, synchronously (a Starlette TestClient may be `client`)."""
        target, params, headers = self.status_request(sid, status, error_code, deliver_to=deliver_to)
        if client is not None:
            return client.post(target, data=params, headers=headers)
        _require_loopback(target)
        return httpx.post(target, data=params, headers=headers, timeout=10)

    async def asend_status(
        self,
        sid: str,
        status: str,
        error_code: int | None = None,
        *,
        deliver_to: str | None = None,
        client: httpx.AsyncClient | None = None,
    ) -> httpx.Response:
        """POST a signed status callback from async code (an ASGI-transport client may be `client`)."""
        target, params, headers = self.status_request(sid, status, error_code, deliver_to=deliver_to)
        if client is not None:
            return await client.post(target, data=params, headers=headers)
        _require_loopback(target)
        async with httpx.AsyncClient(timeout=10) as own:
            return await own.post(target, data=params, headers=headers)


def _list_filter(query: dict[str, str]) -> Any:
    """Return a predicate for Twilio's list filters: To, From, DateSent, DateSent< and DateSent> (inclusive).

    As at Twilio, a date filter leaves out messages not yet sent on (no date_sent).
    """
    to, from_ = query.get("To"), query.get("From")
    on, before, after = (_when(query.get(name)) for name in ("DateSent", "DateSent<", "DateSent>"))

    def keep(sent: SentMessage) -> bool:
        if (to and sent.to != to) or (from_ and sent.from_ != from_):
            return False
        if on is None and before is None and after is None:
            return True
        if sent.date_sent is None:
            return False
        return ((on is None or _same(sent.date_sent, on)) and (before is None or _at_or_before(sent.date_sent, before))
                and (after is None or _at_or_after(sent.date_sent, after)))

    return keep


def _when(raw: str | None) -> date | datetime | None:
    """Parse a DateSent value: YYYY-MM-DD, or YYYY-MM-DDTHH:MM:SSZ as the twilio library sends datetimes."""
    if not raw:
        return None
    if "T" in raw:
        return datetime.strptime(raw, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return date.fromisoformat(raw)


def _same(moment: datetime, when: date | datetime) -> bool:
    return moment.date() == (when.date() if isinstance(when, datetime) else when)


def _at_or_before(moment: datetime, when: date | datetime) -> bool:
    return moment <= when if isinstance(when, datetime) else moment.date() <= when


def _at_or_after(moment: datetime, when: date | datetime) -> bool:
    return moment >= when if isinstance(when, datetime) else moment.date() >= when


def _redirect(url: str, deliver_to: str | None) -> str:
    """Return `url` with scheme, host and port taken from `deliver_to` (if given)."""
    if not deliver_to:
        return url
    original, target = urlsplit(url), urlsplit(deliver_to)
    return urlunsplit((target.scheme, target.netloc, original.path, original.query, ""))


def _require_loopback(url: str) -> None:
    """Refuse to send anywhere but 127.0.0.1: tests must never reach the network."""
    host = urlsplit(url).hostname
    if host != LOOPBACK:
        raise ValueError(f"refusing to POST to {url!r}: pass deliver_to='http://127.0.0.1:PORT'")


# ---------------------------------------------------------------------------------------------
# Inbound messages (a phone texting the app)


def signed_inbound(
    url: str,
    auth_token: str,
    *,
    From: str,
    To: str,
    Body: str,
    MessageSid: str | None = None,
    **extra: str,
) -> tuple[dict[str, str], dict[str, str]]:
    """Return (form, headers) for an inbound SMS webhook to `url`, signed as Twilio signs it."""
    sid = MessageSid or new_sid("SM")
    params = {
        "AccountSid": DEFAULT_ACCOUNT_SID,
        "ApiVersion": API_VERSION,
        "Body": Body,
        "From": From,
        "MessageSid": sid,
        "NumMedia": "0",
        "NumSegments": str(segment_count(Body)),
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "SmsStatus": "received",
        "To": To,
    }
    params.update({name: str(value) for name, value in extra.items()})
    signature = RequestValidator(auth_token).compute_signature(url, params)
    return params, {"X-Twilio-Signature": signature}


def bad_signature_headers() -> dict[str, str]:
    """Return a well-formed X-Twilio-Signature that matches nothing."""
    return {"X-Twilio-Signature": base64.b64encode(b"\0" * 20).decode()}
