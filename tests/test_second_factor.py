"""The staff second factor: setting up an authenticator app, the code after the password, recovery codes, resets."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from staff_support import (
    PASSWORD,
    TOTP_SECRET,
    code_at,
    csrf_of,
    current_step,
    login,
    make_user,
    recovery_codes_on,
    set_up_second_factor,
)
from support import run_cli
from test_staff_routes_guarded import PUBLIC, _url, staff_routes

from store.models import AuditEntry, RecoveryCode, SecondFactor, StaffSession, User
from store.second_factor import matching_step, second_factor_of
from store.users import LOCK_AFTER, get_user

UNIT = "unit@unit.example.org"
ADMIN = "admin@unit.example.org"
NEW = "new@unit.example.org"
CODE_PAGE = "/staff/two-factor"
SETUP_PAGE = "/staff/two-factor/setup"


async def _password_only(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    """Log in with the password alone, stopping where the second factor begins."""
    page = await http.get("/staff/login")
    return await http.post("/staff/login", data={"email": email, "password": password, "csrf": csrf_of(page.text)})


async def _post_code(http: httpx.AsyncClient, code: str, path: str = CODE_PAGE) -> httpx.Response:
    page = await http.get(path)
    assert page.status_code == 200, page.headers.get("location")
    return await http.post(path, data={"code": code, "csrf": csrf_of(page.text)})


async def _log_out(http: httpx.AsyncClient) -> None:
    page = await http.get("/staff/queue")
    await http.post("/staff/logout", data={"csrf": csrf_of(page.text)})


async def _new_member(http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]) -> tuple[str, list[str]]:
    """A new account through its whole first login: (its secret, its recovery codes)."""
    one_time = await make_user(sessions, NEW, "unit", password=None)
    await _password_only(http, NEW, one_time)
    page = await http.get("/staff/password")
    await http.post("/staff/password", data={"csrf": csrf_of(page.text), "current": one_time, "new": PASSWORD,
                                             "again": PASSWORD})
    shown, secret = await set_up_second_factor(http)
    return secret, recovery_codes_on(shown.text)


async def _actions(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[str, str, str]]:
    async with sessions() as db:
        found = await db.execute(select(AuditEntry.actor, AuditEntry.action, AuditEntry.detail).order_by(AuditEntry.id))
    return [(a, b, c) for a, b, c in found]


def _wrong(secret: str = TOTP_SECRET) -> str:
    """A six-digit code that is none of the codes the app would take now."""
    takes = {code_at(current_step() + n, secret) for n in range(-2, 3)}
    return next(code for code in ("000000", "111111", "222222", "333333", "444444", "555555") if code not in takes)


def test_a_code_is_taken_one_step_either_side_of_now_and_no_further() -> None:
    now = datetime.now(UTC)
    step = int(now.timestamp()) // 30
    for offset in (-1, 0, 1):
        assert matching_step(TOTP_SECRET, code_at(step + offset), now) == step + offset
    for offset in (-3, -2, 2, 3):
        assert matching_step(TOTP_SECRET, code_at(step + offset), now) != step + offset
    assert matching_step(TOTP_SECRET, f" {code_at(step)[:3]} {code_at(step)[3:]} ", now) == step  # as people type it
    assert matching_step(TOTP_SECRET, "12345", now) is None and matching_step(TOTP_SECRET, "abcdef", now) is None


async def test_a_new_member_sets_up_an_authenticator_app_after_choosing_a_password(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    one_time = await make_user(sessions, NEW, "unit", password=None)
    assert (await _password_only(client, NEW, one_time)).headers["location"] == "/staff/password"
    page = await client.get("/staff/password")
    done = await client.post("/staff/password", data={"csrf": csrf_of(page.text), "current": one_time,
                                                      "new": PASSWORD, "again": PASSWORD})
    assert done.status_code == 303
    assert (await client.get("/staff/queue")).headers["location"] == SETUP_PAGE

    setup = await client.get(SETUP_PAGE)
    assert setup.status_code == 200
    assert "<svg" in setup.text and "QR code for your authenticator app" in setup.text
    shown = re.search(r'<code id="secret">([A-Z2-7]{4}(?: [A-Z2-7]{1,4})+)</code>', setup.text)
    assert shown, "the secret is shown as text, in groups"
    secret = shown.group(1).replace(" ", "")
    assert 'autocomplete="one-time-code"' in setup.text and 'inputmode="numeric"' in setup.text
    assert (await client.get(SETUP_PAGE)).text.count(shown.group(1)) == 1  # the same secret until it is confirmed

    wrong = await client.post(SETUP_PAGE, data={"code": _wrong(secret), "csrf": csrf_of(setup.text)})
    assert wrong.status_code == 400
    assert "<title>Error: " in wrong.text and "govuk-error-summary" in wrong.text and 'id="code-error"' in wrong.text
    assert (await client.get("/staff/queue")).headers["location"] == SETUP_PAGE

    right = await client.post(SETUP_PAGE, data={"code": code_at(current_step(), secret), "csrf": csrf_of(setup.text)})
    assert right.status_code == 200 and "Save your recovery codes" in right.text
    codes = recovery_codes_on(right.text)
    assert len(codes) == len(set(codes)) == 10
    assert (await client.get("/staff/queue")).status_code == 200
    assert (await client.get(SETUP_PAGE)).headers["location"] == "/staff"  # done: no second set-up

    async with sessions() as db:
        raw = (await db.execute(text("SELECT secret FROM staff_second_factors"))).scalar_one()
        hashes = (await db.execute(select(RecoveryCode.code_hash))).scalars().all()
    assert secret.encode() not in bytes(raw)  # encrypted at rest
    assert len(hashes) == 10 and all(h.startswith("$argon2") for h in hashes)
    assert not any(code.replace("-", "") in h for code in codes for h in hashes)
    assert (NEW, "second_factor_enrolled", "") in await _actions(sessions)


async def test_a_login_needs_the_code_after_the_password_and_takes_each_code_once(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, UNIT, "unit")
    assert (await _password_only(client, UNIT)).headers["location"] == CODE_PAGE
    assert (await client.get("/staff/queue")).headers["location"] == CODE_PAGE
    page = await client.get(CODE_PAGE)
    assert "<h1" in page.text and page.text.count("<h1") == 1
    assert "Enter the code from your authenticator app" in page.text and "Use a recovery code instead" in page.text
    assert 'autocomplete="one-time-code"' in page.text and 'inputmode="numeric"' in page.text

    wrong = await _post_code(client, _wrong())
    assert wrong.status_code == 401 and "<title>Error: " in wrong.text and 'id="code-error"' in wrong.text
    async with sessions() as db:
        user = await get_user(db, UNIT)
        assert user is not None and user.failed_logins == 2  # the password's attempt, then the wrong code

    code = code_at(current_step())
    right = await _post_code(client, code)
    assert right.status_code == 303 and right.headers["location"] == "/staff"
    assert (await client.get("/staff/queue")).status_code == 200
    async with sessions() as db:
        user = await get_user(db, UNIT)
        assert user is not None and user.failed_logins == 0

    await _log_out(client)
    await _password_only(client, UNIT)
    replayed = await _post_code(client, code)
    assert replayed.status_code == 401 and "used already" in replayed.text
    assert (await client.get("/staff/queue")).headers["location"] == CODE_PAGE
    assert (await _post_code(client, code_at(current_step() + 1))).status_code == 303
    actions = [(actor, action) for actor, action, _ in await _actions(sessions)]
    assert actions.count((UNIT, "login_second_factor")) == 2 and actions.count((UNIT, "second_factor_failed")) == 2


async def test_the_same_code_from_two_browsers_at_once_lets_only_one_in(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, UNIT, "unit")
    app = client._transport.app  # type: ignore[attr-defined]
    browsers = [httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(f"10.0.1.{n}", 40000)),
                                  base_url="http://testserver") for n in range(4)]
    try:
        forms = []
        for http in browsers:
            await _password_only(http, UNIT)
            forms.append(csrf_of((await http.get(CODE_PAGE)).text))
        code = code_at(current_step())
        answers = await asyncio.gather(*(http.post(CODE_PAGE, data={"code": code, "csrf": csrf})
                                         for http, csrf in zip(browsers, forms, strict=True)))
    finally:
        for http in browsers:
            await http.aclose()
    assert sorted(answer.status_code for answer in answers) == [303, 401, 401, 401]


async def test_wrong_codes_lock_the_account_as_wrong_passwords_do(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, UNIT, "unit")
    await _password_only(client, UNIT)
    page = await client.get(CODE_PAGE)
    statuses = []
    for _ in range(LOCK_AFTER):
        answer = await client.post(CODE_PAGE, data={"code": _wrong(), "csrf": csrf_of(page.text)})
        statuses.append(answer.status_code)
        if answer.status_code == 429:
            assert "locked for 15 minutes" in answer.text
            break
    # The password's attempt and the wrong codes count together: the fifth failure locks the account.
    assert statuses == [401] * (LOCK_AFTER - 1) + [429]
    assert (await client.get(CODE_PAGE)).headers["location"] == "/staff/login"  # that session is over
    assert (await _password_only(client, UNIT)).status_code == 401  # and the right password waits for the lock
    async with sessions() as db:
        user = await get_user(db, UNIT)
        assert user is not None and user.locked_until is not None and user.locked_until > datetime.now(UTC)


async def test_a_right_password_does_not_wipe_out_wrong_codes(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, UNIT, "unit")
    for _ in range(2):
        await _password_only(client, UNIT)
        assert (await _post_code(client, _wrong())).status_code == 401
    async with sessions() as db:
        user = await get_user(db, UNIT)
        assert user is not None and user.failed_logins == 4


async def test_a_recovery_code_lets_a_member_in_once(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    _, codes = await _new_member(client, sessions)
    await _log_out(client)

    await _password_only(client, NEW)
    page = await client.get("/staff/two-factor/recovery")
    assert page.status_code == 200 and "Enter a recovery code" in page.text
    first = await _post_code(client, f" {codes[0].upper()} ", "/staff/two-factor/recovery")  # as people copy it
    assert first.status_code == 303 and first.headers["location"] == "/staff"
    assert (await client.get("/staff/queue")).status_code == 200
    await _log_out(client)

    await _password_only(client, NEW)
    again = await _post_code(client, codes[0], "/staff/two-factor/recovery")
    assert again.status_code == 401 and "<title>Error: " in again.text
    assert (await client.get("/staff/queue")).headers["location"] == CODE_PAGE
    assert (await _post_code(client, codes[1], "/staff/two-factor/recovery")).status_code == 303
    async with sessions() as db:
        used = (await db.execute(select(RecoveryCode.used_at.is_not(None)))).scalars().all()
    assert sorted(used) == [False] * 8 + [True] * 2
    assert (NEW, "login_recovery_code", "9 left") in await _actions(sessions)


async def test_reset_mfa_from_the_command_line_makes_them_set_up_again_and_ends_their_sessions(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], env_for_cli: dict[str, Any]
) -> None:
    await make_user(sessions, UNIT, "unit")
    await login(client, UNIT)
    assert (await client.get("/staff/queue")).status_code == 200
    listed = await run_cli(env_for_cli, "users", "list")
    assert "second factor set up" in listed.stdout

    reset = await run_cli(env_for_cli, "users", "reset-mfa", UNIT)
    assert reset.returncode == 0, reset.stderr
    assert "Reset the second factor" in reset.stdout
    assert (await client.get("/staff/queue")).headers["location"] == "/staff/login"
    async with sessions() as db:
        assert (await db.execute(select(SecondFactor))).first() is None
        assert (await db.execute(select(RecoveryCode))).first() is None
    assert ("cli", "second_factor_reset", UNIT) in await _actions(sessions)
    assert (await _password_only(client, UNIT)).headers["location"] == SETUP_PAGE
    assert "no second factor" in (await run_cli(env_for_cli, "users", "list")).stdout
    assert (await run_cli(env_for_cli, "users", "reset-mfa", "nobody@unit.example.org")).returncode == 1


async def test_an_admin_resets_a_second_factor_from_the_users_page_after_confirming(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, ADMIN, "admin")
    await make_user(sessions, UNIT, "unit")
    await make_user(sessions, "other@unit.example.org", "unit", password=None)  # not set up yet
    app = client._transport.app  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as member:
        await login(member, UNIT)
        assert (await member.get("/staff/queue")).status_code == 200
        async with sessions() as db:
            unit = await get_user(db, UNIT)
            assert unit is not None
        # Not for the unit's own role.
        page = await member.get("/staff/queue")
        refused = await member.post(f"/staff/users/{unit.id}/second-factor/reset",
                                    data={"csrf": csrf_of(page.text), "confirm": "yes"})
        assert refused.status_code == 403

        await login(client, ADMIN)
        users = await client.get("/staff/users")
        assert users.status_code == 200 and "Second factor" in users.text
        assert users.text.count(">Set up") + users.text.count("Set up\n") >= 2 and "Not set up" in users.text
        assert f'action="/staff/users/{unit.id}/second-factor/reset"' in users.text
        no_csrf = await client.post(f"/staff/users/{unit.id}/second-factor/reset", data={"confirm": "yes"})
        assert no_csrf.status_code == 403

        confirm = await client.post(f"/staff/users/{unit.id}/second-factor/reset", data={"csrf": csrf_of(users.text)})
        assert confirm.status_code == 200 and "Yes, reset their second factor" in confirm.text
        async with sessions() as db:
            assert await second_factor_of(db, unit.id) is not None  # nothing happens before the confirmation

        done = await client.post(f"/staff/users/{unit.id}/second-factor/reset",
                                 data={"csrf": csrf_of(confirm.text), "confirm": "yes"})
        assert done.status_code == 200 and "is reset" in done.text
        async with sessions() as db:
            assert await second_factor_of(db, unit.id) is None
        assert (await member.get("/staff/queue")).headers["location"] == "/staff/login"
        assert (ADMIN, "second_factor_reset", UNIT) in await _actions(sessions)
        assert (await client.get("/staff/queue")).status_code == 200  # the admin's own session goes on


@pytest.mark.parametrize("step", ["code", "set-up"])
async def test_a_session_past_only_its_password_reaches_no_staff_page(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], step: str
) -> None:
    """Every GET staff route (exports too), and every form, with a password-only session: to the code page."""
    await make_user(sessions, ADMIN, "admin")
    if step == "set-up":
        async with sessions() as db, db.begin():
            admin = await get_user(db, ADMIN)
            assert admin is not None
            await db.delete(await second_factor_of(db, admin.id))
    expected = CODE_PAGE if step == "code" else SETUP_PAGE
    assert (await _password_only(client, ADMIN)).headers["location"] == expected
    csrf = csrf_of((await client.get(expected)).text)
    app = client._transport.app  # type: ignore[attr-defined]
    # The pages of this step and logging out are the only ones open to it.
    open_to_it = {("GET", expected), ("POST", expected), ("POST", "/staff/logout")}
    if step == "code":
        open_to_it |= {("GET", CODE_PAGE + "/recovery"), ("POST", CODE_PAGE + "/recovery")}
    routes = [(method, path) for method, path, _ in staff_routes(app) if (method, path) not in PUBLIC | open_to_it]
    assert ("GET", "/staff/export.csv") in routes and len(routes) >= 20
    leaks = {}
    for method, path in routes:
        form = {"csrf": csrf, "action": "claim", "confirm": "yes", "code": "123456", "day": "2027-01-04",
                "time": "16:00", "on": "1"}
        answer = await client.request(method, _url(path), data=form if method == "POST" else None)
        went = answer.headers.get("location")
        # A step already past (or not this one) sends it on to its own step; never a page with data.
        if not (answer.status_code == 303 and went in (expected, "/staff")):
            leaks[f"{method} {path}"] = (answer.status_code, went)
    assert leaks == {}
    async with sessions() as db:
        passed = (await db.execute(select(StaffSession.second_factor_at))).scalars().all()
        still = await db.get(User, 1)
    assert passed == [None] and still is not None and still.must_change_password is False


async def test_an_admin_reset_password_asks_the_code_before_the_new_password(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, UNIT, "unit")
    async with sessions() as db, db.begin():
        from store.users import reset_password

        user = await get_user(db, UNIT)
        assert user is not None
        one_time = await reset_password(db, user, datetime.now(UTC))
    assert (await _password_only(client, UNIT, one_time)).headers["location"] == CODE_PAGE
    assert (await client.get("/staff/password")).headers["location"] == CODE_PAGE
    assert (await _post_code(client, code_at(current_step()))).headers["location"] == "/staff"
    assert (await client.get("/staff/queue")).headers["location"] == "/staff/password"
    assert (await client.get("/staff/password")).status_code == 200


async def test_sessions_from_before_the_second_factor_are_asked_for_it(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, UNIT, "unit")
    await login(client, UNIT)
    async with sessions() as db, db.begin():
        await db.execute(text("UPDATE staff_sessions SET second_factor_at = NULL"))
    assert (await client.get("/staff/queue")).headers["location"] == CODE_PAGE
