"""Staff accounts and logging in, for tests of the staff pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from store.users import create_user, set_password

PASSWORD = "a-long-password-123"


async def make_user(sessions: async_sessionmaker[AsyncSession], email: str, role: str, name: str = "",
                    password: str | None = PASSWORD) -> str:
    """An account; with `password` it is ready to use, without it the one-time password is returned."""
    async with sessions() as db, db.begin():
        user, one_time = await create_user(db, email, role, name or email.split("@")[0].title(), datetime.now(UTC))
        if password is None:
            return one_time
        await set_password(db, user, password)
    return password


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def login(http: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    page = await http.get("/staff/login")
    return await http.post("/staff/login", data={"email": email, "password": password, "csrf": csrf_of(page.text)})
