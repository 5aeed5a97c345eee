"""A ceiling on simulator messages from one client address, so nobody can script the bot at speed."""

from __future__ import annotations

import time
from collections import deque

__all__ = ["SlidingWindow"]

# Forgetting quiet addresses now and then keeps the table small when many addresses each send a little.
_SWEEP_ABOVE = 10_000


class SlidingWindow:
    """Counts requests per address over the last `window_seconds`; kept in this process, like the login throttle."""

    def __init__(self, window_seconds: float = 60) -> None:
        self.window = window_seconds
        self._seen: dict[str, deque[float]] = {}

    def allow(self, address: str, limit: int) -> bool:
        """Record one request from `address` and say whether it is within `limit` for the window."""
        now = time.monotonic()
        cutoff = now - self.window
        if len(self._seen) > _SWEEP_ABOVE:
            self._seen = {a: hits for a, hits in self._seen.items() if hits and hits[-1] >= cutoff}
        hits = self._seen.setdefault(address, deque())
        while hits and hits[0] < cutoff:
            hits.popleft()
        if len(hits) >= limit:
            return False  # refused requests are not counted: waiting a minute always lets one through
        hits.append(now)
        return True
