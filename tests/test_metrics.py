"""/metrics: off without METRICS_TOKEN, refused without the token, and with it the families an operator needs,
moving as messages come in and go out; no label value is ever personal."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from channels_support import PUBLIC_BASE_URL, TWILIO_NUMBER, LiveApp, channel_settings, serve_live
from fakes.twilio_api import FakeTwilio, signed_inbound
from support import LEAK_FORMS, TEST_KEY, WHOLE_REFERRAL

from bot.settings import decode_data_key
from store import crypto
from store.outbox import enqueue

TOKEN = "metrics-token-for-tests-0123456789"
REFERRER = "+447700900123"
FAMILIES = ["referralbot_inbound_messages_total counter", "referralbot_inbound_seconds histogram",
            "referralbot_sends_total counter", "referralbot_outbox_depth gauge",
            "referralbot_outbox_oldest_due_seconds gauge", "referralbot_safeguarding_alerts_open gauge",
            "referralbot_referrals gauge", "referralbot_inbound_unprocessed gauge"]
SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@pytest.fixture
async def metered(database_url: str, fake_twilio: Any, fake_telegram: Any) -> AsyncIterator[LiveApp]:
    crypto.configure(decode_data_key(TEST_KEY))
    async with serve_live(channel_settings(database_url, fake_twilio, fake_telegram, metrics_token=TOKEN)) as app:
        yield app


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, line
        labels = frozenset(LABEL.findall(match.group("labels") or ""))
        found[(match.group("name"), labels)] = float(match.group("value"))
    return found


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


async def scrape(live: LiveApp) -> str:
    response = await live.http.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def text_in(live: LiveApp, twilio: FakeTwilio, body: str, sid: str) -> None:
    params, signed = signed_inbound(PUBLIC_BASE_URL + "/sms/inbound", twilio.auth_token, From=REFERRER,
                                    To=TWILIO_NUMBER, Body=body, MessageSid=sid)
    assert (await live.http.post("/sms/inbound", data=params, headers=signed)).status_code == 200


async def test_metrics_are_off_without_a_token_setting(live: LiveApp) -> None:
    assert (await live.http.get("/metrics")).status_code == 404
    assert (await live.http.get("/metrics", headers={"Authorization": "Bearer x"})).status_code == 404


async def test_metrics_are_refused_without_the_right_token(metered: LiveApp) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                    {"Authorization": f"Bearer {TOKEN}x"}):
        response = await metered.http.get("/metrics", headers=headers)
        assert response.status_code == 401
        assert "referralbot" not in response.text


async def test_the_families_are_there_and_move_with_inbound_messages_and_sends(
    metered: LiveApp, fake_twilio: FakeTwilio
) -> None:
    before = samples(await scrape(metered))
    text = await scrape(metered)
    for family in FAMILIES:
        assert f"# TYPE {family}" in text, family
    await text_in(metered, fake_twilio, "hi", "SM" + "1" * 32)
    await text_in(metered, fake_twilio, "hi", "SM" + "1" * 32)  # the provider retrying: a duplicate
    async with metered.sessions() as db, db.begin():
        await enqueue(db, channel="sms", to=REFERRER, body="Hello from the unit", purpose="decision",
                      now=datetime.now(UTC))
    waiting = samples(await scrape(metered))
    assert value(waiting, "referralbot_outbox_depth", status="pending") == 1
    fake_twilio.fail_next(503)
    await metered.dispatcher.run_once()
    after = samples(await scrape(metered))

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("referralbot_inbound_messages_total", channel="sms", outcome="processed") == 1
    assert moved("referralbot_inbound_messages_total", channel="sms", outcome="duplicate") == 1
    assert moved("referralbot_inbound_seconds_count", channel="sms") == 2
    assert moved("referralbot_sends_total", channel="sms", result="retried", error="20503") == 1
    assert value(after, "referralbot_outbox_depth", status="pending") == 1  # waiting for its retry


async def test_no_label_value_is_personal_after_a_whole_referral(metered: LiveApp, fake_twilio: FakeTwilio) -> None:
    texts = [t for t in WHOLE_REFERRAL if t != "07700 900123"]  # SMS gives the sender's number
    for number, message in enumerate(texts):
        await text_in(metered, fake_twilio, message, f"SM{number:032x}")
    found = samples(await scrape(metered))
    assert value(found, "referralbot_referrals", status="queued") == 1
    label_values = {label_value for _, labels in found for _, label_value in labels}
    text = await scrape(metered)
    for leak in [*LEAK_FORMS, REFERRER]:
        assert leak.lower() not in text.lower(), leak
    # Every label value is one of a short, fixed vocabulary: words and codes, never free text.
    assert all(re.fullmatch(r"[a-z0-9_.+]*|\+Inf", v) for v in label_values), label_values
