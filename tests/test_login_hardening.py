"""Logging in under attack: parallel guesses, answers that tell nothing, and an audit log of accounts only."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Literal

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from staff_support import PASSWORD, csrf_of, login, make_user
from support import TEST_KEY

from bot.settings import Settings, load_settings
from bot.web import create_app
from store import users
from store.models import AuditEntry
from store.users import LOCK_AFTER, UserError, get_user

UNIT = "unit@unit.example.org"


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


def _browser(app: FastAPI, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """A browser of its own (its own cookies) at a given address."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 40000)),
                             base_url="http://testserver")


async def _attempt(app: FastAPI, email: str, password: str, address: str = "127.0.0.1") -> httpx.Response:
    """One login from its own browser at a given address."""
    async with _browser(app, address) as http:
        return await login(http, email, password)


async def test_parallel_wrong_passwords_lock_the_account_at_its_limit(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, UNIT, "unit")
    # Each from its own address, so only the account's lock can stop them.
    answers = await asyncio.gather(*(_attempt(app, UNIT, f"wrong password {n}", f"10.0.0.{n}") for n in range(30)))
    assert {answer.status_code for answer in answers} == {401}
    async with sessions() as db:
        user = await get_user(db, UNIT)
        assert user is not None and user.locked_until is not None and user.locked_until > datetime.now(UTC)
        checked = (await db.execute(select(AuditEntry.detail).where(AuditEntry.action == "login_failed"))).scalars()
        details = list(checked)
    # Exactly the limit were checked against the password; the rest were refused as locked.
    assert details.count("") == LOCK_AFTER and details.count("locked") == 30 - LOCK_AFTER
    assert (await _attempt(app, UNIT, PASSWORD, "10.0.1.1")).status_code == 401


async def test_parallel_wrong_passwords_from_one_address_stop_at_the_throttles_limit(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession]
) -> None:
    answers = await asyncio.gather(*(_attempt(app, f"nobody{n}@unit.example.org", "wrong password") for n in range(60)))
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(401) == 20 and statuses.count(429) == 40
    async with sessions() as db:
        failures = (await db.execute(select(AuditEntry).where(AuditEntry.action == "login_failed"))).scalars().all()
    assert len(failures) == 20
    # Another address is not held back by this one.
    await make_user(sessions, UNIT, "unit")
    assert (await _attempt(app, UNIT, PASSWORD, "10.0.0.2")).status_code == 303


async def test_a_right_password_does_not_count_against_its_address(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, UNIT, "unit")
    for _ in range(25):
        assert (await _attempt(app, UNIT, PASSWORD)).status_code == 303


def _page_text(response: httpx.Response) -> str:
    """The page without its per-response CSRF token and the email it keeps, for comparing answers."""
    return re.sub(r'value="[^"]*"', 'value=""', response.text)


async def test_locked_disabled_and_unknown_accounts_answer_exactly_like_a_wrong_password(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for email in ("wrong@unit.example.org", "locked@unit.example.org", "off@unit.example.org"):
        await make_user(sessions, email, "unit")
    async with sessions() as db, db.begin():
        off = await get_user(db, "off@unit.example.org")
        assert off is not None
        off.disabled = True
    for n in range(LOCK_AFTER):
        await _attempt(app, "locked@unit.example.org", f"guess {n}", "10.0.2.1")
    answers = [
        await _attempt(app, "wrong@unit.example.org", "not the password"),
        await _attempt(app, "locked@unit.example.org", PASSWORD),
        await _attempt(app, "off@unit.example.org", PASSWORD),
        await _attempt(app, "nobody@unit.example.org", PASSWORD),
    ]
    assert [answer.status_code for answer in answers] == [401] * 4
    assert len({_page_text(answer) for answer in answers}) == 1
    assert "or the account is locked" in answers[0].text and "ask an admin" in answers[0].text


async def test_a_failed_login_is_audited_as_the_account_never_as_the_typed_text(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, UNIT, "unit")
    await _attempt(app, "my-secret-password-typed-here", "oops")
    await _attempt(app, "cli", "claiming the command line")
    await _attempt(app, UNIT.upper(), "wrong password")
    async with sessions() as db:
        entries = (await db.execute(select(AuditEntry).where(AuditEntry.action == "login_failed")
                                    .order_by(AuditEntry.id))).scalars().all()
    assert [entry.actor for entry in entries] == ["unknown account", "unknown account", UNIT]
    assert all("secret" not in entry.detail and "cli" not in entry.detail for entry in entries)


async def test_no_staff_account_can_be_called_cli_so_the_command_lines_actor_cannot_be_claimed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    for name in ("cli", "CLI ", "cli@"):
        with pytest.raises(UserError):
            await make_user(sessions, name, "admin")


async def _password_form(http: httpx.AsyncClient, current: str, new: str) -> httpx.Response:
    page = await http.get("/staff/password")
    return await http.post("/staff/password", data={"csrf": csrf_of(page.text), "current": current, "new": new,
                                                    "again": new})


async def test_changing_a_password_needs_the_current_one_and_ends_the_members_other_sessions(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, UNIT, "unit")
    elsewhere, here = _browser(app), _browser(app)
    async with elsewhere, here:
        assert (await login(elsewhere, UNIT)).status_code == 303
        assert (await login(here, UNIT)).status_code == 303
        wrong = await _password_form(here, "not my password", "amber kettle orbit lantern")
        assert wrong.status_code == 400 and "current password is not right" in wrong.text
        assert (await elsewhere.get("/staff/queue")).status_code == 200  # nothing changed yet
        done = await _password_form(here, PASSWORD, "amber kettle orbit lantern")
        assert done.status_code == 303
        assert (await here.get("/staff/queue")).status_code == 200
        assert (await elsewhere.get("/staff/queue")).headers["location"] == "/staff/login"
    assert (await _attempt(app, UNIT, "amber kettle orbit lantern")).status_code == 303


@pytest.mark.parametrize("weak", ["aaaaaaaaaaaa", "password1234", "qwertyuiop123", "iloveyou12345"])
async def test_common_and_easily_guessed_passwords_are_refused(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession], weak: str
) -> None:
    await make_user(sessions, UNIT, "unit")
    async with _browser(app) as http:
        await login(http, UNIT)
        refused = await _password_form(http, PASSWORD, weak)
    assert refused.status_code == 400 and "harder to guess" in refused.text
    assert (await _attempt(app, UNIT, weak)).status_code == 401


async def test_a_one_time_password_stops_working_after_a_day(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession], settings: Settings
) -> None:
    assert settings.one_time_password_hours == 24
    fresh = await make_user(sessions, "fresh@unit.example.org", "unit", password=None)
    stale = await make_user(sessions, "stale@unit.example.org", "unit", password=None)
    async with sessions() as db, db.begin():
        user = await get_user(db, "stale@unit.example.org")
        assert user is not None and user.password_set_at is not None
        user.password_set_at -= timedelta(hours=25)
    assert (await _attempt(app, "fresh@unit.example.org", fresh)).headers["location"] == "/staff/password"
    expired = await _attempt(app, "stale@unit.example.org", stale)
    assert expired.status_code == 401 and "ask an admin" in expired.text


async def test_https_deployments_send_strict_transport_security_and_plain_http_ones_do_not(
    database_url: str,
) -> None:
    for base, expected in (("https://referrals.example.org", True), ("http://127.0.0.1:8000", False)):
        settings = load_settings(database_url=database_url, data_key=TEST_KEY, public_base_url=base)
        app = create_app(settings)
        async with app.router.lifespan_context(app), _browser(app) as http:
            page = await http.get("/staff/login")
        assert ("max-age=31536000" in page.headers.get("strict-transport-security", "")) is expected


async def test_a_forged_host_header_is_refused_before_it_can_shape_a_redirect(app: FastAPI) -> None:
    async with _browser(app) as http:
        forged = await http.get("/staff/", headers={"host": "evil.example.net"})
        ours = await http.get("/staff/", headers={"host": "127.0.0.1:8000"})
    assert forged.status_code == 400 and "evil" not in forged.headers.get("location", "")
    assert ours.status_code in (303, 307) and "evil" not in ours.headers.get("location", "")


async def test_a_huge_id_in_a_path_is_a_404_not_a_server_error(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, UNIT, "unit")
    async with _browser(app) as http:
        await login(http, UNIT)
        page = await http.get("/staff/queue")
        for number in ("99999999999999999999999", "2147483648", "0"):
            response = await http.post(f"/staff/referrals/LGX-AAAAA/sessions/{number}/cancel",
                                       data={"csrf": csrf_of(page.text)})
            assert response.status_code == 404, number
            assert "Traceback" not in response.text


class _ThreadNotingHasher(PasswordHasher):
    """argon2 at the tests' cost, noting which thread each check and hash ran on."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=8, parallelism=1)
        self.threads: list[int] = []

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        self.threads.append(threading.get_ident())
        return super().verify(hash, password)

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.threads.append(threading.get_ident())
        return super().hash(password, salt=salt)


async def test_argon2_runs_off_the_event_loop_for_logins_and_password_changes(
    app: FastAPI, sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    # On the event loop, eight parallel checks at production's cost held /healthz and SMS webhooks for seconds.
    noting = _ThreadNotingHasher()
    monkeypatch.setattr(users, "_hasher", noting)
    monkeypatch.setattr(users, "_DUMMY_HASH", noting.hash("not a real password, only for timing"))
    await make_user(sessions, UNIT, "unit")
    noting.threads.clear()
    await asyncio.gather(*(_attempt(app, email, "wrong password", f"10.0.3.{n}")
                           for n, email in enumerate([UNIT, "nobody@unit.example.org"] * 4)))
    async with _browser(app) as http:
        await login(http, UNIT)
        assert (await _password_form(http, PASSWORD, "amber kettle orbit lantern")).status_code == 303
    assert len(noting.threads) >= 12
    assert threading.get_ident() not in noting.threads
