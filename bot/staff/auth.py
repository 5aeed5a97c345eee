"""Who is asking: the staff member behind a session cookie, and what their role lets them see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
from bot.staff.security import CookieSigner
from flows.process import Role
from store.models import StaffSession, User
from store.second_factor import is_enrolled
from store.users import session_user

__all__ = ["Forbidden", "LoginRequired", "LoginStep", "LoginStepRequired", "Staff", "staff_for_cookie"]


class LoginRequired(Exception):
    """No live session: the browser goes to the login page."""


class LoginStep(StrEnum):
    """A step of logging in still to do, as the page that does it."""

    CODE = "/staff/two-factor"  # the code from their authenticator app (or a recovery code)
    PASSWORD = "/staff/password"  # their own password in place of a one-time one
    ENROL = "/staff/two-factor/setup"  # setting up an authenticator app


class LoginStepRequired(Exception):
    """Logged in only part way (a one-time password, no second factor yet): the browser goes to the next step."""

    def __init__(self, step: LoginStep | None) -> None:
        super().__init__(step.value if step else "/staff")
        self.path = step.value if step else "/staff"  # None: nothing left to do, so to the staff pages


class Forbidden(Exception):
    """Logged in, but this is not theirs to see or do."""


@dataclass(frozen=True)
class Staff:
    """The logged-in staff member for this request."""

    user: User
    session: StaffSession
    enrolled: bool = False  # has a confirmed second factor (looked up only while the session has not passed it)

    @property
    def role(self) -> Role:
        return Role(self.user.role)

    @property
    def name(self) -> str:
        return self.user.email

    @property
    def csrf(self) -> str:
        return self.session.csrf_token

    @property
    def next_step(self) -> LoginStep | None:
        """What is still to do before the staff pages open, or None when logged in fully.

        Someone with a second factor proves it first (even before replacing a one-time password an
        admin gave them); someone without one chooses their password, then sets one up.
        """
        passed = self.session.second_factor_at is not None
        if not passed and self.enrolled:
            return LoginStep.CODE
        if self.user.must_change_password:
            return LoginStep.PASSWORD
        return None if passed else LoginStep.ENROL


async def staff_for_cookie(db: AsyncSession, cookie: str | None, signer: CookieSigner, settings: Settings) -> Staff:
    """The staff member behind a session cookie (touching their session), or LoginRequired.

    Someone logged in only part way is returned too (`next_step` says what is left): what they may do
    is the caller's decision.
    """
    token = signer.unsign(cookie)
    if token is None:
        raise LoginRequired()
    found = await session_user(db, token, datetime.now(UTC), timedelta(minutes=settings.staff_idle_minutes),
                               timedelta(hours=settings.staff_session_hours))
    if found is None:
        raise LoginRequired()
    session, user = found
    enrolled = session.second_factor_at is None and await is_enrolled(db, user.id)
    return Staff(user, session, enrolled)
