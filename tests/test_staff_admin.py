"""The admin pages: staff accounts managed in the browser, and the audit log filtered, paged and exported."""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from staff_support import PASSWORD, csrf_of, login, make_user
from support import run_cli

from store.audit import audit
from store.models import AuditEntry, StaffSession, User
from store.users import get_user

ADMIN = "ada@unit.example.org"


@asynccontextmanager
async def another_browser(client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser on the same app, with cookies of its own."""
    async with httpx.AsyncClient(transport=client._transport, base_url=client.base_url) as other:
        yield other


async def _as_admin(client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> str:
    """Log in as an admin; the CSRF token of their session."""
    await make_user(sessions, ADMIN, "admin", "Ada Admin")
    assert (await login(client, ADMIN)).status_code == 303
    return csrf_of((await client.get("/staff/users")).text)


async def _id_of(sessions: async_sessionmaker[AsyncSession], email: str) -> int:
    async with sessions() as db:
        user = await get_user(db, email)
    assert user is not None
    return user.id


async def _user(sessions: async_sessionmaker[AsyncSession], email: str) -> User:
    async with sessions() as db:
        user = await get_user(db, email)
    assert user is not None
    return user


async def _audited(sessions: async_sessionmaker[AsyncSession], action: str) -> list[tuple[str, str]]:
    async with sessions() as db:
        found = await db.execute(select(AuditEntry.actor, AuditEntry.detail).where(AuditEntry.action == action)
                                 .order_by(AuditEntry.id))
    return [(actor, detail) for actor, detail in found.all()]


def _one_time_password(html: str) -> str:
    found = re.search(r'id="one-time-password">([^<]+)<', html)
    assert found, "no one-time password on the page"
    return found.group(1)


# --- accounts --------------------------------------------------------------------------------------


async def test_an_admin_creates_an_account_whose_one_time_password_is_shown_once_and_works(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], caplog: pytest.LogCaptureFixture
) -> None:
    csrf = await _as_admin(client, sessions)
    caplog.set_level(logging.DEBUG)
    assert (await client.get("/staff/users/new")).status_code == 200
    made = await client.post("/staff/users/new", data={"csrf": csrf, "email": " Sam@Unit.example.org ",
                                                       "name": "Sam Smith", "role": "caseworker"})
    assert made.status_code == 200
    assert "Account created for sam@unit.example.org" in made.text
    assert made.headers["cache-control"].startswith("no-store")
    password = _one_time_password(made.text)
    # Never again: not on the users page, not in the audit log.
    users = await client.get("/staff/users")
    assert "sam@unit.example.org" in users.text and "Sam Smith" in users.text and password not in users.text
    assert await _audited(sessions, "user_created") == [(ADMIN, "sam@unit.example.org role=caseworker")]
    async with sessions() as db:
        details = (await db.execute(select(AuditEntry.detail))).scalars().all()
    assert not any(password in detail for detail in details)
    # It logs them in, to choose their own.
    async with another_browser(client) as sam:
        first = await login(sam, "sam@unit.example.org", password)
        assert first.status_code == 303 and first.headers["location"] == "/staff/password"
    assert password not in caplog.text  # nor in the logs


async def test_the_new_account_form_says_beside_each_field_what_is_wrong_and_keeps_what_was_typed(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    csrf = await _as_admin(client, sessions)
    bad = await client.post("/staff/users/new", data={"csrf": csrf, "email": "not an email", "name": "Sam"})
    assert bad.status_code == 400
    assert 'href="#email"' in bad.text and 'id="email-error"' in bad.text and "correct format" in bad.text
    assert 'href="#role-unit"' in bad.text and 'id="role-error"' in bad.text and "Choose their role" in bad.text
    assert 'value="not an email"' in bad.text and 'value="Sam"' in bad.text
    duplicate = await client.post("/staff/users/new", data={"csrf": csrf, "email": ADMIN.upper(), "role": "unit"})
    assert duplicate.status_code == 400 and f"{ADMIN} already has an account" in duplicate.text
    assert 'id="email-error"' in duplicate.text and 'value="unit" checked' in duplicate.text
    empty = await client.post("/staff/users/new", data={"csrf": csrf, "email": "", "role": "boss"})
    assert "Enter their work email address" in empty.text and "Choose their role" in empty.text
    async with sessions() as db:
        assert len((await db.execute(select(User))).scalars().all()) == 1
    assert await _audited(sessions, "user_created") == []


async def test_disabling_asks_first_ends_their_sessions_and_re_enabling_lets_them_back(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, "una@unit.example.org", "unit")
    csrf = await _as_admin(client, sessions)
    una = await _id_of(sessions, "una@unit.example.org")
    async with another_browser(client) as browser:
        await login(browser, "una@unit.example.org")
        assert (await browser.get("/staff/queue")).status_code == 200
        users = await client.get("/staff/users")
        assert f'href="/staff/users/{una}/disable"' in users.text
        confirm = await client.get(f"/staff/users/{una}/disable")
        assert "Disable the account of una@unit.example.org?" in confirm.text
        assert "govuk-button--warning" in confirm.text
        assert (await _user(sessions, "una@unit.example.org")).disabled is False  # asking changes nothing
        done = await client.post(f"/staff/users/{una}/disable", data={"csrf": csrf})
        assert done.status_code == 303
        banner = await client.get(done.headers["location"])
        assert "Account for una@unit.example.org disabled." in banner.text
        assert "govuk-notification-banner" in banner.text
        assert (await browser.get("/staff/queue")).status_code == 303  # their session is over
        assert (await login(browser, "una@unit.example.org")).status_code == 401
        async with sessions() as db:
            open_sessions = (await db.execute(select(StaffSession).where(StaffSession.user_id == una,
                                                                         StaffSession.ended_at.is_(None)))).all()
        assert open_sessions == []
        again = await client.post(f"/staff/users/{una}/enable", data={"csrf": csrf})
        assert "re-enabled" in (await client.get(again.headers["location"])).text
        assert (await login(browser, "una@unit.example.org")).status_code == 303
    assert await _audited(sessions, "user_disabled") == [(ADMIN, "una@unit.example.org")]
    assert await _audited(sessions, "user_enabled") == [(ADMIN, "una@unit.example.org")]


async def test_an_admin_cannot_disable_themselves_nor_the_command_line_the_last_admin(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], env_for_cli: dict[str, Any]
) -> None:
    csrf = await _as_admin(client, sessions)
    me = await _id_of(sessions, ADMIN)
    assert f"/staff/users/{me}/disable" not in (await client.get("/staff/users")).text
    refused = await client.post(f"/staff/users/{me}/disable", data={"csrf": csrf})
    assert refused.status_code == 409 and "cannot disable your own account" in refused.text
    own_reset = await client.post(f"/staff/users/{me}/reset-password", data={"csrf": csrf})
    assert own_reset.status_code == 409 and "one-time-password" not in own_reset.text
    last = await run_cli(env_for_cli, "users", "disable", ADMIN)
    assert last.returncode == 1 and "last admin" in last.stderr
    assert (await _user(sessions, ADMIN)).disabled is False
    assert await _audited(sessions, "user_disabled") == []
    # With a second admin, the command line may disable the first.
    await make_user(sessions, "bo@unit.example.org", "admin")
    assert (await run_cli(env_for_cli, "users", "disable", ADMIN)).returncode == 0
    assert await _audited(sessions, "user_disabled") == [("cli", ADMIN)]
    assert (await run_cli(env_for_cli, "users", "enable", ADMIN)).returncode == 0
    assert (await _user(sessions, ADMIN)).disabled is False


async def test_an_admin_unlocks_a_locked_account(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, "una@unit.example.org", "unit")
    csrf = await _as_admin(client, sessions)
    una = await _id_of(sessions, "una@unit.example.org")
    async with another_browser(client) as browser:
        for _ in range(5):
            await login(browser, "una@unit.example.org", "wrong password!")
        assert (await login(browser, "una@unit.example.org")).status_code == 401
        users = await client.get("/staff/users")
        assert "locked" in users.text and f'action="/staff/users/{una}/unlock"' in users.text
        done = await client.post(f"/staff/users/{una}/unlock", data={"csrf": csrf})
        assert "Account for una@unit.example.org unlocked." in (await client.get(done.headers["location"])).text
        assert (await login(browser, "una@unit.example.org")).status_code == 303
    assert await _audited(sessions, "user_unlocked") == [(ADMIN, "una@unit.example.org")]


async def test_a_password_reset_asks_first_shows_the_new_one_once_and_ends_their_sessions(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, "una@unit.example.org", "unit")
    csrf = await _as_admin(client, sessions)
    una = await _id_of(sessions, "una@unit.example.org")
    async with another_browser(client) as browser:
        await login(browser, "una@unit.example.org")
        confirm = await client.get(f"/staff/users/{una}/reset-password")
        assert "Reset the password of una@unit.example.org?" in confirm.text
        async with another_browser(client) as another:  # asking changes nothing
            assert (await login(another, "una@unit.example.org")).status_code == 303
        reset = await client.post(f"/staff/users/{una}/reset-password", data={"csrf": csrf})
        assert reset.status_code == 200 and "Password reset for una@unit.example.org" in reset.text
        password = _one_time_password(reset.text)
        assert password not in (await client.get("/staff/users")).text
        assert (await browser.get("/staff/queue")).status_code == 303  # their session is over
        assert (await login(browser, "una@unit.example.org", PASSWORD)).status_code == 401
        # The one-time password, then their second factor (still set up), then a password of their own.
        assert (await login(browser, "una@unit.example.org", password)).status_code == 303
        assert (await browser.get("/staff/queue")).headers["location"] == "/staff/password"
    assert await _audited(sessions, "password_reset") == [(ADMIN, "una@unit.example.org")]


@pytest.mark.parametrize("role", ["unit", "caseworker"])
async def test_only_an_admin_may_do_any_of_it(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], role: str
) -> None:
    await make_user(sessions, ADMIN, "admin")
    target = await _id_of(sessions, ADMIN)
    await make_user(sessions, "someone@unit.example.org", role)
    await login(client, "someone@unit.example.org")
    csrf = csrf_of((await client.get("/staff/password")).text)
    for path in ("/staff/users", "/staff/users/new", f"/staff/users/{target}/disable",
                 f"/staff/users/{target}/reset-password", "/staff/audit", "/staff/audit.csv"):
        assert (await client.get(path)).status_code == 403, path
    posts = {"/staff/users/new": {"email": "new@unit.example.org", "role": "admin"},
             **{f"/staff/users/{target}/{change}": {} for change in ("disable", "enable", "unlock", "reset-password")}}
    for path, data in posts.items():
        assert (await client.post(path, data={"csrf": csrf, **data})).status_code == 403, path
    async with sessions() as db:
        assert len((await db.execute(select(User))).scalars().all()) == 2
        actions = set((await db.execute(select(AuditEntry.action))).scalars())
    assert (await _user(sessions, ADMIN)).disabled is False
    assert not actions & {"user_created", "user_disabled", "user_enabled", "user_unlocked", "password_reset",
                          "view_users", "view_audit", "export_audit"}


async def test_every_change_needs_the_sessions_csrf_token(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, "una@unit.example.org", "unit")
    await _as_admin(client, sessions)
    una = await _id_of(sessions, "una@unit.example.org")
    for change in ("disable", "enable", "unlock", "reset-password"):
        assert (await client.post(f"/staff/users/{una}/{change}", data={"csrf": "forged"})).status_code == 403
    assert (await client.post("/staff/users/new", data={"email": "x@unit.example.org", "role": "admin"})
            ).status_code == 403
    assert (await _user(sessions, "una@unit.example.org")).disabled is False
    assert (await client.get("/staff/users?done=disabled&user=x²")).status_code == 200
    assert (await client.post("/staff/users/999999/disable",
                              data={"csrf": csrf_of((await client.get("/staff/users")).text)})).status_code == 404


# --- the audit log ---------------------------------------------------------------------------------


async def _entries(sessions: async_sessionmaker[AsyncSession], start: datetime, count: int, actor: str,
                   action: str, detail: str = "") -> None:
    async with sessions() as db, db.begin():
        for n in range(count):
            await audit(db, actor, action, start + timedelta(minutes=n), detail=detail)


async def test_the_audit_log_filters_from_lists_and_dates_and_pages_keeping_the_filters(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, "una@unit.example.org", "unit", "Una Unit")
    noon = datetime(2026, 3, 10, 12, tzinfo=UTC)
    await _entries(sessions, noon, 120, "una@unit.example.org", "view")
    await _entries(sessions, noon + timedelta(days=1), 5, "una@unit.example.org", "view")
    await _entries(sessions, noon, 3, "una@unit.example.org", "claim")
    await _as_admin(client, sessions)
    page = await client.get("/staff/audit")
    # The lists offer the actions the log holds and the accounts.
    assert '<option value="claim"' in page.text and '<option value="view"' in page.text
    assert '<option value="una@unit.example.org"' in page.text and "Una Unit (una@unit.example.org)" in page.text
    query = {"actor": "una@unit.example.org", "action": "view", "from-day": "10", "from-month": "3",
             "from-year": "2026", "to-day": "10", "to-month": "3", "to-year": "2026"}
    first = await client.get("/staff/audit", params=query)
    assert first.status_code == 200 and "120 entries, newest first: page 1 of 3" in first.text
    assert first.text.count('data-label="What">view<') == 50 and 'data-label="What">claim<' not in first.text
    assert 'class="govuk-pagination"' in first.text and 'rel="prev"' not in first.text
    assert 'value="10"' in first.text and '<option value="view" selected>' in first.text
    next_link = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert next_link
    second = await client.get(next_link.group(1).replace("&amp;", "&"))
    assert "page 2 of 3" in second.text and 'rel="prev"' in second.text and 'rel="next"' in second.text
    assert '<option value="una@unit.example.org" selected>' in second.text  # the filters held across pages
    last = await client.get("/staff/audit", params={**query, "page": "3"})
    assert last.text.count('data-label="What">view<') == 20 and 'rel="next"' not in last.text
    # Viewing the log is itself in the log, with the filters used.
    views = await _audited(sessions, "view_audit")
    assert views[-1] == (ADMIN, "actor=una@unit.example.org action=view from-day=10 from-month=3 from-year=2026 "
                                "to-day=10 to-month=3 to-year=2026 page=3")


async def test_dates_that_are_not_real_are_said_beside_the_fields(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _as_admin(client, sessions)
    bad = await client.get("/staff/audit", params={"from-day": "31", "from-month": "2", "from-year": "2026",
                                                   "to-day": "1", "to-month": "", "to-year": "2026"})
    assert bad.status_code == 400
    assert 'href="#from-day"' in bad.text and "Date from must be a real date" in bad.text
    assert 'href="#to-day"' in bad.text and "Date to must include a month" in bad.text
    assert 'id="from-error"' in bad.text and 'value="31"' in bad.text
    backwards = await client.get("/staff/audit", params={"from-day": "2", "from-month": "3", "from-year": "2026",
                                                         "to-day": "1", "to-month": "3", "to-year": "2026"})
    assert "Date to must be the same as or after date from" in backwards.text
    assert (await client.get("/staff/audit.csv", params={"from-day": "x"})).status_code == 400


async def test_the_audit_export_is_the_filtered_rows_safe_for_a_spreadsheet_and_audited(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    noon = datetime(2026, 3, 10, 12, tzinfo=UTC)
    await _entries(sessions, noon, 60, "=cmd|' /C calc'!A0", "login_failed", detail="@SUM(1+1)")
    await _entries(sessions, noon, 2, "cli", "user_created", detail="+44 nothing")
    await _as_admin(client, sessions)
    export = await client.get("/staff/audit.csv", params={"action": "login_failed"})
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0] == ["at", "actor", "action", "reference", "detail"]
    assert len(rows) == 61  # every matching row, not a page of them
    assert all(row[1] == "'=cmd|' /C calc'!A0" and row[4] == "'@SUM(1+1)" for row in rows[1:])
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert await _audited(sessions, "export_audit") == [(ADMIN, "action=login_failed rows=60")]
    page = await client.get("/staff/audit", params={"action": "login_failed"})
    assert 'href="/staff/audit.csv?action=login_failed"' in page.text


async def test_sessions_ended_by_disabling_stay_ended_when_re_enabled(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, "una@unit.example.org", "unit")
    csrf = await _as_admin(client, sessions)
    una = await _id_of(sessions, "una@unit.example.org")
    async with another_browser(client) as browser:
        await login(browser, "una@unit.example.org")
        await client.post(f"/staff/users/{una}/disable", data={"csrf": csrf})
        await client.post(f"/staff/users/{una}/enable", data={"csrf": csrf})
        assert (await browser.get("/staff/queue")).status_code == 303  # the old cookie opens nothing again
