"""Running the service: a data key, the schema, the web app, the outbox worker, and the retention purge."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from bot.cli.common import fail, keyed_settings, read_settings, run_db
from bot.logs import configure_logging
from bot.settings import Settings, SettingsError
from store.db import make_engine
from store.migrate import is_at_head, upgrade_to_head
from store.retention import purge_expired

__all__ = ["keygen", "migrate", "purge", "serve", "worker"]


def keygen(
    file: Annotated[
        Path | None, typer.Option(help="Write the key to this file (mode 600) instead of printing it.")
    ] = None,
    if_missing: Annotated[bool, typer.Option("--if-missing", help="Do nothing if the file already exists.")] = False,
) -> None:
    """Make a new random DATA_KEY for encrypting personal data."""
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    if file is None:
        typer.echo(key)
        return
    if file.exists():
        if if_missing:
            return
        raise fail(f"{file} already exists: refusing to overwrite a data key (data encrypted with it would be lost)")
    file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    typer.echo(f"Generated a new local data key in {file}. Keep it: without it the stored data can't be read.")


def migrate() -> None:
    """Bring the database schema up to date (Alembic upgrade to head)."""
    settings = read_settings()
    try:
        upgrade_to_head(settings.database_url)
    except (OSError, ConnectionError) as exc:
        raise fail(f"cannot reach the database ({type(exc).__name__}): check DATABASE_URL") from None
    typer.echo("Database is up to date.")


def serve() -> None:
    """Run the web app (webhooks, simulator, staff pages) on HOST:PORT."""
    settings = keyed_settings()
    try:
        settings.session_key()
    except SettingsError as exc:
        raise fail(str(exc)) from None
    configure_logging(settings.log_level)
    _preflight(settings)
    # Imported here, once the settings and the database are known good: the web app brings FastAPI,
    # Telegram and Twilio (about twice the modules of everything else), which every other command, and a
    # start-up that fails on a setting, would otherwise load and not use.
    from bot.web import create_app

    if settings.simulator_on:
        typer.echo(f"Simulator (a test tool): http://{settings.host}:{settings.port}/simulator")
    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port,
                            access_log=False, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    try:
        server.run()
    except Exception as exc:
        raise fail(str(exc) or type(exc).__name__, code=1) from None
    if not server.started:
        raise typer.Exit(1)


def worker() -> None:
    """Send what the outbox holds (reminders, notices) without serving web pages; several may run on PostgreSQL."""
    settings = keyed_settings()
    configure_logging(settings.log_level)
    _preflight(settings)
    # Imported here for the same reason as in `serve`: the senders bring Telegram, Twilio and the web app.
    from bot.runtime import run_worker

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_worker(settings))


def _preflight(settings: Settings) -> None:
    """Refuse to start, in one line, when the database is unreachable or behind the code."""

    async def check() -> bool:
        engine = make_engine(settings.database_url)
        try:
            return await is_at_head(engine)
        finally:
            await engine.dispose()

    try:
        current = asyncio.run(check())
    except Exception as exc:
        raise fail(f"cannot use the database ({type(exc).__name__}): check DATABASE_URL", code=1) from None
    if not current:
        raise fail("the database is not migrated: run `referral-bot migrate`", code=1)


def purge() -> None:
    """Apply the retention periods: drafts, message logs, and declined and closed referrals past theirs."""
    settings = keyed_settings()
    counts = run_db(settings, lambda db: purge_expired(
        db, datetime.now(UTC), draft_ttl_hours=settings.draft_ttl_hours,
        declined_days=settings.declined_retention_days, closed_days=settings.closed_retention_days,
        enquiry_days=settings.enquiry_retention_days, remembered_days=settings.remember_referrer_days))
    typer.echo(f"Purged {counts.conversations} draft conversations and {counts.messages} message records.")
    typer.echo(f"Purged {counts.declined} declined and {counts.closed} closed referrals past their retention, "
               f"and {counts.outbound} old outbound message records.")
    typer.echo(f"Purged {counts.contacts} contacts no conversation, referral or message needs any more.")
    typer.echo(f"Purged {counts.enquiries} enquiries replied to or closed past their retention.")
    typer.echo(f"Purged {counts.referrers} referrers' kept details unused for {settings.remember_referrer_days} days.")
