"""The `referral-bot` command: set up, serve, and look at the queue from a terminal or a script."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from bot.logs import configure_logging
from bot.settings import Settings, SettingsError, load_settings
from store import crypto
from store.db import make_engine, make_sessionmaker
from store.audit import audit
from store.models import Referral, ReferralStatus

STATUSES = tuple(status.value for status in ReferralStatus)

__all__ = ["app", "main"]

T = TypeVar("T")

app = typer.Typer(help="referral-bot: referrals by chat for a London gang exit service.", no_args_is_help=True,
                  add_completion=False, pretty_exceptions_enable=False)
referrals_app = typer.Typer(help="Look at the referral queue.", no_args_is_help=True)
app.add_typer(referrals_app, name="referrals")


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"referral-bot: {message}", err=True)
    return typer.Exit(code)


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise _fail(str(exc)) from None


def _with_keys(settings: Settings) -> Settings:
    try:
        crypto.configure(settings.data_key_bytes())
    except SettingsError as exc:
        raise _fail(str(exc)) from None
    return settings


def _run_db(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
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
        raise _fail(f"cannot reach the database ({type(exc).__name__}): check DATABASE_URL") from None
    except Exception as exc:  # noqa: BLE001 - turn driver errors into one line, never a traceback
        if type(exc).__module__.startswith(("sqlalchemy", "asyncpg", "sqlite3")):
            raise _fail(f"database error: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}") from None
        raise


@app.command()
def keygen(
    file: Annotated[Path | None, typer.Option(help="Write the key to this file (mode 600) instead of printing it.")] = None,
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
        raise _fail(f"{file} already exists: refusing to overwrite a data key (data encrypted with it would be lost)")
    file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    typer.echo(f"Generated a new local data key in {file}. Keep it: without it the stored data can't be read.")


@app.command()
def migrate() -> None:
    """Bring the database schema up to date (Alembic upgrade to head)."""
    settings = _settings()
    from store.migrate import upgrade_to_head

    try:
        upgrade_to_head(settings.database_url)
    except (OSError, ConnectionError) as exc:
        raise _fail(f"cannot reach the database ({type(exc).__name__}): check DATABASE_URL") from None
    typer.echo("Database is up to date.")


@app.command()
def serve() -> None:
    """Run the web app (webhooks, simulator, staff pages) on HOST:PORT."""
    import uvicorn

    from bot.web import create_app

    settings = _with_keys(_settings())
    configure_logging(settings.log_level)
    _preflight(settings)
    if settings.simulator_on:
        typer.echo(f"Simulator (a test tool): http://{settings.host}:{settings.port}/simulator")
    config = uvicorn.Config(create_app(settings), host=settings.host, port=settings.port,
                            access_log=False, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    try:
        server.run()
    except Exception as exc:  # noqa: BLE001 - start-up errors are one line for the operator
        raise _fail(str(exc) or type(exc).__name__, code=1) from None
    if not server.started:
        raise typer.Exit(1)


def _preflight(settings: Settings) -> None:
    """Refuse to start, in one line, when the database is unreachable or behind the code."""
    from store.migrate import is_at_head

    async def check() -> bool:
        engine = make_engine(settings.database_url)
        try:
            return await is_at_head(engine)
        finally:
            await engine.dispose()

    try:
        current = asyncio.run(check())
    except Exception as exc:  # noqa: BLE001 - any failure here is the operator's to fix, in one line
        raise _fail(f"cannot use the database ({type(exc).__name__}): check DATABASE_URL", code=1) from None
    if not current:
        raise _fail("the database is not migrated: run `referral-bot migrate`", code=1)


@app.command()
def purge() -> None:
    """Apply the retention periods: drafts, message logs, and declined and closed referrals past theirs."""
    settings = _with_keys(_settings())
    from store.retention import purge_expired

    counts = _run_db(settings, lambda db: purge_expired(
        db, datetime.now(UTC), draft_ttl_hours=settings.draft_ttl_hours,
        declined_days=settings.declined_retention_days, closed_days=settings.closed_retention_days))
    typer.echo(f"Purged {counts.conversations} draft conversations and {counts.messages} message records.")
    typer.echo(f"Purged {counts.declined} declined and {counts.closed} closed referrals past their retention, "
               f"and {counts.outbound} old outbound message records.")


def _row(referral: Referral, tz: Any) -> dict[str, Any]:
    return {
        "reference": referral.reference,
        "status": referral.status,
        "created_at": referral.created_at.isoformat(),
        "borough": referral.borough,
        "age": referral.age,
        "under_18": referral.under_18,
        "urgency": referral.urgency,
        "safeguarding_flag": referral.safeguarding_flag,
        "channel": referral.channel,
    }


@referrals_app.command("list")
def referrals_list(
    status: Annotated[str | None, typer.Option(help=f"Only this status: {', '.join(STATUSES)}.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """The queue, newest first."""
    if status is not None and status not in STATUSES:
        raise _fail(f"unknown status {status!r}: expected one of {', '.join(STATUSES)}")
    settings = _with_keys(_settings())
    from store.referrals import list_referrals

    async def work(db: Any) -> list[Referral]:
        found = await list_referrals(db, status)
        await audit(db, "cli", "view_queue", datetime.now(UTC), detail=f"status={status or 'any'}")
        return found

    rows = [_row(r, settings.tz) for r in _run_db(settings, work)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("No referrals." if status is None else f"No referrals with status {status}.")
        return
    _table(rows, settings)


def _table(rows: list[dict[str, Any]], settings: Settings) -> None:
    headers = ("REFERENCE", "STATUS", "RECEIVED", "BOROUGH", "AGE", "URGENCY", "FLAGS")
    lines = []
    for row in rows:
        received = datetime.fromisoformat(row["created_at"]).astimezone(settings.tz).strftime("%d %b %Y %H:%M")
        flags = " ".join(f for f, on in (("SAFEGUARDING", row["safeguarding_flag"]), ("U18", row["under_18"])) if on)
        lines.append((row["reference"], row["status"], received, row["borough"], str(row["age"]), row["urgency"], flags))
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    for line in (headers, *lines):
        typer.echo("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip())


@referrals_app.command("show")
def referrals_show(
    reference: Annotated[str, typer.Argument(help="The reference, e.g. LGX-7K3Q9.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False,
) -> None:
    """Everything one referral holds."""
    settings = _with_keys(_settings())
    from store.referrals import get_referral

    async def work(db: Any) -> Referral | None:
        found = await get_referral(db, reference)
        if found is not None:
            await audit(db, "cli", "view", datetime.now(UTC), found.reference)
        return found

    referral = _run_db(settings, work)
    if referral is None:
        raise _fail(f"no referral with reference {reference.strip().upper()}", code=1)
    whole = {**_row(referral, settings.tz), "updated_at": referral.updated_at.isoformat(), "details": referral.details}
    if as_json:
        typer.echo(json.dumps(whole, indent=2, ensure_ascii=False))
        return
    for key, value in whole.items():
        if key == "details":
            for field, answer in value.items():
                typer.echo(f"  {field:<20} {json.dumps(answer, ensure_ascii=False) if not isinstance(answer, str) else answer}")
        else:
            typer.echo(f"{key:<22} {value}")


users_app = typer.Typer(help="Staff accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Argument(help="Their work email: they log in with it.")],
    role: Annotated[str, typer.Option(help="unit, caseworker or admin.")],
    name: Annotated[str, typer.Option(help="Their name as colleagues see it.")] = "",
    telegram_chat_id: Annotated[str, typer.Option(help="Their Telegram chat id, to be told when a young person "
                                                       "cancels or writes (no personal details are sent).")] = "",
) -> None:
    """Create an account and print a one-time password (changed at first login)."""
    from store.users import UserError, create_user

    settings = _with_keys(_settings())

    async def work(db: Any) -> str:
        user, password = await create_user(db, email, role, name, datetime.now(UTC))
        user.telegram_chat_id = telegram_chat_id.strip() or None
        await audit(db, "cli", "user_created", datetime.now(UTC), detail=f"{user.email} role={user.role}")
        return password

    try:
        password = _run_db(settings, work)
    except UserError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"Created {email.strip().lower()} ({role}). One-time password: {password}")
    typer.echo("They must choose their own password when they first log in at /staff/login.")


@users_app.command("list")
def users_list() -> None:
    """Every account, its role and state."""
    from store.users import list_users

    settings = _with_keys(_settings())
    users = _run_db(settings, list_users)
    if not users:
        typer.echo("No users yet. Create the first: referral-bot users create EMAIL --role admin")
        return
    for user in users:
        state = "disabled" if user.disabled else "must change password" if user.must_change_password else "active"
        typer.echo(f"{user.email:<40} {user.role:<11} {state}")


@users_app.command("disable")
def users_disable(email: Annotated[str, typer.Argument()]) -> None:
    """Stop an account logging in (its open sessions end too)."""
    from store.users import get_user, reset_password

    settings = _with_keys(_settings())

    async def work(db: Any) -> bool:
        user = await get_user(db, email)
        if user is None:
            return False
        user.disabled = True
        await reset_password(db, user)  # ends every session, and the old password with them
        await audit(db, "cli", "user_disabled", datetime.now(UTC), detail=user.email)
        return True

    if not _run_db(settings, work):
        raise _fail(f"no account for {email}", code=1)
    typer.echo(f"Disabled {email.strip().lower()}.")


@users_app.command("reset-password")
def users_reset_password(email: Annotated[str, typer.Argument()]) -> None:
    """Give an account a new one-time password (and unlock it)."""
    from store.users import get_user, reset_password

    settings = _with_keys(_settings())

    async def work(db: Any) -> str | None:
        user = await get_user(db, email)
        if user is None:
            return None
        password = await reset_password(db, user)
        await audit(db, "cli", "password_reset", datetime.now(UTC), detail=user.email)
        return password

    password = _run_db(settings, work)
    if password is None:
        raise _fail(f"no account for {email}", code=1)
    typer.echo(f"New one-time password for {email.strip().lower()}: {password}")


def _referral_action(reference: str, action: str, by: str, **extra: str | None) -> None:
    from bot.actions import Actor, act
    from flows.process import Action, Refused, Role

    settings = _with_keys(_settings())

    async def work(db: Any) -> str:
        actor = Actor("cli", Role.ADMIN)
        if by:
            from store.users import get_user

            user = await get_user(db, by)
            if user is None or user.disabled:
                raise Refused(f"no active account for {by}")
            actor = Actor(user.email, Role(user.role))
        referral = await act(db, settings, reference, Action(action), actor, datetime.now(UTC), **extra)
        return referral.status

    try:
        status = _run_db(settings, work)
    except Refused as exc:
        raise _fail(str(exc), code=1) from None
    typer.echo(f"{reference.strip().upper()}: {action.replace('_', ' ')} done, now {status}.")


BY_OPTION = typer.Option("--by", help="Act as this staff member (default: the operator, 'cli').")


@referrals_app.command("claim")
def referrals_claim(reference: str, by: Annotated[str, BY_OPTION] = "") -> None:
    """Take a queued referral for review."""
    _referral_action(reference, "claim", by)


@referrals_app.command("release")
def referrals_release(reference: str, by: Annotated[str, BY_OPTION] = "") -> None:
    """Put a referral you are reviewing back in the queue."""
    _referral_action(reference, "release", by)


@referrals_app.command("accept")
def referrals_accept(reference: str, by: Annotated[str, BY_OPTION] = "") -> None:
    """Accept a referral you are reviewing (the referrer is told)."""
    _referral_action(reference, "accept", by)


@referrals_app.command("decline")
def referrals_decline(reference: str, reason: Annotated[str, typer.Option(help="Told to the referrer.")],
                      by: Annotated[str, BY_OPTION] = "") -> None:
    """Decline a referral you are reviewing, with a reason the referrer is told."""
    _referral_action(reference, "decline", by, reason=reason)


@referrals_app.command("allocate")
def referrals_allocate(reference: str, to: Annotated[str, typer.Option("--to", help="The caseworker's email.")],
                       by: Annotated[str, BY_OPTION] = "") -> None:
    """Allocate an accepted referral to a caseworker."""
    _referral_action(reference, "allocate", by, caseworker=to)


@referrals_app.command("close")
def referrals_close(reference: str, by: Annotated[str, BY_OPTION] = "") -> None:
    """Close a referral."""
    _referral_action(reference, "close", by)


sessions_app = typer.Typer(help="Sessions with young people, and their reminders.", no_args_is_help=True)
app.add_typer(sessions_app, name="sessions")


async def _actor(db: Any, by: str) -> tuple[Any, int | None]:
    from bot.actions import Actor
    from flows.process import Refused, Role
    from store.users import get_user

    if not by:
        return Actor("cli", Role.ADMIN), None
    user = await get_user(db, by)
    if user is None or user.disabled:
        raise Refused(f"no active account for {by}")
    return Actor(user.email, Role(user.role)), user.id


@sessions_app.command("add")
def sessions_add(
    reference: str,
    at: Annotated[str, typer.Option("--at", help='London time, "YYYY-MM-DD HH:MM".')],
    place: Annotated[str, typer.Option("--place", help='A short label, e.g. "the usual place".')],
    by: Annotated[str, BY_OPTION] = "",
) -> None:
    """Book a session and plan its reminders."""
    from bot.sessions import add_session
    from flows.process import Refused

    try:
        when = datetime.strptime(at.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        raise _fail(f'--at {at!r}: expected London time like "2026-12-01 15:30"') from None
    settings = _with_keys(_settings())

    async def work(db: Any) -> int:
        actor, user_id = await _actor(db, by)
        appointment = await add_session(db, settings, reference, when.date(), when.time(), place, actor,
                                        datetime.now(UTC), user_id)
        return appointment.id

    try:
        session_id = _run_db(settings, work)
    except Refused as exc:
        raise _fail(str(exc), code=1) from None
    typer.echo(f"Session {session_id} booked for {when:%a %d %b %Y %H:%M} (London time).")


@sessions_app.command("cancel")
def sessions_cancel(session_id: int, by: Annotated[str, BY_OPTION] = "") -> None:
    """Cancel a session; its reminders stop."""
    from bot.sessions import cancel_session
    from flows.process import Refused

    settings = _with_keys(_settings())

    async def work(db: Any) -> None:
        actor, user_id = await _actor(db, by)
        await cancel_session(db, settings, session_id, actor, datetime.now(UTC), user_id)

    try:
        _run_db(settings, work)
    except Refused as exc:
        raise _fail(str(exc), code=1) from None
    typer.echo(f"Session {session_id} cancelled.")


@sessions_app.command("list")
def sessions_list(reference: str, as_json: Annotated[bool, typer.Option("--json", help="Print JSON only.")] = False) -> None:
    """A young person's sessions: time, status, and each reminder's planned time and delivery."""
    from store.appointments import appointments_for, reminders_for
    from store.referrals import get_referral

    settings = _with_keys(_settings())

    async def work(db: Any) -> list[dict[str, Any]] | None:
        referral = await get_referral(db, reference)
        if referral is None:
            return None
        sessions = await appointments_for(db, referral.id)
        reminders = await reminders_for(db, [s.id for s in sessions])
        await audit(db, "cli", "view_sessions", datetime.now(UTC), referral.reference)
        return [{
            "id": s.id, "starts_at": s.starts_at.isoformat(),
            "local_time": s.starts_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M"),
            "place": s.place, "status": s.status,
            "reminders": [{"planned_for": r.planned_for, "send_at": r.next_attempt_at.isoformat(), "status": r.status,
                           "error_code": r.error_code} for r in reminders if r.appointment_id == s.id],
        } for s in sessions]

    rows = _run_db(settings, work)
    if rows is None:
        raise _fail(f"no referral with reference {reference.strip().upper()}", code=1)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        typer.echo("No sessions.")
    for row in rows:
        typer.echo(f"{row['id']:>5}  {row['local_time']}  {row['status']:<10} {row['place']}")
        for reminder in row["reminders"]:
            typer.echo(f"         reminder {reminder['planned_for']:<10} {reminder['send_at']}  {reminder['status']}")


@app.command()
def worker() -> None:
    """Send what the outbox holds (reminders, notices) without serving web pages; several may run on PostgreSQL."""
    from bot.runtime import run_worker

    settings = _with_keys(_settings())
    configure_logging(settings.log_level)
    _preflight(settings)
    try:
        asyncio.run(run_worker(settings))
    except KeyboardInterrupt:
        pass


def main() -> None:
    """Entry point of the console script."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
