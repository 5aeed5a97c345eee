"""A flaky Twilio: 429 and 500 to about a third of sends, and some sends that time out, against the real server.

Every reminder must reach Twilio exactly once in the end, each retry waiting out its backoff.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fakes.twilio_api import FakeTwilio
from fault_support import provider_env, serving
from sqlalchemy import select
from support import TEST_KEY

from bot.settings import decode_data_key
from store import crypto
from store.contacts import address_hash
from store.db import make_engine, make_sessionmaker
from store.models import Contact, OutboundMessage, OutboundStatus
from store.outbox import RETRY_DELAYS

CLIENT_TIMEOUT = 10.0  # seconds the app's Twilio client waits for an answer (bot.twilio_http)


def _number(n: int) -> str:
    return f"+4477007{n:05d}"


def _body(n: int) -> str:
    return f"Hi Jay, it's Sam. See you Tue at 3:00pm, the usual place. Ref {n:05d}."


async def _due_reminders(database_url: str, count: int) -> None:
    """`count` reminders due now, each to a different person, as the session scheduler leaves them."""
    crypto.configure(decode_data_key(TEST_KEY))
    engine = make_engine(database_url)
    now = datetime.now(UTC)
    try:
        async with make_sessionmaker(engine)() as db, db.begin():
            contacts = [Contact(channel="sms", address_hash=address_hash("sms", _number(n)), address=_number(n),
                                opted_out=False, blocked=False, created_at=now, changed_at=now) for n in range(count)]
            db.add_all(contacts)
            await db.flush()
            db.add_all([OutboundMessage(channel="sms", contact_id=contact.id, body=_body(n), purpose="reminder",
                                        status=OutboundStatus.PENDING, segments=1, attempts=0, next_attempt_at=now,
                                        created_at=now, updated_at=now) for n, contact in enumerate(contacts)])
    finally:
        await engine.dispose()


async def _outbox(database_url: str) -> list[tuple[str, str | None, str, int]]:
    engine = make_engine(database_url)
    try:
        async with make_sessionmaker(engine)() as db:
            rows = await db.execute(select(OutboundMessage.status, OutboundMessage.provider_id, OutboundMessage.body,
                                           OutboundMessage.attempts))
            return [(str(status), provider_id, body, attempts) for status, provider_id, body, attempts in rows]
    finally:
        await engine.dispose()


async def test_a_flaky_twilio_still_gets_every_reminder_exactly_once_each_retry_after_its_backoff(
    database_url: str, fake_twilio: FakeTwilio, fake_telegram: Any, env_for_cli: dict[str, Any], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    count = 60
    await _due_reminders(database_url, count)
    fake_twilio.flaky(1 / 3, (429, 500), timeouts=2, timeout_seconds=CLIENT_TIMEOUT + 0.5, seed=15)
    started = time.monotonic()
    with serving(provider_env(env_for_cli, fake_twilio, fake_telegram), tmp_path / "serve.log") as server:
        while True:
            outbox = await _outbox(database_url)
            if all(status != "pending" and status != "sending" for status, *_ in outbox):
                break
            assert time.monotonic() - started < 90, Counter(status for status, *_ in outbox)
            await asyncio.sleep(0.2)
        output = server.output()
    elapsed = time.monotonic() - started

    taken = Counter((sent.to, sent.body) for sent in fake_twilio.messages)
    assert taken == Counter({(_number(n), _body(n)): 1 for n in range(count)})  # each once, none twice, none lost
    assert sorted((status, provider_id) for status, provider_id, *_ in outbox) == sorted(
        ("queued", sent.sid) for sent in fake_twilio.messages)
    assert fake_twilio.refused >= count // 5 and fake_twilio.timed_out == 2  # the faults really happened
    for key, tries in fake_twilio.tries.items():  # every retry waited at least its backoff
        for attempt, (before, after) in enumerate(itertools.pairwise(tries)):
            assert after - before >= RETRY_DELAYS[attempt].total_seconds() * 0.95, (key[1][-9:], tries)
    retried = sum(len(tries) > 1 for tries in fake_twilio.tries.values())
    assert retried >= count // 5
    assert "Traceback" not in output
    with capsys.disabled():
        print(f"\n[faults] flaky Twilio, {database_url.split('+', 1)[0]}: {count} reminders, "
              f"{fake_twilio.attempts} create requests ({fake_twilio.refused} refused 429/500, "
              f"{fake_twilio.timed_out} timed out), {fake_twilio.lookups} lookups, {retried} retried; "
              f"all delivered once in {elapsed:.1f}s")
