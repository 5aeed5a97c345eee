"""The staff pages' security: sessions, roles, CSRF, lockout, headers, and the audit trail."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import argon2
import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from staff_support import PASSWORD, csrf_of, login, make_user, set_up_second_factor
from support import PERSONAL, WHOLE_REFERRAL, chat, run_cli

from flows.channels import Channel
from store.models import AuditEntry
from store.referrals import create_referral
from store.users import get_user

STAFF_PAGES = ["/staff", "/staff/queue", "/staff/mine", "/staff/audit", "/staff/users", "/staff/export.csv",
               "/staff/referrals/LGX-AAAAA", "/staff/password"]


async def _reference(client: httpx.AsyncClient, session: str) -> str:
    replies = await chat(client, session, WHOLE_REFERRAL)
    return replies[-1][0].split("Referral ", 1)[1].split(" ", 1)[0]


async def _real_referral(sessions: async_sessionmaker[AsyncSession]) -> str:
    """A referral as if it came by SMS, with the personal details a chat gives."""
    async with sessions() as db, db.begin():
        referral = await create_referral(
            db, reference="LGX-SMS01", channel=Channel.SMS, details=dict(PERSONAL), borough="Lambeth", age=19,
            urgency="normal", referrer_hash="x", safeguarding_flag=False, now=datetime.now(UTC))
    return referral.reference


@pytest.mark.parametrize("path", STAFF_PAGES)
async def test_logged_out_requests_to_any_staff_page_go_to_the_login(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login"


async def test_a_logged_out_post_is_redirected_and_changes_nothing(client: httpx.AsyncClient) -> None:
    response = await client.post("/staff/referrals/LGX-AAAAA/actions", data={"action": "claim"})
    assert response.status_code == 303 and response.headers["location"] == "/staff/login"


async def test_a_caseworker_cannot_open_a_referral_not_allocated_to_them(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession], env_for_cli: dict[str, Any]
) -> None:
    mine = await _reference(client, "one")
    theirs = await _reference(client, "two")
    await make_user(sessions, "cw@unit.example.org", "caseworker", "Casey")
    for reference in (mine, theirs):
        for step in (["claim", reference], ["accept", reference]):
            assert (await run_cli(env_for_cli, "referrals", *step)).returncode == 0
    assert (await run_cli(env_for_cli, "referrals", "allocate", mine, "--to", "cw@unit.example.org")).returncode == 0
    await login(client, "cw@unit.example.org")
    assert (await client.get(f"/staff/referrals/{mine}")).status_code == 200
    refused = await client.get(f"/staff/referrals/{theirs}")
    assert refused.status_code == 403
    assert PERSONAL["yp_first_name"] not in refused.text
    assert (await client.get("/staff/queue")).status_code == 403
    assert (await client.get("/staff/export.csv")).status_code == 403
    assert (await client.get("/staff/audit")).status_code == 403
    page = await client.get("/staff/mine")
    assert mine in page.text and theirs not in page.text
    async with sessions() as db:
        refusals = (
            (await db.execute(select(AuditEntry.reference).where(AuditEntry.action == "view_refused"))).scalars().all()
        )
    assert refusals == [theirs]


async def test_unit_staff_see_the_queue_but_not_the_audit_log(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    reference = await _reference(client, "q")  # made in the simulator: shown when staff ask for test referrals
    await make_user(sessions, "unit@unit.example.org", "unit")
    await login(client, "unit@unit.example.org")
    queue = await client.get("/staff/queue", params={"tests": "1"})
    assert queue.status_code == 200 and reference in queue.text
    assert PERSONAL["yp_first_name"] not in queue.text  # the queue shows no names
    assert (await client.get("/staff/audit")).status_code == 403
    assert (await client.get("/staff/users")).status_code == 403
    # Every London borough can be filtered on; the referral (from Lambeth) shows under its own only.
    assert queue.text.count("<option") >= 33 and "<option >Barking and Dagenham</option>" in queue.text
    assert reference in (await client.get("/staff/queue", params={"borough": "Lambeth", "tests": "1"})).text
    assert reference not in (await client.get("/staff/queue", params={"borough": "Hackney", "tests": "1"})).text


async def test_a_form_without_the_csrf_token_is_refused(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    reference = await _reference(client, "csrf")
    await make_user(sessions, "unit@unit.example.org", "unit")
    await login(client, "unit@unit.example.org")
    for data in ({"action": "claim"}, {"action": "claim", "csrf": "forged"}):
        response = await client.post(f"/staff/referrals/{reference}/actions", data=data)
        assert response.status_code == 403
    page = await client.get(f"/staff/referrals/{reference}")
    assert "Queued" in page.text
    ok = await client.post(
        f"/staff/referrals/{reference}/actions", data={"action": "claim", "csrf": csrf_of(page.text)}
    )
    assert ok.status_code == 303


async def test_the_login_form_needs_its_csrf_token_too(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, "unit@unit.example.org", "unit")
    response = await client.post("/staff/login", data={"email": "unit@unit.example.org", "password": PASSWORD})
    assert response.status_code == 403


async def test_repeated_wrong_passwords_lock_the_account_for_a_while(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, "unit@unit.example.org", "unit")
    statuses = [(await login(client, "unit@unit.example.org", "wrong password!")).status_code for _ in range(5)]
    assert statuses == [401, 401, 401, 401, 401]
    locked = await login(client, "unit@unit.example.org", PASSWORD)  # even the right password, for now
    assert locked.status_code == 401 and "locked" in locked.text
    async with sessions() as db:
        failures = (await db.execute(select(AuditEntry).where(AuditEntry.action == "login_failed"))).scalars().all()
    assert len(failures) == 6


async def test_an_unknown_email_gets_the_same_answer_as_a_wrong_password(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, "unit@unit.example.org", "unit")
    unknown = await login(client, "nobody@unit.example.org", "whatever password")
    wrong = await login(client, "unit@unit.example.org", "whatever password")
    assert unknown.status_code == wrong.status_code == 401
    assert "match an account" in unknown.text and "match an account" in wrong.text


async def test_a_one_time_password_must_be_changed_before_anything_else(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    one_time = await make_user(sessions, "new@unit.example.org", "unit", password=None)
    response = await login(client, "new@unit.example.org", one_time)
    assert response.headers["location"] == "/staff/password"
    assert (await client.get("/staff/queue")).headers["location"] == "/staff/password"
    page = await client.get("/staff/password")
    short = await client.post("/staff/password", data={"csrf": csrf_of(page.text), "current": one_time,
                                                        "new": "short", "again": "short"})
    assert short.status_code == 400 and "at least 12" in short.text
    done = await client.post("/staff/password", data={"csrf": csrf_of(page.text), "current": one_time,
                                                       "new": PASSWORD, "again": PASSWORD})
    assert done.status_code == 303
    # Then an authenticator app, before anything else.
    assert (await client.get("/staff/queue")).headers["location"] == "/staff/two-factor/setup"
    codes, _ = await set_up_second_factor(client)
    assert codes.status_code == 200 and "Save your recovery codes" in codes.text
    assert (await client.get("/staff/queue")).status_code == 200


async def test_sessions_end_at_logout_and_after_inactivity(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, "unit@unit.example.org", "unit")
    await login(client, "unit@unit.example.org")
    page = await client.get("/staff/queue")
    cookie = client.cookies.get("rb_session")
    await client.post("/staff/logout", data={"csrf": csrf_of(page.text)})
    client.cookies.set("rb_session", cookie or "", path="/staff")
    assert (await client.get("/staff/queue")).status_code == 303  # the old cookie is dead
    await login(client, "unit@unit.example.org")
    async with sessions() as db, db.begin():
        await db.execute(text("UPDATE staff_sessions SET last_seen_at = created_at - INTERVAL '1 hour'")
                         if db.bind.dialect.name == "postgresql" else
                         text("UPDATE staff_sessions SET last_seen_at = datetime(created_at, '-1 hour')"))
    assert (await client.get("/staff/queue")).status_code == 303


async def test_a_tampered_session_cookie_is_refused(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, "unit@unit.example.org", "unit")
    await login(client, "unit@unit.example.org")
    cookie = client.cookies.get("rb_session") or ""
    client.cookies.set("rb_session", cookie[:-1] + ("0" if cookie[-1] != "0" else "1"), path="/staff")
    assert (await client.get("/staff/queue")).status_code == 303


async def test_staff_pages_carry_the_security_headers_and_are_not_cached(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, "unit@unit.example.org", "unit")
    response = await login(client, "unit@unit.example.org")
    page = await client.get("/staff/queue")
    for response in (page, await client.get("/staff/login"), await client.get("/simulator")):
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    login_cookie = [h for h in page.headers.get_list("set-cookie")] or [""]
    assert all("rb_session" not in h for h in login_cookie)


async def test_the_session_cookie_is_httponly_and_samesite(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await make_user(sessions, "unit@unit.example.org", "unit")
    page = await client.get("/staff/login")
    # The cookie comes with the password's answer (the second factor then passes the same session).
    response = await client.post("/staff/login", data={"email": "unit@unit.example.org", "password": PASSWORD,
                                                       "csrf": csrf_of(page.text)})
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("rb_session="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/staff" in cookie


async def test_every_view_change_and_export_is_audited(
    client: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    reference = await _reference(client, "audit")
    await make_user(sessions, "admin@unit.example.org", "admin")
    await login(client, "admin@unit.example.org")
    page = await client.get(f"/staff/referrals/{reference}")
    await client.post(f"/staff/referrals/{reference}/actions", data={"action": "claim", "csrf": csrf_of(page.text)})
    real = await _real_referral(sessions)  # the simulator's referral is a test, and no export carries it
    export = await client.get("/staff/export.csv")
    assert export.status_code == 200 and real in export.text and reference not in export.text
    assert PERSONAL["yp_last_name"] not in export.text
    log = await client.get(f"/staff/audit?reference={reference}")
    assert log.status_code == 200
    async with sessions() as db:
        entries = (await db.execute(select(AuditEntry.actor, AuditEntry.action).order_by(AuditEntry.id))).all()
    actions = [(a, b) for a, b in entries]
    assert ("referrer", "submitted") in actions
    assert ("admin@unit.example.org", "view") in actions
    assert ("admin@unit.example.org", "claim") in actions
    assert ("admin@unit.example.org", "export") in actions
    assert ("admin@unit.example.org", "view_audit") in actions


async def test_the_audit_log_cannot_be_changed(sessions: async_sessionmaker[AsyncSession]) -> None:
    from datetime import UTC, datetime

    from store.audit import audit

    async with sessions() as db, db.begin():
        await audit(db, "someone", "view", datetime.now(UTC), "LGX-AAAAA")
    for statement in ("UPDATE audit_log SET actor = 'nobody'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="audit log cannot be changed"):
            async with sessions() as db, db.begin():
                await db.execute(text(statement))
    async with sessions() as db:
        assert (await db.execute(select(AuditEntry.actor))).scalars().all() == ["someone"]


async def test_users_can_be_managed_from_the_command_line(env_for_cli: dict[str, Any]) -> None:
    made = await run_cli(env_for_cli, "users", "create", "Sam@Unit.example.org", "--role", "unit", "--name", "Sam")
    assert made.returncode == 0, made.stderr
    assert "One-time password: " in made.stdout
    assert (await run_cli(env_for_cli, "users", "create", "sam@unit.example.org", "--role", "unit")).returncode == 2
    assert (await run_cli(env_for_cli, "users", "create", "x@unit.example.org", "--role", "boss")).returncode == 2
    listed = (await run_cli(env_for_cli, "users", "list")).stdout
    assert "sam@unit.example.org" in listed and "must change password" in listed
    reset = await run_cli(env_for_cli, "users", "reset-password", "sam@unit.example.org")
    assert reset.returncode == 0 and "New one-time password" in reset.stdout
    assert (await run_cli(env_for_cli, "users", "disable", "sam@unit.example.org")).returncode == 0
    assert "disabled" in (await run_cli(env_for_cli, "users", "list")).stdout
    assert (await run_cli(env_for_cli, "users", "disable", "nobody@unit.example.org")).returncode == 1


async def test_the_command_hashes_passwords_at_argon2s_recommended_cost(
    sessions: async_sessionmaker[AsyncSession], env_for_cli: dict[str, Any]
) -> None:
    # A process of its own: this test process hashes cheaply (see conftest), production must not.
    made = subprocess.run([sys.executable, "-m", "bot", "users", "create", "sam@unit.example.org", "--role", "unit"],
                          env=env_for_cli, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    async with sessions() as db:
        user = await get_user(db, "sam@unit.example.org")
    assert user is not None
    assert argon2.extract_parameters(user.password_hash) == argon2.profiles.RFC_9106_LOW_MEMORY


async def test_illegal_moves_are_refused_with_a_clear_message(
    client: httpx.AsyncClient, env_for_cli: dict[str, Any]
) -> None:
    reference = await _reference(client, "moves")
    accept_unclaimed = await run_cli(env_for_cli, "referrals", "accept", reference)
    assert accept_unclaimed.returncode == 1
    assert "Only the reviewer can accept" in accept_unclaimed.stderr
    assert (await run_cli(env_for_cli, "referrals", "claim", reference)).returncode == 0
    assert (await run_cli(env_for_cli, "referrals", "decline", reference, "--reason", "not_ready")).returncode == 0
    again = await run_cli(env_for_cli, "referrals", "accept", reference)
    assert again.returncode == 1 and "this one is declined" in again.stderr
    shown = json.loads((await run_cli(env_for_cli, "referrals", "show", reference, "--json")).stdout)
    assert shown["status"] == "declined"


def test_every_question_has_a_heading_on_the_staff_page() -> None:
    from flows.questions import QUESTIONS, sections

    headed = [q.key for _, questions in sections() for q in questions]
    assert headed == [q.key for q in QUESTIONS]
    assert all(q.heading and q.section for q in QUESTIONS)
