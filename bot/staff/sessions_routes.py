"""The caseworker's controls on a young person's page: sessions, reminders, the first message, notices."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, time

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions import Actor
from bot.runtime import Runtime, RuntimeDep
from bot.sessions import add_session, cancel_session, move_session, send_first_contact, set_reminders
from bot.staff.auth import Staff
from bot.staff.deps import AnyStaff, CheckedForm, Db, RowId
from bot.staff.pages import commit_and_kick, now, show_referral, viewable
from flows.process import Refused
from store.appointments import add_place, mark_notices_seen
from store.audit import audit
from store.models import Referral

__all__ = ["router"]

router = APIRouter(prefix="/staff/referrals/{reference}")

Work = Callable[[Referral, Actor], Awaitable[None]]


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


@router.post("/sessions")
async def book_session(request: Request, reference: str, db: Db, staff: AnyStaff, form: CheckedForm,
                       runtime: RuntimeDep) -> Response:
    async def work(referral: Referral, actor: Actor) -> None:
        try:
            day, at = date.fromisoformat(form.get("day", "")), time.fromisoformat(form.get("time", ""))
        except ValueError:
            raise Refused("Please give the session's date and time.") from None
        place = (form.get("new_place") or "").strip() or form.get("place", "")
        if form.get("new_place", "").strip():
            await add_place(db, staff.user.id, place, now())
        await add_session(db, runtime.settings, reference, day, at, place, actor, now(), staff.user.id)

    return await _do(request, db, staff, runtime, reference, work, "session_added")


@router.post("/sessions/{session_id}/move")
async def move(request: Request, reference: str, session_id: RowId, db: Db, staff: AnyStaff, form: CheckedForm,
               runtime: RuntimeDep) -> Response:
    async def work(referral: Referral, actor: Actor) -> None:
        try:
            day, at = date.fromisoformat(form.get("day", "")), time.fromisoformat(form.get("time", ""))
        except ValueError:
            raise Refused("Please give the new date and time.") from None
        await move_session(db, runtime.settings, session_id, day, at, form.get("place", ""), actor, now(),
                           staff.user.id)

    return await _do(request, db, staff, runtime, reference, work, "session_moved")


@router.post("/sessions/{session_id}/cancel")
async def cancel(request: Request, reference: str, session_id: RowId, db: Db, staff: AnyStaff, form: CheckedForm,
                 runtime: RuntimeDep) -> Response:
    async def work(referral: Referral, actor: Actor) -> None:
        await cancel_session(db, runtime.settings, session_id, actor, now(), staff.user.id)

    return await _do(request, db, staff, runtime, reference, work, "session_cancelled")


@router.post("/first-contact")
async def first_contact(request: Request, reference: str, db: Db, staff: AnyStaff, form: CheckedForm,
                        runtime: RuntimeDep) -> Response:
    async def work(referral: Referral, actor: Actor) -> None:
        await send_first_contact(db, reference, actor, now(), staff.user.id)

    return await _do(request, db, staff, runtime, reference, work, "first_message_sent")


@router.post("/reminders")
async def reminders(request: Request, reference: str, db: Db, staff: AnyStaff, form: CheckedForm,
                    runtime: RuntimeDep) -> Response:
    async def work(referral: Referral, actor: Actor) -> None:
        await set_reminders(db, reference, form.get("on") == "1", actor, now(), staff.user.id)

    return await _do(request, db, staff, runtime, reference, work, "reminders_changed")


@router.post("/notices/seen")
async def notices_seen(request: Request, reference: str, db: Db, staff: AnyStaff, form: CheckedForm,
                       runtime: RuntimeDep) -> Response:
    async def work(referral: Referral, actor: Actor) -> None:
        await mark_notices_seen(db, referral.id, now())
        await audit(db, staff.name, "notices_seen", now(), referral.reference)

    return await _do(request, db, staff, runtime, reference, work, "notices_seen")
