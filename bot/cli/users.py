"""`referral-bot users`: staff accounts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import fail, keyed_settings, run_db
from store.audit import audit
from store.models import User
from store.second_factor import enrolled_user_ids, reset_second_factor
from store.users import (
    UserError,
    create_user,
    disable_user,
    enable_user,
    get_user,
    list_users,
    reset_password,
    unlock_user,
)

__all__ = ["app"]

app = typer.Typer(help="Staff accounts.", no_args_is_help=True)


@app.command("create")
def users_create(
    email: Annotated[str, typer.Argument(help="Their work email: they log in with it.")],
    role: Annotated[str, typer.Option(help="unit, caseworker or admin.")],
    name: Annotated[str, typer.Option(help="Their name as colleagues see it.")] = "",
    telegram_chat_id: Annotated[str, typer.Option(help="Their Telegram chat id, to be told when a young person "
                                                       "cancels or writes (no personal details are sent).")] = "",
) -> None:
    """Create an account and print a one-time password (changed at first login)."""
    settings = keyed_settings()

    async def work(db: AsyncSession) -> str:
        user, password = await create_user(db, email, role, name, datetime.now(UTC))
        user.telegram_chat_id = telegram_chat_id.strip() or None
        await audit(db, "cli", "user_created", datetime.now(UTC), detail=f"{user.email} role={user.role}")
        return password

    try:
        password = run_db(settings, work)
    except UserError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"Created {email.strip().lower()} ({role}). One-time password: {password}")
    typer.echo("They must choose their own password when they first log in at /staff/login.")


@app.command("list")
def users_list() -> None:
    """Every account, its role and state."""
    async def work(db: AsyncSession) -> tuple[list[User], set[int]]:
        return await list_users(db), await enrolled_user_ids(db)

    users, enrolled = run_db(keyed_settings(), work)
    if not users:
        typer.echo("No users yet. Create the first: referral-bot users create EMAIL --role admin")
        return
    for user in users:
        state = "disabled" if user.disabled else "must change password" if user.must_change_password else "active"
        factor = "second factor set up" if user.id in enrolled else "no second factor"
        typer.echo(f"{user.email:<40} {user.role:<11} {state:<21} {factor}")


# The changes below are the users page's too: the same store functions, audited with the actor "cli".
_Change = Callable[[AsyncSession, User, datetime], Awaitable[str | None]]


def _change(email: str, action: str, change: _Change) -> str | None:
    """One change to an existing account, audited; exits with a message if there is no account or it is refused."""

    async def work(db: AsyncSession) -> tuple[bool, str | None]:
        user = await get_user(db, email)
        if user is None:
            return False, None
        answer = await change(db, user, datetime.now(UTC))
        await audit(db, "cli", action, datetime.now(UTC), detail=user.email)
        return True, answer

    try:
        found, answer = run_db(keyed_settings(), work)
    except UserError as exc:
        raise fail(str(exc), code=1) from None
    if not found:
        raise fail(f"no account for {email}", code=1)
    return answer


async def _disable(db: AsyncSession, user: User, now: datetime) -> None:
    await disable_user(db, user, None, now)


async def _enable(db: AsyncSession, user: User, now: datetime) -> None:
    await enable_user(db, user)


async def _unlock(db: AsyncSession, user: User, now: datetime) -> None:
    await unlock_user(db, user)


@app.command("disable")
def users_disable(email: Annotated[str, typer.Argument()]) -> None:
    """Stop an account logging in (its open sessions end too)."""
    _change(email, "user_disabled", _disable)
    typer.echo(f"Disabled {email.strip().lower()}.")


@app.command("enable")
def users_enable(email: Annotated[str, typer.Argument()]) -> None:
    """Let a disabled account log in again."""
    _change(email, "user_enabled", _enable)
    typer.echo(f"Re-enabled {email.strip().lower()}.")


@app.command("unlock")
def users_unlock(email: Annotated[str, typer.Argument()]) -> None:
    """End a lock after repeated wrong passwords."""
    _change(email, "user_unlocked", _unlock)
    typer.echo(f"Unlocked {email.strip().lower()}.")


@app.command("reset-password")
def users_reset_password(email: Annotated[str, typer.Argument()]) -> None:
    """Give an account a new one-time password (and unlock it)."""
    password = _change(email, "password_reset", reset_password)
    typer.echo(f"New one-time password for {email.strip().lower()}: {password}")


@app.command("reset-mfa")
def users_reset_mfa(email: Annotated[str, typer.Argument()]) -> None:
    """Forget an account's authenticator app and recovery codes (a lost phone): they set up a new one at next login.

    Their open sessions end too.
    """

    async def work(db: AsyncSession) -> bool | None:
        user = await get_user(db, email)
        if user is None:
            return None
        had = await reset_second_factor(db, user, datetime.now(UTC))
        await audit(db, "cli", "second_factor_reset", datetime.now(UTC), detail=user.email)
        return had

    had = run_db(keyed_settings(), work)
    if had is None:
        raise fail(f"no account for {email}", code=1)
    done = "Reset the second factor of" if had else "No second factor was set up for"
    typer.echo(f"{done} {email.strip().lower()}: they set up an authenticator app at their next login.")
