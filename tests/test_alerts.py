"""Safeguarding alerts: the words that raised them and the bot's answer, for the unit to read and acknowledge."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from alembic import command
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from staff_support import csrf_of, login, make_user
from support import WHOLE_REFERRAL, chat, run_cli

from bot.settings import Settings
from store.alerts import acknowledge_alert
from store.migrate import alembic_config
from store.models import AuditEntry, Conversation, Referral, SafeguardingAlert
from store.retention import purge_expired

DANGER = "he has a knife and is threatening to kill someone"
UNIT = "unit@unit.example.org"


async def _alerts(sessions: async_sessionmaker[AsyncSession]) -> list[SafeguardingAlert]:
    async with sessions() as db:
        return list((await db.execute(select(SafeguardingAlert).order_by(SafeguardingAlert.id))).scalars())


async def _danger_in_a_draft(client: httpx.AsyncClient, session: str) -> str:
    """A chat that stops after a danger message; the bot's answer to it."""
    replies = await chat(client, session, [*WHOLE_REFERRAL[:3], DANGER], prefix=session)
    return replies[-1][0]


async def _referral_with_danger(client: httpx.AsyncClient, session: str) -> str:
    texts = list(WHOLE_REFERRAL)
    texts.insert(3, DANGER)
    replies = await chat(client, session, texts, prefix=session)
    return replies[-1][0].split("Referral ", 1)[1].split(" ", 1)[0]


async def _raw_alert_columns(sessions: async_sessionmaker[AsyncSession]) -> bytes:
    async with sessions() as db:
        rows = (await db.execute(text("SELECT text, answer, ack_note FROM safeguarding_alerts"))).all()
    return b"".join(bytes(value) for row in rows for value in row if value is not None)


async def test_a_danger_message_raises_an_alert_whose_words_and_answer_staff_read_on_the_alerts_page(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    answer = await _danger_in_a_draft(client, "danger")
    [alert] = await _alerts(sessions)
    assert (alert.text, alert.channel.value, alert.reference, alert.acknowledged_at) == (DANGER, "simulator", None,
                                                                                           None)
    assert answer.split("\n")[0] in (alert.answer or "")
    raw = await _raw_alert_columns(sessions)
    assert raw and b"knife" not in raw.lower() and answer.split("\n")[0].encode() not in raw

    await make_user(sessions, UNIT, "unit")
    await login(client, UNIT)
    page = await client.get("/staff/alerts")
    assert page.status_code == 200
    assert DANGER in page.text and answer.split("\n")[0].replace("'", "&#39;") in page.text
    assert "None: the chat has not become a referral" in page.text
    assert '<label class="govuk-label" for="ack-note-' in page.text
    async with sessions() as db:
        viewed = (await db.execute(select(AuditEntry).where(AuditEntry.action == "view_alert"))).scalars().all()
    assert [(e.actor, e.detail) for e in viewed] == [(UNIT, f"alert {alert.id}")]


async def test_the_header_counts_open_alerts_for_the_unit_until_they_are_acknowledged(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, UNIT, "unit")
    await login(client, UNIT)
    assert "app-alert-count" not in (await client.get("/staff/queue")).text
    await _danger_in_a_draft(client, "one")
    await _danger_in_a_draft(client, "two")
    queue = await client.get("/staff/queue")
    assert 'app-alert-count">2<span class="govuk-visually-hidden"> open</span>' in queue.text
    assert '<a class="govuk-link" href="/staff/alerts">2 open safeguarding alerts</a>' in queue.text
    first = (await _alerts(sessions))[0]
    page = await client.get("/staff/alerts")
    done = await client.post(f"/staff/alerts/{first.id}/ack", data={"csrf": csrf_of(page.text), "note": "Called 999"})
    assert done.status_code == 303
    assert 'app-alert-count">1<' in (await client.get("/staff/queue")).text


async def test_acknowledging_an_alert_records_who_when_and_the_note_and_refuses_it_without_a_note(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _danger_in_a_draft(client, "ack")
    [alert] = await _alerts(sessions)
    await make_user(sessions, UNIT, "unit")
    await login(client, UNIT)
    page = await client.get("/staff/alerts")
    assert (await client.post(f"/staff/alerts/{alert.id}/ack", data={"note": "no token"})).status_code == 403
    refused = await client.post(f"/staff/alerts/{alert.id}/ack", data={"csrf": csrf_of(page.text), "note": "  "})
    assert refused.status_code == 409 and "the note is required" in refused.text
    assert f'href="#ack-note-{alert.id}"' in refused.text
    before = datetime.now(UTC)
    done = await client.post(f"/staff/alerts/{alert.id}/ack",
                             data={"csrf": csrf_of(page.text), "note": "Rang the referrer; police called"})
    assert done.status_code == 303
    [acknowledged] = await _alerts(sessions)
    assert acknowledged.acknowledged_by == UNIT
    assert acknowledged.acknowledged_at is not None and acknowledged.acknowledged_at >= before - timedelta(seconds=1)
    assert acknowledged.ack_note == "Rang the referrer; police called"
    assert b"police" not in (await _raw_alert_columns(sessions))
    shown = await client.get(done.headers["location"])
    assert f"By {UNIT}" in shown.text and "Rang the referrer; police called" in shown.text
    assert "Done: alert" in shown.text and 'for="ack-note-' not in shown.text
    again = await client.post(f"/staff/alerts/{alert.id}/ack", data={"csrf": csrf_of(page.text), "note": "twice"})
    assert again.status_code == 409 and "already acknowledged" in again.text
    async with sessions() as db:
        acks = (await db.execute(select(AuditEntry.actor).where(AuditEntry.action == "alert_acknowledged"))).all()
    assert acks == [(UNIT,)]


async def test_a_caseworker_cannot_see_the_alerts_page(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _danger_in_a_draft(client, "cw")
    await make_user(sessions, "cw@unit.example.org", "caseworker")
    await login(client, "cw@unit.example.org")
    refused = await client.get("/staff/alerts")
    assert refused.status_code == 403 and DANGER not in refused.text
    assert "app-alert-count" not in (await client.get("/staff/mine")).text


async def test_an_alert_in_a_chat_that_became_a_referral_is_shown_in_full_on_its_page_and_acknowledged_there(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    reference = await _referral_with_danger(client, "referred")
    [alert] = await _alerts(sessions)
    assert alert.reference == reference
    await make_user(sessions, UNIT, "unit")
    await login(client, UNIT)
    listing = await client.get("/staff/alerts")
    assert f'<a class="govuk-link" href="/staff/referrals/{reference}">{reference}</a>' in listing.text
    page = await client.get(f"/staff/referrals/{reference}")
    assert "Safeguarding alerts from the chat" in page.text and DANGER in page.text
    done = await client.post(f"/staff/alerts/{alert.id}/ack",
                             data={"csrf": csrf_of(page.text), "note": "Spoke to the referrer", "back": reference})
    assert done.headers["location"] == f"/staff/referrals/{reference}?done=alert_acknowledged"
    shown = await client.get(done.headers["location"])
    assert "Done: safeguarding alert acknowledged." in shown.text and "Spoke to the referrer" in shown.text


async def test_the_cli_lists_alerts_with_their_words_and_acknowledges_one_as_the_operator(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], env_for_cli: dict[str, Any]
) -> None:
    reference = await _referral_with_danger(client, "cli-ref")
    await _danger_in_a_draft(client, "cli-draft")
    listed = await run_cli(env_for_cli, "alerts", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert {(r["reference"], r["text"], r["channel"], r["acknowledged_by"]) for r in rows} == {
        (reference, DANGER, "simulator", None), (None, DANGER, "simulator", None)}
    assert all(datetime.fromisoformat(r["created_at"]).tzinfo is not None for r in rows)
    linked = next(r["id"] for r in rows if r["reference"] == reference)

    assert (await run_cli(env_for_cli, "alerts", "ack", str(linked))).returncode == 2  # --note is required
    acked = await run_cli(env_for_cli, "alerts", "ack", str(linked), "--note", "Checked with the referrer")
    assert acked.returncode == 0 and f"Alert {linked} acknowledged" in acked.stdout
    again = await run_cli(env_for_cli, "alerts", "ack", str(linked), "--note", "again")
    assert again.returncode == 1 and "already acknowledged" in again.stderr
    missing = await run_cli(env_for_cli, "alerts", "ack", "9999", "--note", "x")
    assert missing.returncode == 1 and "no alert 9999" in missing.stderr

    still_open = json.loads((await run_cli(env_for_cli, "alerts", "list", "--open", "--json")).stdout)
    assert [r["reference"] for r in still_open] == [None]
    everything = json.loads((await run_cli(env_for_cli, "alerts", "list", "--json")).stdout)
    assert [r["acknowledged_by"] for r in everything] == [None, "cli"]  # open first
    plain = await run_cli(env_for_cli, "alerts", "list")
    assert DANGER in plain.stdout and "OPEN" in plain.stdout and "acknowledged by cli" in plain.stdout
    async with sessions() as db:
        entries = (await db.execute(select(AuditEntry.actor, AuditEntry.action, AuditEntry.reference)
                                    .where(AuditEntry.action.in_(("alert_acknowledged", "view_alert"))))).all()
    assert ("cli", "alert_acknowledged", reference) in entries
    assert {(actor, action) for actor, action, _ in entries} == {("cli", "alert_acknowledged"), ("cli", "view_alert")}


async def test_alerts_from_a_chat_never_sent_go_with_the_draft_once_acknowledged_and_a_referrals_with_the_referral(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    reference = await _referral_with_danger(client, "kept")
    await _danger_in_a_draft(client, "dropped")
    later = datetime.now(UTC) + timedelta(hours=settings.draft_ttl_hours + 1)

    async def purge(now: datetime) -> int:
        async with sessions() as db, db.begin():
            counts = await purge_expired(db, now, draft_ttl_hours=settings.draft_ttl_hours,
                                         declined_days=settings.declined_retention_days,
                                         closed_days=settings.closed_retention_days)
        return counts.alerts

    # A draft still being written keeps its alert, however old the alert is.
    async with sessions() as db, db.begin():
        await db.execute(update(SafeguardingAlert).values(created_at=datetime.now(UTC) - timedelta(days=30)))
    assert await purge(datetime.now(UTC)) == 0
    assert len(await _alerts(sessions)) == 2

    # The draft goes, but an alert nobody has acknowledged is never deleted unseen.
    assert await purge(later) == 0
    async with sessions() as db:
        assert await db.scalar(select(Conversation.id).limit(1)) is None
    unread = [a for a in await _alerts(sessions) if a.reference is None]
    assert len(unread) == 1
    async with sessions() as db, db.begin():
        await acknowledge_alert(db, unread[0].id, "unit@example.org", "Called 999 with the referrer", later)
    assert await purge(later) == 1
    assert [a.reference for a in await _alerts(sessions)] == [reference]

    expired = later - timedelta(days=settings.declined_retention_days + 1)
    async with sessions() as db, db.begin():
        await db.execute(update(Referral).where(Referral.reference == reference)
                         .values(status="declined", decided_at=expired))
    await purge(later)
    assert await _alerts(sessions) == []


async def test_a_danger_text_by_sms_reaches_the_unit_with_its_words_and_is_acknowledged_with_the_keyboard(
    browser: Any, site: Any, fake_twilio: Any
) -> None:
    from browser_support import log_in, sms_from
    from playwright.async_api import expect

    await sms_from(site, fake_twilio, WHOLE_REFERRAL[0], "SM" + "a" * 32, "+447700900444")
    answer = (await sms_from(site, fake_twilio, DANGER, "SM" + "b" * 32, "+447700900444"))[0]
    await make_user(site.sessions, UNIT, "unit", "Una Unit")
    page = await browser.new_page()
    await log_in(page, site, UNIT)
    count = page.locator(".govuk-service-navigation .app-alert-count")
    await expect(count).to_have_text("1 open")
    await page.get_by_role("link", name="Alerts").click()
    card = page.locator(".app-alert").first
    await expect(card.locator(".app-alert__words")).to_have_text(DANGER)
    await expect(card.locator(".app-alert__answer")).to_contain_text(answer.split("\n")[0])
    await expect(card).to_contain_text("sms")
    await page.get_by_label("What was done about alert").focus()
    await page.keyboard.type("Called the referrer back at once")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await expect(page.locator(".govuk-notification-banner")).to_contain_text("acknowledged")
    await expect(card.locator(".app-alert__ack")).to_contain_text(f"By {UNIT}")
    await expect(count).to_have_count(0)
    await page.close()


def test_alerts_raised_before_words_were_kept_get_a_row_uid_and_read_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "data.db"
    config = alembic_config(f"sqlite+aiosqlite:///{path}")
    command.upgrade(config, "0007")
    with closing(sqlite3.connect(path)) as db, db:
        db.execute("INSERT INTO safeguarding_alerts (created_at, channel, state) VALUES ('2026-12-01', 'sms', 'dob')")
    command.upgrade(config, "head")
    with closing(sqlite3.connect(path)) as db:
        [(uid, words, by)] = db.execute("SELECT row_uid, text, acknowledged_by FROM safeguarding_alerts").fetchall()
    assert len(uid) == 32 and words is None and by is None
    command.downgrade(config, "0007")
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("SELECT count(*) FROM safeguarding_alerts").fetchone() == (1,)
        assert "row_uid" not in [row[1] for row in db.execute("PRAGMA table_info(safeguarding_alerts)")]
