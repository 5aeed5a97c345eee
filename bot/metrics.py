"""/metrics for operators, in Prometheus's format: off unless METRICS_TOKEN is set, then asked for with it.

Counters and the latency histogram are kept per process (each app process counts what it handled,
and Prometheus adds them up across the processes it scrapes); the outbox, alerts and queue gauges are
read from the database at scrape time, so any one process gives the whole picture. Every label value
is an enum value (a channel, an outcome, a status) or a provider's error code: nothing personal.
"""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from bot.counters import REGISTRY
from bot.runtime import RuntimeDep
from flows.process import Status as ReferralStatus
from flows.statuses import OutboundStatus
from store.gauges import WAITING, read_gauges

__all__ = ["METRICS_PATH", "router"]

log = logging.getLogger("referral_bot.metrics")

METRICS_PATH = "/metrics"
router = APIRouter()

def _allowed(request: Request, token: str) -> bool:
    given = request.headers.get("Authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def _database_gauges(registry: CollectorRegistry) -> tuple[Gauge, Gauge, Gauge, Gauge, Gauge]:
    return (
        Gauge("referralbot_outbox_depth", "Outbox messages waiting or being sent, by status.", ["status"],
              registry=registry),
        Gauge("referralbot_outbox_oldest_due_seconds", "How long the oldest due, unsent outbox message has waited.",
              registry=registry),
        Gauge("referralbot_safeguarding_alerts_open", "Safeguarding alerts nobody has acknowledged yet.",
              registry=registry),
        Gauge("referralbot_referrals", "Referrals by status (test referrals from the simulator left out).",
              ["status"], registry=registry),
        Gauge("referralbot_inbound_unprocessed", "Inbound messages stored but not yet processed.",
              registry=registry),
    )


@router.get(METRICS_PATH, include_in_schema=False)
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    token = runtime.settings.metrics_token.get_secret_value()
    if not token:
        return PlainTextResponse("Not Found", status_code=404)
    if not _allowed(request, token):
        return PlainTextResponse("Unauthorized", status_code=401, headers={"WWW-Authenticate": "Bearer"})
    async with runtime.sessions() as db:
        read = await read_gauges(db, datetime.now(UTC))
    scrape = CollectorRegistry(auto_describe=True)
    depth, oldest, alerts, referrals, unprocessed = _database_gauges(scrape)
    for status in WAITING:
        depth.labels(status=OutboundStatus(status).value).set(read.outbox_by_status.get(status, 0))
    oldest.set(read.oldest_due_seconds)
    alerts.set(read.open_alerts)
    for referral_status in ReferralStatus:
        referrals.labels(status=referral_status.value).set(read.referrals_by_status.get(referral_status, 0))
    unprocessed.set(read.inbound_unprocessed)
    return Response(generate_latest(REGISTRY) + generate_latest(scrape), media_type=CONTENT_TYPE_LATEST)
