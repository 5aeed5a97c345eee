"""Staff accounts: argon2 password hashes, lockout after repeated failures, and browser sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from anyio import CapacityLimiter, to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from zxcvbn import zxcvbn

from store.models import SecondFactor, StaffSession, User

__all__ = [
    "LOCK_AFTER",
    "LOCK_FOR",
    "MIN_PASSWORD",
    "MIN_STRENGTH",
    "ROLES",
    "LoginAttempt",
    "LoginResult",
    "UserError",
    "WrongCurrentPassword",
    "account_problems",
    "caseworkers",
    "change_password",
    "clear_failures",
    "count_attempt",
    "count_code_attempt",
    "create_user",
    "disable_user",
    "enable_user",
    "end_other_sessions",
    "end_session",
    "finish_login",
    "get_user",
    "hash_password",
    "is_locked",
    "list_users",
    "one_time_expired",
    "one_time_password",
    "refuse_weak",
    "reset_password",
    "session_user",
    "set_password",
    "start_session",
    "unlock_user",
    "user_by_id",
    "verify_password",
]

ROLES = ("unit", "caseworker", "admin")
MIN_PASSWORD = 12
MIN_STRENGTH = 3  # zxcvbn's score, 0-4
LOCK_AFTER = 5
LOCK_FOR = timedelta(minutes=15)

_hasher = PasswordHasher()
# A few argon2 checks at a time: each takes 64 MiB and several cores, so a burst of logins would
# otherwise starve the event loop's own threads (the database driver's) and every other request.
_ARGON2_LIMIT = CapacityLimiter(2)
# Checked against when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a real password, only for timing")


class UserError(Exception):
    """A request about accounts that can't be done; the message says why, and `field` which form field it is about."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class WrongCurrentPassword(UserError):
    """A password change whose current password was not right."""


def one_time_password() -> str:
    return secrets.token_urlsafe(12)


def _clean_email(email: str) -> str:
    # An account's email is its audit actor, so needing a whole address (a name, "@", a domain with a dot)
    # also keeps staff apart from the fixed actors "cli" and "unknown account".
    email = email.strip().lower()
    local, _, domain = email.rpartition("@")
    if not local or "." not in domain.strip(".") or " " in email or len(email) > 254:
        raise UserError("Enter an email address in the correct format, like name@example.org", "email")
    return email


async def get_user(db: AsyncSession, email: str) -> User | None:
    return (await db.execute(select(User).where(User.email == email.strip().lower()))).scalar_one_or_none()


async def user_by_id(db: AsyncSession, user_id: int) -> User | None:
    return await db.get(User, user_id)


async def list_users(db: AsyncSession) -> list[User]:
    return list((await db.execute(select(User).order_by(User.email))).scalars())


async def caseworkers(db: AsyncSession) -> list[User]:
    found = await db.execute(select(User).where(User.role == "caseworker", User.disabled.is_(False))
                             .order_by(User.name))
    return list(found.scalars())


async def account_problems(db: AsyncSession, email: str, role: str) -> dict[str, str]:
    """What is wrong with a new account's email and role, by field: every problem at once, for a form."""
    problems: dict[str, str] = {}
    try:
        email = _clean_email(email)
        if await get_user(db, email) is not None:
            problems["email"] = f"{email} already has an account"
    except UserError as exc:
        problems["email"] = str(exc)
    if role not in ROLES:
        problems["role"] = f"Choose a role: one of {', '.join(ROLES)}"
    return problems


async def create_user(db: AsyncSession, email: str, role: str, name: str, now: datetime) -> tuple[User, str]:
    """A new account with a one-time password that must be changed at first login."""
    if problems := await account_problems(db, email, role):
        field, message = next(iter(problems.items()))
        raise UserError(message, field)
    email = _clean_email(email)
    password = one_time_password()
    user = User(email=email, name=name.strip() or email.split("@")[0], role=role,
                password_hash=await hash_password(password), must_change_password=True, disabled=False,
                failed_logins=0, created_at=now, password_set_at=now)
    db.add(user)
    await db.flush()
    return user, password


async def reset_password(db: AsyncSession, user: User, now: datetime) -> str:
    """A new one-time password; the old one and every open session stop working, and any lock ends."""
    password = one_time_password()
    user.password_hash = await hash_password(password)
    user.password_set_at = now
    user.must_change_password = True
    user.failed_logins = 0
    user.locked_until = None
    await end_other_sessions(db, user, None, now)
    return password


async def disable_user(db: AsyncSession, user: User, by: User | None, now: datetime) -> None:
    """Stop an account logging in, ending its open sessions (so re-enabling it does not bring them back).

    `by` is the admin asking (None from the command line): nobody disables themselves, and the last
    admin who can log in stays, or nobody could manage accounts in the browser again.
    """
    if by is not None and by.id == user.id:
        raise UserError("You cannot disable your own account: ask another admin.")
    if user.role == "admin" and not user.disabled:
        # The other admins' rows locked (on PostgreSQL) while counting, so two admins disabling each
        # other at once cannot both pass: the second counts again once the first has committed.
        others = (await db.execute(select(User.id).where(
            User.role == "admin", User.disabled.is_(False), User.id != user.id).with_for_update())).all()
        if not others:
            raise UserError(f"{user.email} is the last admin: make another admin before disabling this one.")
    user.disabled = True
    await end_other_sessions(db, user, None, now)


async def enable_user(db: AsyncSession, user: User) -> None:
    """Let a disabled account log in again, with the password it had."""
    user.disabled = False


async def unlock_user(db: AsyncSession, user: User) -> None:
    """End a lock after repeated wrong passwords, and start the count again."""
    user.locked_until = None
    user.failed_logins = 0


def is_locked(user: User, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


async def end_other_sessions(db: AsyncSession, user: User, keep: StaffSession | None, now: datetime) -> None:
    """End every open session of this member but `keep` (the one asking), e.g. after a password change."""
    query = update(StaffSession).where(StaffSession.user_id == user.id, StaffSession.ended_at.is_(None))
    if keep is not None:
        query = query.where(StaffSession.id != keep.id)
    await db.execute(query.values(ended_at=now))


async def set_password(db: AsyncSession, user: User, password: str, now: datetime | None = None) -> None:
    """Set a password of the member's own choosing, once it is long and not a common or guessable one."""
    _check_new(password, user)
    if await verify_password(user.password_hash, password):
        raise UserError("Please choose a new password, not the one you were given.")
    user.password_hash = await hash_password(password)
    user.password_set_at = now or datetime.now().astimezone()
    user.must_change_password = False


def _check_new(password: str, user: User) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"Please choose a password of at least {MIN_PASSWORD} characters.")
    refuse_weak(password, user)


def refuse_weak(password: str, user: User) -> None:
    """Refuse a password on zxcvbn's lists of passwords from breaches and common words, or one it can guess.

    zxcvbn's score 3 means "safely unguessable: moderate protection from an offline attack"; its
    lists come from leaked password sets, so "password1234" and "aaaaaaaaaaaa" are refused.
    """
    found = zxcvbn(password[:100], user_inputs=[user.email, *user.email.split("@"), user.name])
    if found["score"] < MIN_STRENGTH:
        warning = found["feedback"]["warning"]
        why = f"{warning} " if warning else ""
        raise UserError(f"{why}Please choose a password that is harder to guess: a few uncommon words work well.")


async def change_password(db: AsyncSession, user: User, session: StaffSession, current: str, new: str,
                          now: datetime) -> None:
    """The member's own change: the current password first, then the new one; their other sessions end."""
    _check_new(new, user)  # what is wrong with the new password first: it is what they are thinking about
    if not await verify_password(user.password_hash, current):
        raise WrongCurrentPassword("Your current password is not right. Please type it again.")
    await set_password(db, user, new, now)
    await end_other_sessions(db, user, session, now)


def one_time_expired(user: User, now: datetime, hours: int) -> bool:
    """A one-time password stops working `hours` after it was set."""
    set_at = user.password_set_at or user.created_at
    return user.must_change_password and now - set_at > timedelta(hours=hours)


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def verify_password(hashed: str, password: str) -> bool:
    """argon2 in a worker thread: it takes a third of a second, which would stall every other request."""
    return await to_thread.run_sync(_verify, hashed, password, limiter=_ARGON2_LIMIT)


async def hash_password(password: str) -> str:
    return await to_thread.run_sync(_hasher.hash, password, limiter=_ARGON2_LIMIT)


@dataclass(frozen=True)
class LoginAttempt:
    """An attempt counted against an account before its password is checked; None fields for an unknown email."""

    user_id: int | None
    password_hash: str
    usable: bool  # False for a disabled or locked account: checked against the dummy hash, then refused
    locked: bool
    locked_now: bool = False  # this attempt was the one that locked the account


@dataclass(frozen=True)
class LoginResult:
    """What a login attempt came to: the user, or why not (which is for the audit log, never the answer)."""

    user: User | None
    account: str | None = None  # the account's email when there is one, for the audit log's actor
    why: str = ""


async def count_attempt(db: AsyncSession, email: str, now: datetime) -> LoginAttempt:
    """Count an attempt on the account before its password is checked, in one atomic UPDATE ... RETURNING.

    Counting first, under the row's write lock, is what makes the limit hold for parallel guesses:
    each attempt takes its number before any is checked, so at most LOCK_AFTER are checked per lock.
    """
    counted = await _count(db, User.email == email.strip().lower(), now)
    if counted is None:
        user = await get_user(db, email)
        return LoginAttempt(user.id if user else None, _DUMMY_HASH, usable=False, locked=user is not None)
    user_id, password_hash, disabled, locked_now = counted
    return LoginAttempt(user_id, password_hash, usable=not disabled, locked=False, locked_now=locked_now)


async def count_code_attempt(db: AsyncSession, user_id: int, now: datetime) -> bool:
    """Count a second-factor code against the account before it is checked, as a password is (same lock).

    False if the account is locked or disabled: the code must not be checked at all.
    """
    counted = await _count(db, User.id == user_id, now)
    return counted is not None and not counted[2]


async def _count(db: AsyncSession, which: ColumnElement[bool],
                 now: datetime) -> tuple[int, str, bool, bool] | None:
    """Add one to the account's failures unless it is locked, locking it at LOCK_AFTER.

    (id, password hash, disabled, whether this attempt locked it), or None if it is locked already.
    """
    open_account = or_(User.locked_until.is_(None), User.locked_until <= now)
    counted = (await db.execute(
        update(User).where(which, open_account)
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.id, User.failed_logins, User.password_hash, User.disabled)
        .execution_options(synchronize_session=False)
    )).first()
    if counted is None:
        return None
    user_id, failures, password_hash, disabled = counted
    locks = failures >= LOCK_AFTER
    if locks:
        # This attempt is still checked; the ones after it are refused until the lock ends.
        await db.execute(update(User).where(User.id == user_id).values(locked_until=now + LOCK_FOR, failed_logins=0)
                         .execution_options(synchronize_session=False))
    return user_id, password_hash, disabled, locks


async def clear_failures(db: AsyncSession, user_id: int) -> None:
    """A whole login succeeded: the account's count of failures starts again."""
    await db.execute(update(User).where(User.id == user_id).values(failed_logins=0, locked_until=None)
                     .execution_options(synchronize_session=False))


async def finish_login(db: AsyncSession, attempt: LoginAttempt, right: bool, password: str,
                       now: datetime, one_time_hours: int) -> LoginResult:
    """Record a checked attempt: a right password on a usable account clears its count and signs in."""
    if attempt.user_id is None:
        return LoginResult(None, why="unknown")
    user = await db.get(User, attempt.user_id)
    if user is None:
        return LoginResult(None, why="unknown")
    if attempt.locked or not attempt.usable or not right:
        why = "locked" if attempt.locked else "disabled" if not attempt.usable else ""
        return LoginResult(None, account=user.email, why=why)
    if one_time_expired(user, now, one_time_hours):
        return LoginResult(None, account=user.email, why="one-time password expired")
    second_factor = await db.scalar(select(SecondFactor.confirmed_at).where(SecondFactor.user_id == user.id))
    if second_factor is None:
        user.failed_logins = 0
        user.locked_until = None
    elif attempt.locked_now:
        # A right password as the attempt that reached the limit: on to the code, with one try left.
        user.locked_until = None
        user.failed_logins = LOCK_AFTER - 1
    # Otherwise the count goes on through the second factor's codes and starts again only when a code
    # is right: a right password must not wipe out wrong codes (passwords and codes share one limit).
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = await hash_password(password)
    return LoginResult(user, account=user.email)


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
