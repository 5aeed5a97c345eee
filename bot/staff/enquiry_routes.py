"""Enquiries from young people and families: the list, one enquiry (audited), and marking it replied or closed."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from bot.staff.auth import Staff
from bot.staff.deps import CheckedForm, Db, UnitStaff
from bot.staff.pages import now, render
from flows.channels import PHONE_CHANNELS
from flows.process import Refused
from flows.statuses import EnquiryStatus
from store.audit import audit
from store.enquiries import MOVES, get_enquiry, list_enquiries, move_enquiry

__all__ = ["router"]

router = APIRouter(prefix="/staff/enquiries")

# The list's views: what is waiting for a reply unless staff choose otherwise.
VIEWS = (("", "New (waiting for a reply)"), (EnquiryStatus.REPLIED.value, EnquiryStatus.REPLIED.label),
         (EnquiryStatus.CLOSED.value, EnquiryStatus.CLOSED.label), ("all", "All"))
DONE = {EnquiryStatus.REPLIED: "marked as replied", EnquiryStatus.CLOSED: EnquiryStatus.CLOSED.label.lower()}


@router.get("")
async def enquiries_page(request: Request, db: Db, staff: UnitStaff, status: str = "") -> HTMLResponse:
    """The enquiries, newest first: references, statuses and flags only (what they said is on each one's page)."""
    view = status if status in {value for value, _ in VIEWS} else ""
    chosen = None if view == "all" else EnquiryStatus(view or EnquiryStatus.NEW)
    found = await list_enquiries(db, chosen)
    await audit(db, staff.name, "view_enquiries", now(), detail=f"status={view or 'new'}")
    return render(request, "enquiries.html", staff, enquiries=found, views=VIEWS, view=view, Statuses=EnquiryStatus)


async def _show(request: Request, db: AsyncSession, staff: Staff, reference: str, *, done: str | None = None,
                error: str | None = None, status_code: int = 200) -> HTMLResponse:
    enquiry = await get_enquiry(db, reference)
    if enquiry is None:
        return render(request, "error.html", staff, status_code=404,
                      message=f"There is no enquiry {reference.strip().upper()[:16]}.")
    # What they said, and the number to reply to, are personal: every showing is in the audit log.
    await audit(db, staff.name, "view_enquiry", now(), enquiry.reference)
    return render(request, "enquiry.html", staff, status_code=status_code, enquiry=enquiry,
                  moves=MOVES[enquiry.status], Statuses=EnquiryStatus, by_phone=enquiry.channel in PHONE_CHANNELS,
                  done=DONE.get(EnquiryStatus(done)) if done in {s.value for s in DONE} else None, error=error)


@router.get("/{reference}")
async def enquiry_page(request: Request, reference: str, db: Db, staff: UnitStaff,
                       done: str | None = None) -> HTMLResponse:
    return await _show(request, db, staff, reference, done=done)


@router.post("/{reference}/status")
async def enquiry_status(request: Request, reference: str, db: Db, staff: UnitStaff, form: CheckedForm) -> Response:
    """Mark replied, or close (confirmed on a page of its own first: a closed enquiry cannot be reopened)."""
    enquiry = await get_enquiry(db, reference)
    if enquiry is None:
        return render(request, "error.html", staff, status_code=404,
                      message=f"There is no enquiry {reference.strip().upper()[:16]}.")
    wanted = form.get("status", "")
    if wanted not in {s.value for s in MOVES[enquiry.status]}:
        return await _show(request, db, staff, reference, status_code=409,
                           error=f"Enquiry {enquiry.reference} is {enquiry.status.label.lower()}: it cannot be "
                                 "changed that way now.")
    status = EnquiryStatus(wanted)
    if status is EnquiryStatus.CLOSED and form.get("step") != "confirm":
        return render(request, "enquiry_confirm.html", staff, enquiry=enquiry, closing=EnquiryStatus.CLOSED)
    try:
        await move_enquiry(db, reference, status, staff.name, now())
    except Refused as exc:
        return await _show(request, db, staff, reference, status_code=409, error=str(exc))
    await audit(db, staff.name, f"enquiry_{status.value}", now(), enquiry.reference)
    await db.commit()
    return RedirectResponse(f"/staff/enquiries/{enquiry.reference}?done={status.value}", status_code=303)
