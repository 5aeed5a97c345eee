"""The caseworker's controls on a young person's page: sessions, reminders, the first message, notices."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from bot.actions import Actor
from bot.sessions import add_session, cancel_session, move_session, send_first_contact, set_reminders
from bot.staff.auth import current_staff
from bot.staff.routes import _check_csrf, _form, _show_referral, _viewable
from flows.process import Refused
from store.appointments import add_place, mark_notices_seen
from store.audit import audit

__all__ = ["router"]

router = APIRouter(prefix="/staff/referrals/{reference}")


async def _do(request: Request, reference: str, work, done: str) -> Response:  # type: ignore[no-untyped-def]
    """Run one caseworker action in a transaction; show the page again with the reason if it was refused."""
    form = await _form(request)
    error: str | None = None
    async with request.app.state.sessions() as db, db.begin():
        staff = await current_staff(request, db)
        _check_csrf(form, staff)
        if await _viewable(request, db, staff, reference) is None:
            error = f"There is no referral {reference}."
        else:
            try:
                await work(db, staff, form, Actor(staff.name, staff.role))
            except Refused as exc:
                error = str(exc)
    if error is not None:
        return await _show_referral(request, reference, error=error, status_code=409)
    request.app.state.dispatcher.kick()
    return RedirectResponse(f"/staff/referrals/{reference}?done={done}", status_code=303)


def _now() -> datetime:
    return datetime.now(UTC)


@router.post("/sessions")
async def book_session(request: Request, reference: str) -> Response:
    async def work(db, staff, form, actor) -> None:  # type: ignore[no-untyped-def]
        try:
            day, at = date.fromisoformat(form.get("day", "")), time.fromisoformat(form.get("time", ""))
        except ValueError:
            raise Refused("Please give the session's date and time.") from None
        place = (form.get("new_place") or "").strip() or form.get("place", "")
        if form.get("new_place", "").strip():
            await add_place(db, staff.user.id, place, _now())
        await add_session(db, request.app.state.settings, reference, day, at, place, actor, _now(), staff.user.id)

    return await _do(request, reference, work, "session_added")


@router.post("/sessions/{session_id}/move")
async def move(request: Request, reference: str, session_id: int) -> Response:
    async def work(db, staff, form, actor) -> None:  # type: ignore[no-untyped-def]
        try:
            day, at = date.fromisoformat(form.get("day", "")), time.fromisoformat(form.get("time", ""))
        except ValueError:
            raise Refused("Please give the new date and time.") from None
        await move_session(db, request.app.state.settings, session_id, day, at, form.get("place", ""), actor, _now(),
                           staff.user.id)

    return await _do(request, reference, work, "session_moved")


@router.post("/sessions/{session_id}/cancel")
async def cancel(request: Request, reference: str, session_id: int) -> Response:
    async def work(db, staff, form, actor) -> None:  # type: ignore[no-untyped-def]
        await cancel_session(db, request.app.state.settings, session_id, actor, _now(), staff.user.id)

    return await _do(request, reference, work, "session_cancelled")


@router.post("/first-contact")
async def first_contact(request: Request, reference: str) -> Response:
    async def work(db, staff, form, actor) -> None:  # type: ignore[no-untyped-def]
        await send_first_contact(db, reference, actor, _now(), staff.user.id)

    return await _do(request, reference, work, "first_message_sent")


@router.post("/reminders")
async def reminders(request: Request, reference: str) -> Response:
    async def work(db, staff, form, actor) -> None:  # type: ignore[no-untyped-def]
        await set_reminders(db, reference, form.get("on") == "1", actor, _now(), staff.user.id)

    return await _do(request, reference, work, "reminders_changed")


@router.post("/notices/seen")
async def notices_seen(request: Request, reference: str) -> Response:
    async def work(db, staff, form, actor) -> None:  # type: ignore[no-untyped-def]
        referral = await _viewable(request, db, staff, reference)
        await mark_notices_seen(db, referral.id, _now())
        await audit(db, staff.name, "notices_seen", _now(), referral.reference)

    return await _do(request, reference, work, "notices_seen")

