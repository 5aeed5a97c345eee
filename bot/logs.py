"""Application logging: events, states, ids and references only (see tests for the proof)."""

from __future__ import annotations

import logging
import sys

__all__ = ["configure_logging"]


def configure_logging(level: str = "INFO") -> None:
    """Plain one-line records on stderr; uvicorn's access log is off because URLs are our business only."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger("referral_bot")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
