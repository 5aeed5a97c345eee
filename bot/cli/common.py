"""What every command shares: one-line failures, settings and keys, one database transaction, acting as someone."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions import Actor
from bot.settings import Settings, SettingsError, load_settings
from flows.process import Refused, Role
from store import crypto
from store.db import make_engine, make_sessionmaker
from store.users import get_user

__all__ = ["BY_OPTION", "JSON_OPTION", "actor_for", "fail", "keyed_settings", "read_settings", "run_db"]

T = TypeVar("T")

BY_OPTION = typer.Option("--by", help="Act as this staff member (default: the operator, 'cli').")
JSON_OPTION = typer.Option("--json", help="Print JSON only.")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print `referral-bot: message` to stderr; raise the result to exit with `code` (2: the request was wrong)."""
    typer.echo(f"referral-bot: {message}", err=True)
    return typer.Exit(code)


def read_settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise fail(str(exc)) from None


def keyed_settings() -> Settings:
    """The settings, with the data key configured so personal data can be read and written."""
    loaded = read_settings()
    try:
        crypto.configure(*loaded.data_keys())
    except SettingsError as exc:
        raise fail(str(exc)) from None
    return loaded


def run_db(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Open the database, run `work` in one transaction, close it; a dead database is one clear line."""

    async def run() -> T:
        engine = make_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as db, db.begin():
                return await work(db)
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except (OSError, ConnectionError) as exc:
        raise fail(f"cannot reach the database ({type(exc).__name__}): check DATABASE_URL") from None
    except Exception as exc:
        if type(exc).__module__.startswith(("sqlalchemy", "asyncpg", "sqlite3")):
            raise fail(f"database error: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
        raise


async def actor_for(db: AsyncSession, by: str) -> tuple[Actor, int | None]:
    """Who a `--by` option names (and their account id); without one, the operator acting as admin."""
    if not by:
        return Actor("cli", Role.ADMIN), None
    user = await get_user(db, by)
    if user is None or user.disabled:
        raise Refused(f"no active account for {by}")
    return Actor(user.email, Role(user.role)), user.id
