"""Staff accounts and logging in, for tests of the staff pages."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import httpx
import pyotp
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.models import SecondFactor, User
from store.second_factor import DRIFT_STEPS, STEP_SECONDS, add_recovery_codes, enrol, hash_recovery_codes
from store.users import create_user, get_user, set_password

PASSWORD = "a-long-password-123"
# Every account make_user sets up has this authenticator secret, so a test can make its codes.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
# Where each account made by make_user lives, so logging in can see which codes it has used.
_DATABASES: dict[str, async_sessionmaker[AsyncSession]] = {}


async def make_user(sessions: async_sessionmaker[AsyncSession], email: str, role: str, name: str = "",
                    password: str | None = PASSWORD) -> str:
    """An account; with `password` it is ready to use (second factor set up with TOTP_SECRET), without it
    the one-time password is returned (and the account sets up its second factor at first login)."""
    async with sessions() as db, db.begin():
        user, one_time = await create_user(db, email, role, name or email.split("@")[0].title(), datetime.now(UTC))
        if password is None:
            return one_time
        await set_password(db, user, password)
        await enrol(db, user, TOTP_SECRET, datetime.now(UTC))
    _DATABASES[email] = sessions
    return password


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def code_at(step: int, secret: str = TOTP_SECRET) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS).generate_otp(step)


def current_step() -> int:
    return int(time.time()) // STEP_SECONDS


async def next_code(email: str) -> tuple[str, bool]:
    """A code the app will take for this account now: (code, is_recovery_code).

    A TOTP code is refused for a step at or before the last one used, so a second login within the
    same 30 seconds takes the next step's code (one step of drift is allowed); past that, a fresh
    recovery code is made for the account and used, as a person would after losing their phone.
    """
    sessions = _DATABASES[email]
    async with sessions() as db:
        last = await db.scalar(select(SecondFactor.last_step).join(User, User.id == SecondFactor.user_id)
                               .where(User.email == email))
    now = current_step()
    step = now if last is None or last < now else last + 1
    if step <= now + DRIFT_STEPS:
        return code_at(step), False
    code = "testr-ecove"
    async with sessions() as db, db.begin():
        user = await get_user(db, email)
        assert user is not None
        await add_recovery_codes(db, user.id, await hash_recovery_codes([code]), datetime.now(UTC))
    return code, True


async def login(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    """Log in with the password, then (for an account make_user set up) the second factor's code.

    The answer is the last one: the code's redirect to the staff pages, or the login's own answer
    when it goes anywhere else (a wrong password, a one-time password to change).
    """
    page = await http.get("/staff/login")
    response = await http.post("/staff/login", data={"email": email, "password": password, "csrf": csrf_of(page.text)})
    if response.headers.get("location") != "/staff/two-factor" or email not in _DATABASES:
        return response
    return await enter_code(http, email)


async def enter_code(http: httpx.AsyncClient, email: str) -> httpx.Response:
    """The second step of logging in, for a session past its password."""
    code, recovery = await next_code(email)
    path = "/staff/two-factor/recovery" if recovery else "/staff/two-factor"
    page = await http.get(path)
    if page.status_code != 200:
        return page  # the session is not at this step (a test holding a dead cookie): where it stopped
    return await http.post(path, data={"code": code, "csrf": csrf_of(page.text)})


def secret_on(html: str) -> str:
    """The authenticator secret the set-up page shows as text (without its grouping spaces)."""
    found = re.search(r'<code id="secret">([A-Z2-7 ]+)</code>', html)
    assert found, "no secret shown on the page"
    return found.group(1).replace(" ", "")


def recovery_codes_on(html: str) -> list[str]:
    return re.findall(r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", html)


async def set_up_second_factor(http: httpx.AsyncClient) -> tuple[httpx.Response, str]:
    """Set up an authenticator app as a new member does at first login: (the recovery codes page, the secret)."""
    page = await http.get("/staff/two-factor/setup")
    assert page.status_code == 200, page.text
    secret = secret_on(page.text)
    response = await http.post("/staff/two-factor/setup",
                               data={"code": code_at(current_step(), secret), "csrf": csrf_of(page.text)})
    return response, secret
