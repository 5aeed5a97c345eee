"""Staff accounts: argon2 password hashes, lockout after repeated failures, and browser sessions."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.models import StaffSession, User

__all__ = [
    "LOCK_AFTER",
    "LOCK_FOR",
    "MIN_PASSWORD",
    "ROLES",
    "LoginResult",
    "UserError",
    "caseworkers",
    "check_login",
    "create_user",
    "end_session",
    "get_user",
    "list_users",
    "one_time_password",
    "reset_password",
    "session_user",
    "set_password",
    "start_session",
]

ROLES = ("unit", "caseworker", "admin")
MIN_PASSWORD = 12
LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=15)

_hasher = PasswordHasher()
# Checked against when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


class UserError(Exception):
    """A request about accounts that can't be done; the message says why."""


def one_time_password() -> str:
    return secrets.token_urlsafe(12)


def _clean_email(email: str) -> str:
    email = email.strip().lower()
    if "@" not in email or " " in email or len(email) > 254:
        raise UserError(f"{email!r} is not an email address")
    return email


async def get_user(db: AsyncSession, email: str) -> User | None:
    return (await db.execute(select(User).where(User.email == email.strip().lower()))).scalar_one_or_none()


async def list_users(db: AsyncSession) -> list[User]:
    return list((await db.execute(select(User).order_by(User.email))).scalars())


async def caseworkers(db: AsyncSession) -> list[User]:
    found = await db.execute(select(User).where(User.role == "caseworker", User.disabled.is_(False))
                             .order_by(User.name))
    return list(found.scalars())


async def create_user(db: AsyncSession, email: str, role: str, name: str, now: datetime) -> tuple[User, str]:
    """A new account with a one-time password that must be changed at first login."""
    email = _clean_email(email)
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    if await get_user(db, email) is not None:
        raise UserError(f"{email} already has an account")
    password = one_time_password()
    user = User(email=email, name=name.strip() or email.split("@")[0], role=role,
                password_hash=_hasher.hash(password), must_change_password=True, disabled=False,
                failed_logins=0, created_at=now)
    db.add(user)
    await db.flush()
    return user, password


async def reset_password(db: AsyncSession, user: User) -> str:
    """A new one-time password; the old one and every open session stop working."""
    password = one_time_password()
    user.password_hash = _hasher.hash(password)
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    await db.execute(update(StaffSession).where(StaffSession.user_id == user.id, StaffSession.ended_at.is_(None))
                     .values(ended_at=datetime.now().astimezone()))
    return password


async def set_password(db: AsyncSession, user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"Please choose a password of at least {MIN_PASSWORD} characters.")
    if _verify(user.password_hash, password):
        raise UserError("Please choose a new password, not the one you were given.")
    user.password_hash = _hasher.hash(password)
    user.must_change_password = False


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


class LoginResult:
    """What a login attempt came to: the user, or why not (said the same way for unknown emails)."""

    def __init__(self, user: User | None, locked: bool = False) -> None:
        self.user = user
        self.locked = locked


async def check_login(db: AsyncSession, email: str, password: str, now: datetime) -> LoginResult:
    """Check a password, counting failures and locking the account for a while after too many."""
    user = await get_user(db, email)
    if user is None:
        _verify(_DUMMY_HASH, password)
        return LoginResult(None)
    if user.locked_until is not None and user.locked_until > now:
        return LoginResult(None, locked=True)
    if user.disabled or not _verify(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= LOCK_AFTER:
            user.locked_until = now + LOCK_FOR
            user.failed_logins = 0
            return LoginResult(None, locked=True)
        return LoginResult(None)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return LoginResult(user)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(db: AsyncSession, user: User, now: datetime) -> tuple[str, StaffSession]:
    """A new session: the random token for the cookie, and the row that knows only its hash."""
    token = secrets.token_urlsafe(32)
    row = StaffSession(token_hash=_token_hash(token), user_id=user.id, csrf_token=secrets.token_urlsafe(32),
                       created_at=now, last_seen_at=now)
    db.add(row)
    await db.flush()
    return token, row


async def session_user(db: AsyncSession, token: str, now: datetime, idle: timedelta,
                       longest: timedelta) -> tuple[StaffSession, User] | None:
    """The live session and its user for a cookie token, touched; None if unknown, ended or timed out."""
    found = (await db.execute(
        select(StaffSession, User).join(User, User.id == StaffSession.user_id)
        .where(StaffSession.token_hash == _token_hash(token))
    )).first()
    if found is None:
        return None
    session, user = found
    if session.ended_at is not None or user.disabled:
        return None
    if now - session.last_seen_at > idle or now - session.created_at > longest:
        session.ended_at = now
        return None
    session.last_seen_at = now
    return session, user


async def end_session(db: AsyncSession, session: StaffSession, now: datetime) -> None:
    session.ended_at = now
