"""What a send attempt came to, in the terms the dispatcher acts on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from flows.statuses import OutboundStatus
from store.outbox import Claimed

__all__ = ["Accepted", "Retry", "Failed", "Result", "Sender"]


@dataclass(frozen=True)
class Accepted:
    """The provider took the message."""

    provider_id: str
    status: OutboundStatus


@dataclass(frozen=True)
class Retry:
    """A failure worth trying again (rate limit, server error, time-out), after `after_seconds` if known."""

    error: str
    after_seconds: float | None = None


@dataclass(frozen=True)
class Failed:
    """A failure that will not go away by trying again; `blocked` means the recipient shut us out."""

    error: str
    blocked: bool = False


Result = Accepted | Retry | Failed


class Sender(Protocol):
    """Sends one claimed outbox message on one channel."""

    async def send(self, message: Claimed) -> Result: ...
