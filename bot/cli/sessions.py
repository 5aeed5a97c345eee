"""`referral-bot sessions`: sessions with young people, and their reminders."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli.common import BY_OPTION, JSON_OPTION, actor_for, fail, keyed_settings, run_db
from bot.sessions import add_session, cancel_session
from flows.process import Refused
from store.appointments import appointments_for, reminders_for
from store.audit import audit
from store.referrals import get_referral

__all__ = ["app"]

app = typer.Typer(help="Sessions with young people, and their reminders.", no_args_is_help=True)


@app.command("add")
def sessions_add(
    reference: str,
    at: Annotated[str, typer.Option("--at", help='London time, "YYYY-MM-DD HH:MM".')],
    place: Annotated[str, typer.Option("--place", help='A short label, e.g. "the usual place".')],
    by: Annotated[str, BY_OPTION] = "",
) -> None:
    """Book a session and plan its reminders."""
    try:
        when = datetime.strptime(at.strip(), "%Y-%m-%d %H:%M")
    except ValueError:
        raise fail(f'--at {at!r}: expected London time like "2026-12-01 15:30"') from None
    settings = keyed_settings()

    async def work(db: AsyncSession) -> int:
        actor, user_id = await actor_for(db, by)
        appointment = await add_session(db, settings, reference, when.date(), when.time(), place, actor,
                                        datetime.now(UTC), user_id)
        return appointment.id

    try:
        session_id = run_db(settings, work)
    except Refused as exc:
        raise fail(str(exc), code=1) from None
    typer.echo(f"Session {session_id} booked for {when:%a %d %b %Y %H:%M} (London time).")


@app.command("cancel")
def sessions_cancel(session_id: int, by: Annotated[str, BY_OPTION] = "") -> None:
    """Cancel a session; its reminders stop."""
    settings = keyed_settings()

    async def work(db: AsyncSession) -> None:
        actor, user_id = await actor_for(db, by)
        await cancel_session(db, settings, session_id, actor, datetime.now(UTC), user_id)

    try:
        run_db(settings, work)
    except Refused as exc:
        raise fail(str(exc), code=1) from None
    typer.echo(f"Session {session_id} cancelled.")


@app.command("list")
def sessions_list(reference: str, as_json: Annotated[bool, JSON_OPTION] = False) -> None:
    """A young person's sessions: time, status, and each reminder's planned time and delivery."""
    settings = keyed_settings()

    async def work(db: AsyncSession) -> list[dict[str, Any]] | None:
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

    rows = run_db(settings, work)
    if rows is None:
        raise fail(f"no referral with reference {reference.strip().upper()}", code=1)
    if as_json:
        typer.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        typer.echo("No sessions.")
    for row in rows:
        typer.echo(f"{row['id']:>5}  {row['local_time']}  {row['status']:<10} {row['place']}")
        for reminder in row["reminders"]:
            typer.echo(f"         reminder {reminder['planned_for']:<10} {reminder['send_at']}  {reminder['status']}")
