"""PostgreSQL stopped under load, and started again: kind answers at once, nothing crashes, then it carries on.

The cluster is this test's own (stopping the suite's shared one would break every test running beside
it under pytest-xdist), so the test runs whether or not the rest of the suite is on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from channels_support import TELEGRAM_SECRET
from fakes.telegram_api import FakeTelegram, text_update
from fakes.twilio_api import FakeTwilio
from fault_support import PrivateCluster, Server, postgres_bindir, provider_env, sms_webhook, twiml_messages
from sqlalchemy import select
from support import PERSONAL, TEST_KEY, WHOLE_REFERRAL

from bot.recovery import GRACE, recover_pending
from bot.settings import Settings, decode_data_key
from flows.messages import NOT_SAVED
from flows.statuses import InboundStatus
from store import crypto
from store.db import make_engine, make_sessionmaker
from store.migrate import upgrade_to_head
from store.models import InboundMessage, Referral

SMS_REFERRAL = [text for text in WHOLE_REFERRAL if text != PERSONAL["referrer_phone"]]
PROMPT = 5.0  # seconds: an answer while the database is away must come at least this soon
OUTAGE = 3.0  # seconds the database stays stopped


@pytest.fixture
def private_postgres() -> Iterator[PrivateCluster]:
    bindir = postgres_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL's server programs (initdb, pg_ctl) are not installed: this test starts and stops "
                    "a cluster of its own")
    cluster = PrivateCluster(bindir)
    try:
        cluster.create()
        upgrade_to_head(cluster.url)
        yield cluster
    finally:
        cluster.destroy()


class _Load:
    """Referrers texting all the while, and what they saw: answers, how long each took, kind refusals."""

    def __init__(self, base_url: str, twilio: FakeTwilio, telegram: FakeTelegram) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=30)
        self.twilio, self.telegram = twilio, telegram
        self.slowest = 0.0
        self.not_saved = 0  # SMS answered "nothing was saved, send again"
        self.deferred = 0  # SMS stored but answered later, through the API
        self.refused = 0  # Telegram updates answered 503 (Telegram sends them again)
        self.not_saved_sids: list[str] = []
        self.finals: dict[str, str] = {}

    async def _timed(self, request: Any) -> httpx.Response:
        started = time.monotonic()
        response: httpx.Response = await request
        self.slowest = max(self.slowest, time.monotonic() - started)
        return response

    async def sms_referrer(self, number: int) -> None:
        phone = f"+4477008{number:05d}"
        tries = 0
        for index, text in enumerate(SMS_REFERRAL):
            while True:
                tries += 1
                sid = f"SM{number:08x}{tries:024x}"  # a text sent again is a new text, with a new sid
                data, headers = sms_webhook(self.twilio, phone, text, sid)
                response = await self._timed(self.http.post("/sms/inbound", data=data, headers=headers))
                assert response.status_code == 200, response.text
                replies = twiml_messages(response.text)
                if replies == [NOT_SAVED]:
                    self.not_saved += 1
                    self.not_saved_sids.append(sid)
                    await asyncio.sleep(0.2)  # the person reads it and sends the text again
                    continue
                if replies == []:  # kept, answered once it is processed: through Twilio's API
                    self.deferred += 1
                    replies = await self._answer_through_the_api(phone, len(self.twilio.sent_to(phone)))
                break
            if index == len(SMS_REFERRAL) - 1:
                self.finals[phone] = replies[0]

    async def _answer_through_the_api(self, phone: str, before: int) -> list[str]:
        deadline = time.monotonic() + 60
        while len(self.twilio.sent_to(phone)) <= before:
            assert time.monotonic() < deadline, "a stored message was never answered"
            await asyncio.sleep(0.05)
        return [sent.body for sent in self.twilio.sent_to(phone)[before:]]

    async def telegram_referrer(self, chat_id: int, first_update: int) -> None:
        for index, text in enumerate(WHOLE_REFERRAL):
            update = text_update(first_update + index, chat_id, text)
            headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
            while True:  # as Telegram does: the same update again until it gets a 2xx
                response = await self._timed(self.http.post("/telegram/webhook", json=update, headers=headers))
                if response.status_code == 200:
                    break
                assert response.status_code == 503, response.text
                self.refused += 1
                await asyncio.sleep(0.2)
        deadline = time.monotonic() + 60
        while not [m for m in self.telegram.sent if str(m.get("chat_id")) == str(chat_id)
                   and "received and queued" in str(m.get("text"))]:
            assert time.monotonic() < deadline, ("the Telegram referrer never heard their referral was sent",
                                                 [str(m.get("text"))[:60] for m in self.telegram.sent][-4:])
            await asyncio.sleep(0.05)
        self.finals[str(chat_id)] = "received and queued"


def _settings(url: str, twilio: FakeTwilio, telegram: FakeTelegram) -> Settings:
    from channels_support import channel_settings

    return channel_settings(url, twilio, telegram)


async def test_postgresql_stopped_under_load_gets_kind_answers_and_then_everything_carries_on(
    private_postgres: PrivateCluster, fake_twilio: FakeTwilio, fake_telegram: FakeTelegram, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    names = {name.upper() for name in Settings.model_fields}
    base_env = {k: v for k, v in os.environ.items() if k.upper() not in names}
    # A reply claimed for sending whose result could not be recorded (the database had gone) is taken up
    # again once its claim is stale: seconds here, minutes by default.
    env = provider_env({**base_env, "DATABASE_URL": private_postgres.url, "DATA_KEY": TEST_KEY},
                       fake_twilio, fake_telegram, OUTBOX_STALE_SECONDS="5")
    server = Server(env, tmp_path / "serve.log")
    server.start()
    load = _Load(server.base_url, fake_twilio, fake_telegram)
    sms, telegram = 3, 1
    try:
        referrers = [asyncio.create_task(load.sms_referrer(n)) for n in range(sms)]
        referrers += [asyncio.create_task(load.telegram_referrer(7000 + n, 1000 * (n + 1))) for n in range(telegram)]
        await asyncio.sleep(1.0)  # well into their referrals
        private_postgres.stop("fast")
        stopped = time.monotonic()
        health: list[int] = []
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as http:
            probes: list[list[str]] = []
            while time.monotonic() - stopped < OUTAGE:
                started = time.monotonic()
                health.append((await http.get("/healthz")).status_code)
                # A new text while the database is away: told at once that nothing was saved.
                sid = f"SMfeedface{len(probes):024x}"
                data, headers = sms_webhook(fake_twilio, "+447700866666", "hi", sid)
                probes.append(twiml_messages((await http.post("/sms/inbound", data=data, headers=headers)).text))
                if probes[-1] == [NOT_SAVED]:
                    load.not_saved_sids.append(sid)
                load.slowest = max(load.slowest, time.monotonic() - started)
                await asyncio.sleep(0.2)
            assert server.alive(), server.output()[-3000:]
            during = (load.not_saved, load.refused, load.deferred)
            private_postgres.start()
            restarted = time.monotonic()
            while (await http.get("/healthz")).status_code != 200:
                assert time.monotonic() - restarted < 30, "never healthy again after PostgreSQL came back"
                await asyncio.sleep(0.1)
            back_after = time.monotonic() - restarted
        # What was kept but not processed is answered by recovery, once it is old enough to be taken for lost:
        # its clock is moved on rather than waited for.
        crypto.configure(decode_data_key(TEST_KEY))
        settings = _settings(private_postgres.url, fake_twilio, fake_telegram)
        engine = make_engine(private_postgres.url)
        try:
            sessions = make_sessionmaker(engine)
            deadline = time.monotonic() + 90
            while not all(task.done() for task in referrers):
                assert time.monotonic() < deadline, "the referrals did not finish after PostgreSQL came back"
                await recover_pending(sessions, settings, now=datetime.now(UTC) + GRACE + timedelta(seconds=1))
                await asyncio.sleep(0.5)
            for task in referrers:
                task.result()
            async with sessions() as db:
                statuses = list((await db.execute(select(InboundMessage.status))).scalars())
                stored_sids = set((await db.execute(select(InboundMessage.provider_id))).scalars())
                referrals = list((await db.execute(select(Referral.channel))).scalars())
        finally:
            await engine.dispose()
        assert server.alive()
    finally:
        await load.http.aclose()
        server.stop()
    assert 503 in health  # /healthz said so while the database was away
    assert [NOT_SAVED] in probes and all(probe in ([NOT_SAVED], []) for probe in probes)
    assert during[1] > 0, "no Telegram update met the outage: it tested nothing"
    assert load.slowest < PROMPT, f"an answer took {load.slowest:.1f}s while the database was away"
    assert all("received and queued" in text for text in load.finals.values()) and len(load.finals) == sms + telegram
    assert sorted(referrals) == sorted(["sms"] * sms + ["telegram"] * telegram)  # each exactly once
    assert set(statuses) == {InboundStatus.PROCESSED}
    assert not stored_sids & set(load.not_saved_sids)  # "nothing was saved" was true
    output = server.output()
    assert "Exception in ASGI application" not in output, output[-3000:]  # no request crashed
    with capsys.disabled():
        told_again = during[0] + sum(probe == [NOT_SAVED] for probe in probes)
        print(f"\n[faults] PostgreSQL stopped {OUTAGE:.0f}s under load: {told_again} SMS told to send again, "
              f"{during[2]} kept and answered later, {during[1]} Telegram updates refused (503) and resent; "
              f"slowest answer {load.slowest:.2f}s; healthy {back_after:.1f}s after the restart; no app restart")
