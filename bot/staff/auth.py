"""Who is asking: the staff member behind a session cookie, and what their role lets them see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from bot.staff.security import CookieSigner
from flows.process import Role
from store.models import StaffSession, User
from store.users import session_user

__all__ = ["Forbidden", "LoginRequired", "PasswordChangeRequired", "Staff", "staff_for_cookie"]


class LoginRequired(Exception):
    """No live session: the browser goes to the login page."""


class PasswordChangeRequired(Exception):
    """A one-time password is still in use: the browser goes to change it."""


class Forbidden(Exception):
    """Logged in, but this is not theirs to see or do."""


@dataclass(frozen=True)
class Staff:
    """The logged-in staff member for this request."""

    user: User
    session: StaffSession

    @property
    def role(self) -> Role:
        return Role(self.user.role)

    @property
    def name(self) -> str:
        return self.user.email

    @property
    def csrf(self) -> str:
        return self.session.csrf_token


async def staff_for_cookie(db: AsyncSession, cookie: str | None, signer: CookieSigner, settings: Settings) -> Staff:
    """The staff member behind a session cookie (touching their session), or LoginRequired.

    Someone still on a one-time password is returned too: what they may do is the caller's decision.
    """
    token = signer.unsign(cookie)
    if token is None:
        raise LoginRequired()
    found = await session_user(db, token, datetime.now(UTC), timedelta(minutes=settings.staff_idle_minutes),
                               timedelta(hours=settings.staff_session_hours))
    if found is None:
        raise LoginRequired()
    session, user = found
    return Staff(user, session)
