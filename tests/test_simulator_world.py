"""The simulator lives in its own world: limited per address, quiet to the unit, marked as a test to staff."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings
from bot.simulator import too_many
from bot.web import create_app
from store.models import OutboundMessage, SafeguardingAlert


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
        notices = (await db.execute(select(func.count()).select_from(OutboundMessage)
                                    .where(OutboundMessage.purpose == "unit_notice"))).scalar_one()
    assert (alerts, notices) == (2, 2)


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


