"""The unit's decision on a referral flagged as possibly the same young person as another: same, or different."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from bot.staff.deps import CheckedForm, Db, RowId, UnitStaff
from bot.staff.pages import now, render, show_referral, viewable
from flows.process import Refused
from flows.same_person import Decision
from store.audit import audit
from store.same_person import decide

__all__ = ["router"]

router = APIRouter(prefix="/staff/referrals/{reference}")


@router.post("/same-person/{pair_id}")
async def decide_same_person(request: Request, reference: str, pair_id: RowId, db: Db, staff: UnitStaff,
                             form: CheckedForm) -> Response:
    """Same person, or different: audited; a different person's notice goes, the same person's link stays."""
    referral = await viewable(db, staff, reference)
    if referral is None:
        return render(request, "error.html", staff, status_code=404, message=f"There is no referral {reference}.")
    try:
        decision = Decision(form.get("decision", ""))
    except ValueError:
        return await show_referral(request, db, staff, reference, status_code=409, failed=f"same-person-{pair_id}",
                                   error="Please choose same person or different person.")
    try:
        other = await decide(db, referral.id, pair_id, decision, staff.name, now())
    except Refused as exc:
        return await show_referral(request, db, staff, reference, status_code=409, failed=f"same-person-{pair_id}",
                                   error=str(exc))
    action = f"{decision.value}_person"
    detail = f"same person as {other}" if decision is Decision.SAME else f"different person from {other}"
    await audit(db, staff.name, action, now(), referral.reference, detail)
    await db.commit()
    return RedirectResponse(f"/staff/referrals/{referral.reference}?done={action}", status_code=303)
