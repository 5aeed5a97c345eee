"""What the staff route modules share: the page renderer, and one referral shown to whoever may see it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime import Runtime, runtime_of
from bot.sessions import can_text
from bot.staff.auth import Forbidden, Staff
from bot.staff.preview import Preview
from bot.timeline import young_person_timeline
from flows.delivery_words import delivery_words
from flows.discreet import DEFAULT_PLACE
from flows.notices import DECLINE_REASONS, question_room, reason_room
from flows.process import Role, Status, allowed_actions
from flows.questions import current_answers, flags_for
from flows.questions import sections as question_sections
from flows.reminders import offset_words, when_words
from store.alerts import alerts as find_alerts
from store.appointments import appointments_for, places_of, reminders_for, unseen_notices
from store.audit import audit
from store.models import Referral, SafeguardingAlert
from store.queue import answered_question, caseworker_of, is_overdue, referral_history, seen_new_info, staff_names
from store.referrals import get_referral
from store.same_person import likenesses
from store.users import caseworkers

__all__ = ["alerts_shown", "commit_and_kick", "now", "render", "show_referral", "templates", "viewable"]

templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")


def now() -> datetime:
    return datetime.now(UTC)


def render(request: Request, name: str, staff: Staff | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page from templates/staff, with who is asking and the time in the unit's zone."""
    tz = runtime_of(request.app).settings.tz
    header = {"open_alerts": getattr(request.state, "open_alerts", 0),
              "staff_notices": getattr(request.state, "staff_notices", [])}
    return templates.TemplateResponse(request, f"staff/{name}",
                                      {"staff": staff, "tz": tz, "now": now(), **header, **context},
                                      status_code=status_code)


async def commit_and_kick(db: AsyncSession, runtime: Runtime) -> None:
    """Commit now, then wake the dispatcher: woken before the commit, it could miss what this request queued."""
    await db.commit()
    runtime.dispatcher.kick()


async def alerts_shown(db: AsyncSession, staff: Staff, *, reference: str | None = None) -> list[SafeguardingAlert]:
    """Alerts about to be shown with their words, open ones first; each one shown is audited as a view."""
    found = await find_alerts(db, reference=reference)
    for alert in found:
        await audit(db, staff.name, "view_alert", now(), alert.reference, f"alert {alert.id}")
    return found


async def viewable(db: AsyncSession, staff: Staff, reference: str) -> Referral | None:
    """The referral if this staff member may see it; None if there is none; Forbidden (audited) if not theirs."""
    referral = await get_referral(db, reference)
    if referral is None:
        return None
    if staff.role is Role.CASEWORKER and referral.caseworker_id != staff.user.id:
        await audit(db, staff.name, "view_refused", now(), referral.reference)
        # The refusal itself is kept: commit before the 403 unwinds the transaction.
        await db.commit()
        raise Forbidden()
    return referral


async def show_referral(request: Request, db: AsyncSession, staff: Staff, reference: str, error: str | None = None,
                        status_code: int = 200, done: str | None = None, failed: str | None = None,
                        typed: dict[str, str] | None = None, preview: Preview | None = None,
                        editing: str | None = None,
                        session_errors: list[tuple[str, str]] | None = None) -> HTMLResponse:
    """The referral's page (audited as a view), or a 404 page if there is no such referral.

    After a refused action, `failed` names it and `typed` keeps what was typed into its form; after
    a preview, `preview` is the text to confirm and `typed` keeps the form too; back from a
    confirmation, `editing` names the action whose form `typed` fills again. `session_errors` are
    the booking form's problems, field by field.
    """
    referral = await viewable(db, staff, reference)
    if referral is None:
        return render(request, "error.html", staff, status_code=404, message=f"There is no referral {reference}.")
    history = await referral_history(db, referral.id)
    workers = await caseworkers(db)
    caseworker = await caseworker_of(db, referral)
    sessions = await appointments_for(db, referral.id)
    reminders = await reminders_for(db, [s.id for s in sessions])
    notices = await unseen_notices(db, referral.id)
    settings = runtime_of(request.app).settings
    timeline = await young_person_timeline(db, referral, sessions, settings.tz)
    places = [p.label for p in await places_of(db, staff.user.id)]
    question = await answered_question(db, referral.id)
    new_info = referral.new_info_at is not None
    if new_info and staff.role is not Role.CASEWORKER:
        seen_new_info(referral)  # a unit member has it in front of them now
    names = await staff_names(db, {referral.reviewer} if referral.reviewer else set())
    await audit(db, staff.name, "view", now(), referral.reference)
    raised = await alerts_shown(db, staff, reference=referral.reference)
    actions = allowed_actions(referral.status, referral.reviewer, staff.name, staff.role)
    tz = settings.tz
    answers = current_answers(referral.details)
    sections = [(name, [(q.heading, q.staff(answers[q.key], tz)) for q in questions if q.key in answers])
                for name, questions in question_sections()]
    return render(
        request,
        "referral.html",
        staff,
        status_code=status_code,
        referral=referral,
        history=history,
        actions=actions,
        caseworkers=workers,
        caseworker=caseworker,
        sections=sections,
        answer_flags=flags_for(referral.details),
        error=error,
        done=done,
        failed=failed,
        typed=typed or {},
        editing=editing,
        question=question,
        new_info=new_info,
        reviewer_name=names.get(referral.reviewer or "", referral.reviewer),
        overdue=is_overdue(referral, now()),
        decline_reasons=DECLINE_REASONS,
        question_room=question_room(referral.reference),
        reason_room=reason_room(referral.reference, settings.unit_contact),
        preview=preview,
        sessions=sessions,
        reminders=reminders,
        notices=notices,
        timeline=timeline,
        session_errors=session_errors or [],
        offset_words=offset_words,
        delivery_words=delivery_words,
        when_words=when_words,
        alerts=raised,
        # Possibly the same young person as another referral: the unit's to decide; not a caseworker's to see.
        same_person=[] if staff.role is Role.CASEWORKER else await likenesses(db, referral.id),
        places=places or [DEFAULT_PLACE],
        can_text=can_text(referral),
        can_arrange=referral.status == Status.ALLOCATED
        and (staff.role is not Role.CASEWORKER or referral.caseworker_id == staff.user.id),
    )
