"""The safeguarding alerts page: what raised each alert and what the bot answered, and its acknowledgement."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from bot.staff.auth import Staff
from bot.staff.deps import CheckedForm, Db, UnitStaff
from bot.staff.pages import alerts_shown, now, render, show_referral
from flows.process import Refused
from store.alerts import MAX_ACK_NOTE, acknowledge_alert, get_alert

__all__ = ["router"]

router = APIRouter(prefix="/staff/alerts")


async def _page(request: Request, db: AsyncSession, staff: Staff, *, status_code: int = 200, done: str | None = None,
                error: str | None = None, failed: int | None = None, typed: str = "") -> HTMLResponse:
    shown = await alerts_shown(db, staff)
    return render(request, "alerts.html", staff, status_code=status_code, alerts=shown, done=done, error=error,
                  failed=failed, typed=typed, max_note=MAX_ACK_NOTE)


@router.get("")
async def alerts_page(request: Request, db: Db, staff: UnitStaff, done: str | None = None) -> HTMLResponse:
    return await _page(request, db, staff, done=done)


@router.post("/{alert_id}/ack")
async def acknowledge(request: Request, alert_id: int, db: Db, staff: UnitStaff, form: CheckedForm) -> Response:
    """Acknowledge with a note; back to the referral's page when it was sent from there."""
    note = form.get("note", "")
    back = form.get("back", "")
    alert = await get_alert(db, alert_id)
    from_referral = alert is not None and alert.reference is not None and back == alert.reference
    try:
        await acknowledge_alert(db, alert_id, staff.name, note, now())
    except Refused as exc:
        if from_referral and alert is not None and alert.reference is not None:
            return await show_referral(request, db, staff, alert.reference, error=str(exc), status_code=409,
                                       failed=f"alert-{alert_id}", typed={"note": note})
        return await _page(request, db, staff, status_code=409, error=str(exc), failed=alert_id, typed=note)
    await db.commit()
    if from_referral and alert is not None:
        return RedirectResponse(f"/staff/referrals/{alert.reference}?done=alert_acknowledged", status_code=303)
    return RedirectResponse(f"/staff/alerts?done={alert_id}#alert-{alert_id}", status_code=303)
