"""The command line and the health check, against the real database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from support import WHOLE_REFERRAL, chat, database_away, invoke_cli, run_cli

from bot.settings import Settings
from bot.web import create_app
from store.models import Conversation, InboundMessage
from store.purge import purge_drafts


async def test_referrals_list_prints_a_readable_table_and_filters_by_status(
    client: httpx.AsyncClient, env_for_cli: dict[str, Any]
) -> None:
    assert (await run_cli(env_for_cli, "referrals", "list")).stdout.strip() == "No referrals."
    await chat(client, "table", WHOLE_REFERRAL)
    table = await run_cli(env_for_cli, "referrals", "list")
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.strip().splitlines()
    assert header.split()[:4] == ["REFERENCE", "STATUS", "RECEIVED", "BOROUGH"]
    assert "queued" in row and "Lambeth" in row and row.startswith("LGX-")
    assert "Jaylen" not in table.stdout  # the list carries no names
    assert json.loads((await run_cli(env_for_cli, "referrals", "list", "--status", "accepted", "--json")).stdout) == []
    bad = await run_cli(env_for_cli, "referrals", "list", "--status", "lost")
    assert bad.returncode == 2 and "unknown status 'lost'" in bad.stderr


async def test_referrals_show_reads_the_whole_referral_and_refuses_unknown_references(
    client: httpx.AsyncClient, env_for_cli: dict[str, Any]
) -> None:
    await chat(client, "show", WHOLE_REFERRAL)
    reference = json.loads((await run_cli(env_for_cli, "referrals", "list", "--json")).stdout)[0]["reference"]
    shown = await run_cli(env_for_cli, "referrals", "show", reference.lower())
    assert shown.returncode == 0
    assert "Jaylen" in shown.stdout and "yp_name" in shown.stdout
    missing = await run_cli(env_for_cli, "referrals", "show", "LGX-ZZZZZ", "--json")
    assert missing.returncode == 1
    assert missing.stdout == "" and missing.stderr.strip() == "referral-bot: no referral with reference LGX-ZZZZZ"


def test_keygen_makes_a_key_file_once_and_never_overwrites_it(env_for_cli: dict[str, Any], tmp_path: Any) -> None:
    key_file = tmp_path / "k" / "data.key"
    made = invoke_cli(env_for_cli, "keygen", "--file", str(key_file))
    assert made.returncode == 0 and "Generated" in made.stdout
    key = key_file.read_text()
    assert oct(key_file.stat().st_mode)[-3:] == "600"
    assert invoke_cli(env_for_cli, "keygen", "--file", str(key_file), "--if-missing").returncode == 0
    again = invoke_cli(env_for_cli, "keygen", "--file", str(key_file))
    assert again.returncode == 2 and "refusing to overwrite" in again.stderr
    assert key_file.read_text() == key


async def test_healthz_is_503_when_the_database_does_not_answer(settings: Settings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app), database_away(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await http.get("/healthz")
    assert response.status_code == 503
    assert response.json()["status"] != "ok"


async def test_drafts_idle_past_the_ttl_are_purged_and_fresh_ones_kept(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], env_for_cli: dict[str, Any]
) -> None:
    await chat(client, "old", WHOLE_REFERRAL[:5])
    await chat(client, "fresh", WHOLE_REFERRAL[:3])
    async with sessions() as db, db.begin():
        old = (await db.execute(select(Conversation).order_by(Conversation.id))).scalars().first()
        assert old is not None
        old.updated_at = datetime.now(UTC) - timedelta(hours=73)
        await db.execute(InboundMessage.__table__.update().where(InboundMessage.conversation_id == old.id)
                         .values(received_at=datetime.now(UTC) - timedelta(hours=73)))
    purged = await run_cli(env_for_cli, "purge")
    assert purged.returncode == 0, purged.stderr
    assert purged.stdout.splitlines()[0] == "Purged 1 draft conversations and 5 message records."
    assert "Purged 0 declined and 0 closed referrals" in purged.stdout
    async with sessions() as db:
        assert await db.scalar(select(func.count()).select_from(Conversation)) == 1
        assert await db.scalar(select(func.count()).select_from(InboundMessage)) == 3
    async with sessions() as db, db.begin():
        counts = await purge_drafts(db, datetime.now(UTC), 72)
    assert (counts.conversations, counts.messages) == (0, 0)


async def test_a_database_failure_mid_message_gets_a_kind_retryable_answer(settings: Settings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app), database_away(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            response = await http.post("/simulator/message", json={"session": "x", "text": "hi"})
    assert response.status_code == 503
    assert response.json()["replies"] == ["Sorry, something went wrong on our side and nothing was saved. "
                                          "Please send that again in a minute."]
    assert "Traceback" not in response.text


def test_every_setting_is_in_env_example_with_a_comment() -> None:
    from pathlib import Path

    lines = (Path(__file__).parent.parent / ".env.example").read_text().splitlines()
    documented = {line.split("=", 1)[0] for line in lines if line and not line.startswith("#") and "=" in line}
    assert documented == {name.upper() for name in Settings.model_fields}
    for number, line in enumerate(lines):
        if line and not line.startswith("#"):
            block = []  # the lines above it, up to the blank line that starts its paragraph
            for earlier in reversed(lines[:number]):
                if not earlier:
                    break
                block.append(earlier)
            assert any(earlier.startswith("#") for earlier in block), f"{line.split('=')[0]} has no comment above it"
