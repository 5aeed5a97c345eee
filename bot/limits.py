"""A ceiling on request bodies, so a hostile or broken client cannot make the app hold megabytes in memory."""

from __future__ import annotations

import time
from collections import deque

from starlette.exceptions import HTTPException
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["MAX_BODY_BYTES", "BodySizeLimit", "SlidingWindow"]

# Twilio's webhook carries at most 1,600 characters of text and Telegram's updates at most 4,096, plus their
# fields; a staff form is smaller still. A quarter of a megabyte leaves room for all of them many times over.
MAX_BODY_BYTES = 256 * 1024
TOO_LARGE = "That request is too large."


class BodySizeLimit:
    """Refuses a body over the limit with 413: at once when it says its length, as soon as it passes it otherwise."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await PlainTextResponse(TOO_LARGE, status_code=413)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # Raised inside the route while it reads the body, so nothing has been stored yet.
                    raise HTTPException(status_code=413, detail=TOO_LARGE)
            return message

        await self.app(scope, counted, send)


# Forgetting quiet addresses now and then keeps the table small when many addresses each send a little.
_SWEEP_ABOVE = 10_000


class SlidingWindow:
    """Counts requests per address over the last `window_seconds`, in this process.

    The simulator's rate limit and the login throttle both use it. Taking a place checks and records
    in one step (no await between), so parallel requests cannot all slip in under the limit.
    """

    def __init__(self, window_seconds: float = 60) -> None:
        self.window = window_seconds
        self._seen: dict[str, deque[float]] = {}

    def take(self, address: str, limit: int) -> float | None:
        """Record one request from `address` if it is within `limit`: its place (to give back), or None."""
        now = time.monotonic()
        cutoff = now - self.window
        if len(self._seen) > _SWEEP_ABOVE:
            self._seen = {a: hits for a, hits in self._seen.items() if hits and hits[-1] >= cutoff}
        hits = self._seen.setdefault(address, deque())
        while hits and hits[0] < cutoff:
            hits.popleft()
        if len(hits) >= limit:
            return None  # refused requests are not counted: waiting out the window always lets one through
        hits.append(now)
        return now

    def allow(self, address: str, limit: int) -> bool:
        """Record one request from `address` and say whether it is within `limit` for the window."""
        return self.take(address, limit) is not None

    def give_back(self, address: str, place: float) -> None:
        """Uncount a request taken earlier (a login that turned out to be right)."""
        hits = self._seen.get(address)
        if hits is not None and place in hits:
            hits.remove(place)
