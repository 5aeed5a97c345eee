"""The simulator lives in its own world: limited per address, quiet to the unit, marked as a test to staff."""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from staff_support import login, make_user
from support import SCREENED_OUT, WHOLE_REFERRAL, chat

from bot.actions import Actor, act
from bot.settings import Settings
from bot.simulator import too_many
from bot.web import create_app
from flows.channels import Channel
from flows.process import Action, Role
from store.models import OutboundMessage, SafeguardingAlert
from store.referrals import create_referral, get_referral
from store.stats import collect


@asynccontextmanager
async def app_for(settings: Settings, *addresses: str) -> AsyncIterator[list[httpx.AsyncClient]]:
    """The real app, and one client per address it sees requests from."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        clients = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)),
                                     base_url="http://testserver") for address in addresses]
        try:
            yield clients
        finally:
            for client in clients:
                await client.aclose()


def say(session: str, text: str, n: int) -> dict[str, str]:
    return {"session": session, "text": text, "message_id": f"{session}-{n}"}


# --- the rate limit ------------------------------------------------------------------------------


async def test_the_simulator_refuses_an_address_over_its_limit_with_a_429_that_says_why(settings: Settings) -> None:
    limited = settings.model_copy(update={"simulator_rate_per_minute": 5})
    async with app_for(limited, "198.51.100.7", "198.51.100.8") as (greedy, other):
        sent = [await greedy.post("/simulator/message", json=say(f"s{n}", "hi", n)) for n in range(6)]
        assert [r.status_code for r in sent] == [200] * 5 + [429]
        assert sent[-1].json() == {"error": too_many(5)}
        assert "at most 5 a minute" in sent[-1].json()["error"]
        assert sent[-1].headers["retry-after"] == "60"
        # Another address is not held back by the first.
        assert (await other.post("/simulator/message", json=say("o", "hi", 0))).status_code == 200


def test_the_simulator_allows_thirty_messages_a_minute_by_default() -> None:
    from bot.settings import load_settings

    assert load_settings(simulator_rate_per_minute=30).simulator_rate_per_minute == 30
    assert Settings.model_fields["simulator_rate_per_minute"].default == 30


# --- safeguarding alerts -------------------------------------------------------------------------


async def test_twenty_knife_posts_in_one_simulator_chat_alert_the_unit_once_but_answer_999_every_time(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    to_unit = settings.model_copy(update={"unit_email": "unit@unit.example.org", "smtp_host": "127.0.0.1",
                                          "smtp_from": "bot@unit.example.org", "outbox_poll_seconds": 60})
    async with app_for(to_unit, "198.51.100.7") as (client,):
        await client.post("/simulator/message", json=say("knife", "hi", 0))
        answers = [(await client.post("/simulator/message", json=say("knife", "he has a knife", n))).json()
                   for n in range(1, 21)]
        # Another simulator chat is its own session: it alerts once too.
        other = (await client.post("/simulator/message", json=say("knife2", "he has a knife", 0))).json()
    assert all("999" in answer["replies"][0] for answer in [*answers, other])
    async with sessions() as db:
        alerts = (await db.execute(select(func.count()).select_from(SafeguardingAlert))).scalar_one()
        notices = (await db.execute(select(OutboundMessage.body)
                                    .where(OutboundMessage.purpose == "unit_notice"))).scalars().all()
    assert (alerts, len(notices)) == (2, 2)
    assert all(body.startswith("TEST FROM THE SIMULATOR") for body in notices)  # never taken for a real alert


# --- production ----------------------------------------------------------------------------------


async def test_the_simulator_on_in_production_warns_in_the_log_and_on_its_page(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    production = settings.model_copy(update={"environment": "production", "simulator_enabled": True,
                                             "session_secret": settings.data_key})
    with caplog.at_level(logging.WARNING, logger="referral_bot.web"):
        async with app_for(production, "198.51.100.7") as (client,):
            page = await client.get("/simulator")
    assert any("simulator is on in production" in r.getMessage() for r in caplog.records)
    assert page.status_code == 200
    assert 'class="govuk-warning-text"' in page.text and "The simulator is on in production." in page.text


async def test_the_simulator_in_development_shows_no_production_warning(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="referral_bot.web"):
        async with app_for(settings, "198.51.100.7") as (client,):
            page = await client.get("/simulator")
    assert not any("production" in r.getMessage() for r in caplog.records)
    assert "govuk-warning-text" not in page.text




# --- test referrals ------------------------------------------------------------------------------

TEST_TAG = "Test (simulator)"
CLI = Actor("cli", Role.ADMIN)


async def simulator_referral(client: httpx.AsyncClient, session: str) -> str:
    replies = await chat(client, session, WHOLE_REFERRAL)
    return replies[-1][0].split("Referral ", 1)[1].split(" ", 1)[0]


async def sms_referral(sessions: async_sessionmaker[AsyncSession], reference: str, like: str) -> str:
    """A referral as if it came by SMS, with the same answers as the referral `like`."""
    async with sessions() as db, db.begin():
        model = await get_referral(db, like)
        assert model is not None
        await create_referral(db, reference=reference, channel=Channel.SMS, details=dict(model.details),
                              borough="Lambeth", age=19, urgency="normal", referrer_hash="x", safeguarding_flag=False,
                              now=datetime.now(UTC))
    return reference


def row_of(html: str, reference: str) -> str:
    # Whichever cell holds the reference: the queue links it, "My young people" links the name.
    rows = [row for row in re.findall(r'<tr class="govuk-table__row[^"]*">.*?</tr>', html, re.S) if reference in row]
    assert rows, f"no row for {reference}"
    return rows[0]


async def test_simulator_referrals_stay_out_of_the_queue_unless_staff_choose_to_show_them_tagged_as_tests(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    test = await simulator_referral(client, "sim")
    real = await sms_referral(sessions, "LGX-REAL1", test)
    await make_user(sessions, "unit@unit.example.org", "unit")
    await login(client, "unit@unit.example.org")

    queue = (await client.get("/staff/queue")).text
    assert real in queue and test not in queue
    assert "1 referral." in queue
    assert 'name="tests" type="checkbox" value="1"' in queue and "Show test referrals from the simulator" in queue

    shown = (await client.get("/staff/queue", params={"tests": "1"})).text
    assert TEST_TAG in row_of(shown, test) and TEST_TAG not in row_of(shown, real)
    assert re.search(r'id="tests" name="tests" type="checkbox" value="1" checked', shown)

    assert TEST_TAG in (await client.get(f"/staff/referrals/{test}")).text
    assert TEST_TAG not in (await client.get(f"/staff/referrals/{real}")).text


async def test_simulator_referrals_are_never_exported_even_when_the_queue_shows_them(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    test = await simulator_referral(client, "sim")
    real = await sms_referral(sessions, "LGX-REAL1", test)
    await make_user(sessions, "unit@unit.example.org", "unit")
    await login(client, "unit@unit.example.org")
    for params in ({}, {"tests": "1"}, {"status": "all", "tests": "1"}):
        exported = await client.get("/staff/export.csv", params=params)
        references = [row["reference"] for row in csv.DictReader(io.StringIO(exported.text))]
        assert references == [real] and test not in exported.text, params


async def test_simulator_referrals_and_screen_outs_are_counted_in_no_stats(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    test = await simulator_referral(client, "sim")
    await chat(client, "young", SCREENED_OUT)
    now = datetime.now(UTC)
    async with sessions() as db:
        stats = await collect(db, now, UTC)
    assert sum(week.total for week in stats.weeks) == 0
    assert stats.sources == [] and stats.boroughs == [] and stats.screen_outs.all_time == []
    await sms_referral(sessions, "LGX-REAL1", test)
    async with sessions() as db:
        stats = await collect(db, datetime.now(UTC), UTC)
    assert sum(week.total for week in stats.weeks) == 1 and stats.boroughs == [("Lambeth", 1)]


async def test_a_caseworkers_simulator_young_person_is_tagged_as_a_test_on_their_page(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    test = await simulator_referral(client, "sim")
    await make_user(sessions, "cas@unit.example.org", "caseworker", "Cas Worker")
    async with sessions() as db, db.begin():
        for action, extra in ((Action.CLAIM, {}), (Action.ACCEPT, {}),
                              (Action.ALLOCATE, {"caseworker": "cas@unit.example.org"})):
            await act(db, settings, test, action, CLI, datetime.now(UTC), **extra)
    await login(client, "cas@unit.example.org")
    mine = (await client.get("/staff/mine")).text
    assert TEST_TAG in row_of(mine, test)


async def test_the_unit_is_told_a_new_simulator_referral_is_a_test(
    settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    to_unit = settings.model_copy(update={"unit_email": "unit@unit.example.org", "smtp_host": "127.0.0.1",
                                          "smtp_from": "bot@unit.example.org", "outbox_poll_seconds": 60})
    async with app_for(to_unit, "198.51.100.7") as (client,):
        test = await simulator_referral(client, "sim")
    async with sessions() as db:
        [body] = (await db.execute(select(OutboundMessage.body)
                                   .where(OutboundMessage.purpose == "unit_notice"))).scalars()
    assert test in body and "TEST FROM THE SIMULATOR" in body
