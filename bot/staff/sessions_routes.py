"""The caseworker's controls on a young person's page: sessions, reminders, the first message, notices.

Moving and cancelling a session each show what will happen (and whether the young person is texted)
and change nothing until confirmed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, time

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions import Actor
from bot.runtime import Runtime, RuntimeDep
from bot.sessions import (
    add_session,
    cancel_session,
    move_session,
    send_first_contact,
    set_reminders,
    texted_about_change,
    young_name,
)
from bot.staff.auth import Staff
from bot.staff.deps import AnyStaff, CheckedForm, Db, RowId
from bot.staff.pages import commit_and_kick, now, render, show_referral, viewable
from flows.process import Refused, Role, Status
from flows.reminders import session_start, when_words
from flows.session_dates import DateProblem, read_session_date
from store.appointments import add_place, get_appointment, mark_notices_seen
from store.audit import audit
from store.models import Appointment, Referral

__all__ = ["router"]

router = APIRouter(prefix="/staff/referrals/{reference}")

Work = Callable[[Referral, Actor], Awaitable[None]]
# (field id to link to, message): what the error summary and the inline messages show.
Errors = list[tuple[str, str]]


async def _do(request: Request, db: AsyncSession, staff: Staff, runtime: Runtime, reference: str, work: Work,
              done: str) -> Response:
    """Run one caseworker action on a referral they may see; show the page again with the reason if it was refused."""
    referral = await viewable(db, staff, reference)
    error: str | None = None
    if referral is None:
        error = f"There is no referral {reference}."
    else:
        try:
            await work(referral, Actor(staff.name, staff.role))
        except Refused as exc:
            error = str(exc)
    if error is not None:
        return await show_referral(request, db, staff, reference, error=error, status_code=409)
    await commit_and_kick(db, runtime)
    return RedirectResponse(f"/staff/referrals/{reference}?done={done}", status_code=303)


def _read_when(form: dict[str, str], prefix: str, runtime: Runtime) -> tuple[date, time] | Errors:
    """The date (three fields) and time typed into a session form, or what to fix, field by field."""
    errors: Errors = []
    day: date | None = None
    at: time | None = None
    try:
        day = read_session_date(form.get("day", ""), form.get("month", ""), form.get("year", ""),
                                now().astimezone(runtime.settings.tz).date())
    except DateProblem as problem:
        errors.append((f"{prefix}-date-{'day' if problem.field == 'all' else problem.field}", problem.message))
    typed_time = form.get("time", "").strip()
    try:
        at = time.fromisoformat(typed_time) if typed_time else None
    except ValueError:
        errors.append((f"{prefix}-time", "Enter the time of the session like 15:30"))
    else:
        if at is None:
            errors.append((f"{prefix}-time", "Enter the time of the session"))
    if errors or day is None or at is None:
        return errors
    try:
        starts = session_start(day, at, runtime.settings.tz)
    except ValueError as exc:
        return [(f"{prefix}-time", str(exc))]
    if starts <= now():
        return [(f"{prefix}-date-day", "The session must be in the future")]
    return day, at


@router.post("/sessions")
async def book_session(request: Request, reference: str, db: Db, staff: AnyStaff, form: CheckedForm,
                       runtime: RuntimeDep) -> Response:
    when = _read_when(form, "book", runtime)
    if isinstance(when, list):
        if await viewable(db, staff, reference) is None:
            return render(request, "error.html", staff, status_code=404, message=f"There is no referral {reference}.")
        return await show_referral(request, db, staff, reference, status_code=400, typed=form, failed="book",
                                   session_errors=when)
    day, at = when

    async def work(referral: Referral, actor: Actor) -> None:
        place = (form.get("new_place") or "").strip() or form.get("place", "")
        if form.get("new_place", "").strip():
            await add_place(db, staff.user.id, place, now())
        await add_session(db, runtime.settings, reference, day, at, place, actor, now(), staff.user.id)

    return await _do(request, db, staff, runtime, reference, work, "session_added")


async def _session_of(db: AsyncSession, staff: Staff, reference: str, session_id: int
                      ) -> tuple[Referral, Appointment] | None:
    """The referral and one of its sessions still to come, if this staff member may arrange it now."""
    referral = await viewable(db, staff, reference)
    if referral is None or referral.status != Status.ALLOCATED:
        return None
    if staff.role is Role.CASEWORKER and referral.caseworker_id != staff.user.id:
        return None
    appointment = await get_appointment(db, session_id)
    if appointment is None or appointment.referral_id != referral.id or not appointment.status.upcoming:
        return None
    if appointment.starts_at <= now():
        return None
    return referral, appointment


async def _change_page(request: Request, db: AsyncSession, staff: Staff, runtime: Runtime, reference: str,
                       session_id: int, step: str, form: dict[str, str] | None = None, errors: Errors | None = None,
                       new_start: datetime | None = None) -> HTMLResponse:
    """The move form, or the page asking to confirm a move or a cancellation; audited as a view."""
    found = await _session_of(db, staff, reference, session_id)
    if found is None:
        return render(request, "error.html", staff, status_code=404,
                      message="That session can't be changed: it may have started, been cancelled or not be yours.")
    referral, appointment = found
    tz = runtime.settings.tz
    await audit(db, staff.name, "view_session", now(), referral.reference, f"session {appointment.id}")
    local = appointment.starts_at.astimezone(tz)
    typed = form if form is not None else {
        "day": str(local.day), "month": str(local.month), "year": str(local.year), "time": f"{local:%H:%M}"}
    return render(
        request, "session_change.html", staff, status_code=400 if errors else 200, step=step, referral=referral,
        session=appointment, when=when_words(local), new_when=when_words(new_start.astimezone(tz)) if new_start else "",
        young=young_name(referral) or "the young person", texted=await texted_about_change(db, referral, appointment),
        typed=typed, errors=errors or [],
    )


@router.get("/sessions/{session_id}/move")
async def move_form(request: Request, reference: str, session_id: RowId, db: Db, staff: AnyStaff,
                    runtime: RuntimeDep) -> Response:
    return await _change_page(request, db, staff, runtime, reference, session_id, "move")


@router.post("/sessions/{session_id}/move")
async def move(request: Request, reference: str, session_id: RowId, db: Db, staff: AnyStaff, form: CheckedForm,
               runtime: RuntimeDep) -> Response:
    when = _read_when(form, "move", runtime)
    if isinstance(when, list):
        return await _change_page(request, db, staff, runtime, reference, session_id, "move", form, when)
    day, at = when
    if form.get("confirm") != "yes":
        starts = session_start(day, at, runtime.settings.tz)
        return await _change_page(request, db, staff, runtime, reference, session_id, "confirm-move", form,
                                  new_start=starts)

    async def work(referral: Referral, actor: Actor) -> None:
        await move_session(db, runtime.settings, session_id, day, at, form.get("place", ""), actor, now(),
                           staff.user.id)

    return await _do(request, db, staff, runtime, reference, work, "session_moved")


@router.get("/sessions/{session_id}/cancel")
async def cancel_form(request: Request, reference: str, session_id: RowId, db: Db, staff: AnyStaff,
                      runtime: RuntimeDep) -> Response:
    return await _change_page(request, db, staff, runtime, reference, session_id, "confirm-cancel")


@router.post("/sessions/{session_id}/cancel")
async def cancel(request: Request, reference: str, session_id: RowId, db: Db, staff: AnyStaff, form: CheckedForm,
                 runtime: RuntimeDep) -> Response:
    if form.get("confirm") != "yes":
        return await _change_page(request, db, staff, runtime, reference, session_id, "confirm-cancel")

    async def work(referral: Referral, actor: Actor) -> None:
        await cancel_session(db, runtime.settings, session_id, actor, now(), staff.user.id)

    return await _do(request, db, staff, runtime, reference, work, "session_cancelled")


@router.post("/first-contact")
async def first_contact(request: Request, reference: str, db: Db, staff: AnyStaff, form: CheckedForm,
                        runtime: RuntimeDep) -> Response:
    async def work(referral: Referral, actor: Actor) -> None:
        await send_first_contact(db, runtime.settings, reference, actor, now(), staff.user.id)

    return await _do(request, db, staff, runtime, reference, work, "first_message_sent")


@router.post("/reminders")
async def reminders(request: Request, reference: str, db: Db, staff: AnyStaff, form: CheckedForm,
                    runtime: RuntimeDep) -> Response:
    async def work(referral: Referral, actor: Actor) -> None:
        await set_reminders(db, runtime.settings, reference, form.get("on") == "1", actor, now(), staff.user.id)

    return await _do(request, db, staff, runtime, reference, work, "reminders_changed")


@router.post("/notices/seen")
async def notices_seen(request: Request, reference: str, db: Db, staff: AnyStaff, form: CheckedForm,
                       runtime: RuntimeDep) -> Response:
    async def work(referral: Referral, actor: Actor) -> None:
        await mark_notices_seen(db, referral.id, now())
        await audit(db, staff.name, "notices_seen", now(), referral.reference)

    return await _do(request, db, staff, runtime, reference, work, "notices_seen")
