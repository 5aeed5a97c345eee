"""`referral-bot rotate-key`, `backup` and `restore`: the keys and the database, kept usable over time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.cli.common import fail, keyed_settings, read_settings
from bot.cli.operations import _preflight
from bot.settings import Settings
from store import crypto
from store.backup import BackupError, backup_sqlite, postgres_instructions, restore_sqlite
from store.db import is_sqlite, make_engine, make_sessionmaker, sqlite_path
from store.keys import RotationError, RotationStep, rotate_step, values_by_key

__all__ = ["backup", "register", "restore", "rotate_key"]

T = TypeVar("T")

RETRIES = 5


async def _in_transaction(
    sessions: async_sessionmaker[AsyncSession], work: Callable[[AsyncSession], Awaitable[T]]
) -> T:
    """One short transaction, tried again when the database says so (a deadlock, a busy SQLite file)."""
    for attempt in range(1, RETRIES + 1):
        try:
            async with sessions() as db, db.begin():
                return await work(db)
        except DBAPIError:
            # Every step is compare-and-set from what it reads, so running it again is safe.
            if attempt == RETRIES:
                raise
            await asyncio.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


async def _rotate(settings: Settings, batch_size: int, pause: float) -> tuple[int, int, dict[str, int]]:
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    resealed = rehashed = rounds = 0
    try:
        while True:
            step: RotationStep = await _in_transaction(
                sessions, lambda db: rotate_step(db, datetime.now(UTC), batch_size))
            resealed, rehashed = resealed + step.resealed, rehashed + step.rehashed
            if step.stray:
                rounds += 1
                found = ", ".join(f"{table} {count}" for table, count in sorted(step.stray.items()))
                if rounds > 1:
                    raise RotationError(f"values are still being written under an older key ({found}): is a "
                                        f"process still running with the old DATA_KEY? Restart them all, then run "
                                        f"rotate-key again")
                typer.echo(f"Found values written under an older key while rotating ({found}): "
                           f"going over those again.")
            if step.finished:
                break
            if pause:
                await asyncio.sleep(pause)
        counts = await _in_transaction(sessions, values_by_key)
    finally:
        await engine.dispose()
    return resealed, rehashed, counts


def rotate_key(
    batch_size: Annotated[int, typer.Option(min=1, max=10_000, help="Rows per transaction.")] = 200,
    pause: Annotated[float, typer.Option(min=0, help="Seconds between batches, to go easier on a busy database.")] = 0,
) -> None:
    """Re-encrypt everything under the first key in DATA_KEY while the app serves; safe to stop and run again."""
    settings = keyed_settings()
    _preflight(settings)
    older = len(crypto.configured_key_ids()) - 1
    kept = f"{older} older key{'s' if older != 1 else ''} kept for reading"
    typer.echo(f"Rotating to key {crypto.current_key_id()} ({kept}).")
    try:
        resealed, rehashed, counts = asyncio.run(_rotate(settings, batch_size, pause))
    except RotationError as exc:
        raise fail(str(exc), code=1) from None
    except (OSError, DBAPIError) as exc:
        raise fail(f"database error ({type(exc).__name__}): check DATABASE_URL and run rotate-key again; "
                    f"it carries on where it stopped", code=1) from None
    typer.echo(f"Re-encrypted {resealed} values and re-computed {rehashed} keyed hashes.")
    typer.echo(f"Every stored value is now under key {crypto.current_key_id()} ({sum(counts.values())} values): "
               f"older keys can be removed from DATA_KEY.")


def _sqlite_file(settings: Settings, file: Path, *, restore: bool) -> Path:
    if not is_sqlite(settings.database_url):
        raise fail(postgres_instructions(settings.database_url, file, restore=restore))
    path = sqlite_path(settings.database_url)
    if path is None:
        raise fail("DATABASE_URL is an in-memory database: there is nothing to back up")
    return path


def backup(
    file: Annotated[Path, typer.Argument(help="Where to write the backup.")],
    force: Annotated[bool, typer.Option("--force", help="Replace FILE if it exists.")] = False,
) -> None:
    """Write a consistent copy of the SQLite database to FILE, while the app keeps running (PostgreSQL: pg_dump)."""
    settings = read_settings()
    database = _sqlite_file(settings, file, restore=False)
    try:
        backup_sqlite(database, file, force=force)
    except BackupError as exc:
        raise fail(str(exc), code=1) from None
    typer.echo(f"Backed up {database} to {file}. "
               f"Keep DATA_KEY too, somewhere else: the backup can't be read without it.")


def restore(
    file: Annotated[Path, typer.Argument(help="A backup made by `referral-bot backup`.")],
    force: Annotated[bool, typer.Option("--force", help="Replace a database that holds data (saved first).")] = False,
) -> None:
    """Check a backup (whole, this version's schema, readable with DATA_KEY) and make the database hold it."""
    settings = keyed_settings()
    database = _sqlite_file(settings, file, restore=True)
    try:
        info, saved = restore_sqlite(file, database, datetime.now(UTC), force=force)
    except BackupError as exc:
        raise fail(str(exc), code=1) from None
    typer.echo(f"Restored {file} ({info.referrals} referrals) into {database}.")
    if saved is not None:
        typer.echo(f"The database it replaced is saved as {saved}.")


def register(app: typer.Typer) -> None:
    """Add these commands to the `referral-bot` command."""
    app.command("rotate-key")(rotate_key)
    app.command()(backup)
    app.command()(restore)
