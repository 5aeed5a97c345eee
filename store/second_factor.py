"""The staff second factor: a TOTP authenticator app (RFC 6238) and one-time recovery codes.

The secret is encrypted at rest like other personal data (bound to its row). A code is accepted for
a time step newer than the last one accepted, by a compare-and-set in the database, so a code seen
over a shoulder (or sent twice by a double click) cannot be used again, even by parallel requests.
Recovery codes are kept only as argon2 hashes, and each is used up by a compare-and-set too.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from datetime import datetime

import pyotp
import segno
from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.db import rows_affected
from store.models import RecoveryCode, SecondFactor, StaffSession, User
from store.users import end_other_sessions, hash_password, verify_password

__all__ = [
    "DRIFT_STEPS",
    "RECOVERY_CODES",
    "STEP_SECONDS",
    "add_recovery_codes",
    "clean_code",
    "confirm_enrolment",
    "enrol",
    "enrolled_user_ids",
    "find_recovery_code",
    "grouped",
    "hash_recovery_codes",
    "is_enrolled",
    "matching_step",
    "new_recovery_codes",
    "pass_session",
    "provisioning_uri",
    "qr_svg",
    "reset_second_factor",
    "second_factor_of",
    "start_enrolment",
    "unused_recovery_codes",
    "use_recovery_code",
    "use_step",
]

STEP_SECONDS = 30
DRIFT_STEPS = 1  # a phone's clock a step behind or ahead still works
RECOVERY_CODES = 10
# No 0/o, 1/l/i: the codes are read off paper and typed.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 10  # 10 of 31 characters: about 50 bits, and each is hashed with argon2


def _step(now: datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


def clean_code(typed: str) -> str:
    """What was typed, without the spaces and dashes people copy or add, lower case."""
    return "".join(ch for ch in typed.strip().lower() if ch not in " -\u00a0\t")


def matching_step(secret: str, typed: str, now: datetime) -> int | None:
    """The time step the typed code belongs to (now, or one step either side), or None if it is no current code."""
    code = clean_code(typed)
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = _step(now)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        # Every step is compared (no early return), in constant time.
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


def grouped(secret: str) -> str:
    """The secret in groups of four, as people copy it into an app that cannot scan."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def provisioning_uri(secret: str, email: str, issuer: str) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS).provisioning_uri(name=email, issuer_name=issuer)


def qr_svg(uri: str) -> str:
    """The QR code as an inline SVG element (drawn here: the secret never goes to another service)."""
    return segno.make(uri, error="m").svg_inline(scale=5, border=4, dark="#0b0c0c", light="#ffffff",
                                                 title="QR code for your authenticator app", svgclass="app-qr")


async def second_factor_of(db: AsyncSession, user_id: int) -> SecondFactor | None:
    return (await db.execute(select(SecondFactor).where(SecondFactor.user_id == user_id))).scalar_one_or_none()


async def is_enrolled(db: AsyncSession, user_id: int) -> bool:
    confirmed = await db.scalar(select(SecondFactor.confirmed_at).where(SecondFactor.user_id == user_id))
    return confirmed is not None


async def enrolled_user_ids(db: AsyncSession) -> set[int]:
    """Who has set up a second factor: for the users page."""
    found = await db.scalars(select(SecondFactor.user_id).where(SecondFactor.confirmed_at.is_not(None)))
    return set(found)


async def start_enrolment(db: AsyncSession, user: User, now: datetime) -> SecondFactor:
    """The secret being set up: the same one on every visit of the page until the first code confirms it."""
    found = await second_factor_of(db, user.id)
    if found is not None:
        return found
    row = SecondFactor(user_id=user.id, secret=pyotp.random_base32(), created_at=now)
    db.add(row)
    await db.flush()
    return row


async def enrol(db: AsyncSession, user: User, secret: str, now: datetime) -> None:
    """Set a confirmed secret directly: for setting up accounts from a known secret (tests, migrations of accounts)."""
    db.add(SecondFactor(user_id=user.id, secret=secret, created_at=now, confirmed_at=now))
    await db.flush()


async def confirm_enrolment(db: AsyncSession, user_id: int, step: int, now: datetime) -> bool:
    """Confirm the secret with the step of its first code; False if it was confirmed (or reset) meanwhile."""
    done = await db.execute(
        update(SecondFactor).where(SecondFactor.user_id == user_id, SecondFactor.confirmed_at.is_(None))
        .values(confirmed_at=now, last_step=step).execution_options(synchronize_session=False))
    return rows_affected(done) == 1


async def use_step(db: AsyncSession, user_id: int, step: int) -> bool:
    """Take this time step as used, if it is newer than the last one used: True once, False for a replayed code."""
    done = await db.execute(
        update(SecondFactor)
        .where(SecondFactor.user_id == user_id, SecondFactor.confirmed_at.is_not(None),
               (SecondFactor.last_step.is_(None)) | (SecondFactor.last_step < step))
        .values(last_step=step).execution_options(synchronize_session=False))
    return rows_affected(done) == 1


def new_recovery_codes(count: int = RECOVERY_CODES) -> list[str]:
    """Fresh recovery codes, written as two groups of five ("abcde-fghjk")."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


async def hash_recovery_codes(codes: list[str]) -> list[str]:
    """argon2 hashes of the codes (in worker threads, as password hashes are): only these are kept.

    Gathered, so they take as many threads as the hasher's limit allows at once.
    """
    return list(await asyncio.gather(*(hash_password(clean_code(code)) for code in codes)))


async def add_recovery_codes(db: AsyncSession, user_id: int, hashes: list[str], now: datetime) -> None:
    await db.execute(insert(RecoveryCode), [{"user_id": user_id, "code_hash": h, "created_at": now} for h in hashes])


async def unused_recovery_codes(db: AsyncSession, user_id: int) -> list[tuple[int, str]]:
    """(id, hash) of each recovery code not used yet."""
    found = await db.execute(select(RecoveryCode.id, RecoveryCode.code_hash)
                             .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
                             .order_by(RecoveryCode.id))
    return [(row.id, row.code_hash) for row in found]


async def find_recovery_code(candidates: list[tuple[int, str]], typed: str) -> int | None:
    """Which unused code was typed (its id), or None; no transaction should be open (argon2 is slow)."""
    code = clean_code(typed)
    if len(code) != _RECOVERY_LENGTH:
        return None
    for code_id, hashed in candidates:
        if await verify_password(hashed, code):
            return code_id
    return None


async def use_recovery_code(db: AsyncSession, code_id: int, now: datetime) -> bool:
    """Use up a recovery code: True the first time, False if it was used already (even a moment ago)."""
    done = await db.execute(update(RecoveryCode).where(RecoveryCode.id == code_id, RecoveryCode.used_at.is_(None))
                            .values(used_at=now).execution_options(synchronize_session=False))
    return rows_affected(done) == 1


async def pass_session(db: AsyncSession, session_id: int, now: datetime) -> None:
    """This session has passed the second factor: the staff pages open to it."""
    await db.execute(update(StaffSession).where(StaffSession.id == session_id).values(second_factor_at=now)
                     .execution_options(synchronize_session=False))


async def reset_second_factor(db: AsyncSession, user: User, now: datetime) -> bool:
    """Forget a member's authenticator and recovery codes (a lost phone) and end their sessions.

    They set up a new one at their next login. False if they had none set up.
    """
    had = await db.execute(delete(SecondFactor).where(SecondFactor.user_id == user.id)
                           .execution_options(synchronize_session=False))
    await db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id)
                     .execution_options(synchronize_session=False))
    await end_other_sessions(db, user, None, now)
    return rows_affected(had) > 0
