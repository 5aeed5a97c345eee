"""The counters each process keeps for /metrics (bot.metrics serves them): inbound messages and sends.

Per process: Prometheus adds up the processes it scrapes. Label values are enum values and provider
error codes only, never anything a person wrote or is called.
"""

from __future__ import annotations

import re

from prometheus_client import CollectorRegistry, Counter, Histogram

from flows.channels import Channel
from flows.statuses import SendResult

__all__ = ["INBOUND", "INBOUND_SECONDS", "REGISTRY", "SENDS", "record_send"]

# The process's own registry (not the library's global one, which also carries the interpreter's
# collectors): only what an operator of this service needs.
REGISTRY = CollectorRegistry(auto_describe=True)
INBOUND = Counter("referralbot_inbound_messages", "Inbound messages handled, by channel and outcome "
                  "(processed, duplicate, not_stored, failed).", ["channel", "outcome"], registry=REGISTRY)
INBOUND_SECONDS = Histogram("referralbot_inbound_seconds", "Time to store, process and answer one inbound message.",
                            ["channel"], registry=REGISTRY,
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0))
SENDS = Counter("referralbot_sends", "Outbox send attempts by channel and result (accepted, retried, failed); "
                "error is the provider's code or the failure's kind, empty when accepted.",
                ["channel", "result", "error"], registry=REGISTRY)
OUTCOMES = ("processed", "duplicate", "not_stored", "failed")
# Every channel and outcome from the start, at zero: a series that appears only on its first event hides
# the first increase from rate() and from alerts.
for _channel in Channel:
    INBOUND_SECONDS.labels(channel=_channel.value)
    for _outcome in OUTCOMES:
        INBOUND.labels(channel=_channel.value, outcome=_outcome)
# Longest error label kept: a provider code is a few characters; anything longer is cut, never personal.
_ERROR_CHARS = 32
_NOT_LABEL = re.compile(r"[^a-z0-9_]")


def record_send(channel: str, result: SendResult, error: str = "") -> None:
    # One spelling per kind ("connectionerror", "20429"): a label is a small fixed vocabulary, never free text.
    kind = _NOT_LABEL.sub("_", error.lower())[:_ERROR_CHARS]
    SENDS.labels(channel=channel, result=result.value, error=kind).inc()
