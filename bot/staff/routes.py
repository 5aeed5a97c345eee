"""The staff pages. Every page needs a session; every form carries a CSRF token; every view is audited."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession

from bot.actions import Actor, act
from bot.settings import Settings
from bot.staff.auth import Forbidden, Staff, current_staff, require
from bot.staff.security import LOGIN_COOKIE, SESSION_COOKIE, new_token, same_token
from flows.boroughs import BOROUGHS
from flows.notices import DECLINE_REASONS, MAX_QUESTION
from flows.process import DECISION_DAYS, Action, Refused, Role, Status, allowed_actions
from flows.questions import SECTIONS
from store.audit import audit, audit_entries
from store.queue import FLAGS, QueueFilter, is_overdue, list_queue, referral_history
from bot.sessions import can_text
from flows.discreet import DEFAULT_PLACE
from store.appointments import appointments_for, places_of, reminders_for, unseen_notices
from store.referrals import get_referral
from store.models import User
from store.users import UserError, caseworkers, check_login, end_session, list_users, set_password, start_session

__all__ = ["router", "templates"]

router = APIRouter(prefix="/staff")
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
UNIT = (Role.UNIT, Role.ADMIN)
# Every London borough, not the ones in use: finding those meant reading every referral on each view.
QUEUE_BOROUGHS = sorted(BOROUGHS)
ACTION_NAMES = {Action.CLAIM: "Claim", Action.RELEASE: "Release", Action.REQUEST_INFO: "Ask for more information",
                Action.ACCEPT: "Accept", Action.DECLINE: "Decline", Action.ALLOCATE: "Allocate", Action.CLOSE: "Close"}
templates.env.globals.update(Status=Status, action_names=ACTION_NAMES)


def _now() -> datetime:
    return datetime.now(UTC)


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def _page(request: Request, name: str, staff: Staff | None, status_code: int = 200, **context: Any) -> HTMLResponse:
    tz = _settings(request).tz
    return templates.TemplateResponse(request, f"staff/{name}", {"staff": staff, "tz": tz, "now": _now(), **context},
                                      status_code=status_code)


def _secure(request: Request) -> bool:
    return _settings(request).public_base_url.startswith("https://")


async def _form(request: Request) -> dict[str, str]:
    return {key: str(value) for key, value in (await request.form()).items()}


def _check_csrf(form: dict[str, str], staff: Staff) -> None:
    if not same_token(form.get("csrf"), staff.csrf):
        raise Forbidden()


# --- logging in and out ------------------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request) -> HTMLResponse:
    token = new_token()
    response = _page(request, "login.html", None, csrf=token, error=None)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/staff")
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    form = await _form(request)
    email = form.get("email", "").strip().lower()
    address = request.client.host if request.client else "unknown"
    throttle = request.app.state.login_throttle
    if not same_token(form.get("csrf"), request.cookies.get(LOGIN_COOKIE)):
        return _login_error(request, "This form had expired. Please try again.", 403, email)
    if throttle.blocked(address):
        return _login_error(request, "Too many failed attempts from here. Please wait a few minutes.", 429, email)
    async with request.app.state.sessions() as db, db.begin():
        result = await check_login(db, email, form.get("password", ""), _now())
        if result.user is None:
            throttle.failed(address)
            await audit(db, email[:254] or "unknown", "login_failed", _now(), detail="locked" if result.locked else "")
            if result.locked:
                return _login_error(request, "This account is locked for 15 minutes after repeated failed "
                                    "attempts. Ask an admin if you need in sooner.", 423, email)
            return _login_error(request, "That email and password don't match an account.", 401, email)
        token, _ = await start_session(db, result.user, _now())
        await audit(db, result.user.email, "login", _now())
        target = "/staff/password" if result.user.must_change_password else "/staff"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, request.app.state.cookie_signer.sign(token), httponly=True,
                        samesite="strict", secure=_secure(request), path="/staff")
    response.delete_cookie(LOGIN_COOKIE, path="/staff")
    return response


def _login_error(request: Request, message: str, status_code: int, email: str) -> HTMLResponse:
    """The login page again with what went wrong, keeping the email typed (never the password)."""
    token = new_token()
    response = _page(request, "login.html", None, status_code=status_code, csrf=token, error=message, email=email)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request), path="/staff")
    return response


@router.get("/accessibility")
async def accessibility_statement(request: Request) -> HTMLResponse:
    """The accessibility statement: public, as UK public-sector services publish one."""
    return _page(request, "accessibility.html", None)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await _form(request)
    async with request.app.state.sessions() as db, db.begin():
        staff = await current_staff(request, db, allow_password_change=True)
        _check_csrf(form, staff)
        await end_session(db, staff.session, _now())
        await audit(db, staff.name, "logout", _now())
    response = RedirectResponse("/staff/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/staff")
    return response


@router.get("/password")
async def password_page(request: Request) -> HTMLResponse:
    async with request.app.state.sessions() as db, db.begin():
        staff = await current_staff(request, db, allow_password_change=True)
    return _page(request, "password.html", staff, error=None)


@router.post("/password")
async def change_password(request: Request) -> Response:
    form = await _form(request)
    async with request.app.state.sessions() as db, db.begin():
        staff = await current_staff(request, db, allow_password_change=True)
        _check_csrf(form, staff)
        error = None
        if form.get("new", "") != form.get("again", ""):
            error = "The two new passwords are different."
        else:
            try:
                await set_password(db, staff.user, form.get("new", ""))
            except UserError as exc:
                error = str(exc)
        if error is None:
            await audit(db, staff.name, "password_changed", _now())
            return RedirectResponse("/staff", status_code=303)
    return _page(request, "password.html", staff, status_code=400, error=error)


# --- the queue ---------------------------------------------------------------------------------


@router.get("")
async def home(request: Request) -> Response:
    async with request.app.state.sessions() as db, db.begin():
        staff = await current_staff(request, db)
    return RedirectResponse("/staff/mine" if staff.role is Role.CASEWORKER else "/staff/queue", status_code=303)


def _filters(request: Request) -> QueueFilter:
    params = request.query_params
    status = params.get("status") or None
    if status not in (None, "all", *Status):
        status = None
    flag = params.get("flag") if params.get("flag") in FLAGS else None
    return QueueFilter(status=status, borough=params.get("borough") or None, flag=flag)


@router.get("/queue")
async def queue(request: Request) -> HTMLResponse:
    filters = _filters(request)
    try:
        page = int(request.query_params.get("page", "1"))
    except ValueError:
        page = 1
    async with request.app.state.sessions() as db, db.begin():
        staff = await current_staff(request, db)
        require(staff, *UNIT)
        result = await list_queue(db, filters, _now(), page)
        await audit(db, staff.name, "view_queue", _now(), detail=_describe(filters, result.page))
    query = {k: v for k, v in (("status", filters.status), ("borough", filters.borough), ("flag", filters.flag)) if v}
    return _page(request, "queue.html", staff, page=result, filters=filters, boroughs=QUEUE_BOROUGHS, flags=FLAGS,
                 overdue=lambda r: is_overdue(r, _now()), days=lambda r: (_now() - r.created_at).days,
                 query=urlencode(query), decision_days=DECISION_DAYS)


def _describe(filters: QueueFilter, page: int) -> str:
    parts = [f"{k}={v}" for k, v in (("status", filters.status), ("borough", filters.borough), ("flag", filters.flag)) if v]
    return " ".join([*parts, f"page={page}"])


@router.get("/mine")
async def my_young_people(request: Request) -> HTMLResponse:
    async with request.app.state.sessions() as db, db.begin():
        staff = await current_staff(request, db)
        require(staff, Role.CASEWORKER)
        result = await list_queue(db, QueueFilter(status="all", caseworker_id=staff.user.id), _now(), 1)
        await audit(db, staff.name, "view_allocations", _now())
    return _page(request, "mine.html", staff, referrals=result.referrals)


@router.get("/export.csv")
async def export(request: Request) -> Response:
    filters = _filters(request)
    async with request.app.state.sessions() as db, db.begin():
        staff = await current_staff(request, db)
        require(staff, *UNIT)
        rows = []
        page = 1
        while True:
            result = await list_queue(db, filters, _now(), page)
            rows += result.referrals
            if page >= result.pages:
                break
            page += 1
        await audit(db, staff.name, "export", _now(), detail=f"{_describe(filters, 0)} rows={len(rows)}")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["reference", "status", "received", "borough", "age", "urgency", "safeguarding", "under_18",
                     "overdue", "channel"])
    for r in rows:
        writer.writerow([r.reference, r.status, r.created_at.isoformat(), r.borough, r.age, r.urgency,
                         r.safeguarding_flag, r.under_18, is_overdue(r, _now()), r.channel])
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="referrals.csv"'})


# --- one referral --------------------------------------------------------------------------------


async def _viewable(request: Request, db: AsyncSession, staff: Staff, reference: str) -> Any:
    referral = await get_referral(db, reference)
    if referral is None:
        return None
    if staff.role is Role.CASEWORKER and referral.caseworker_id != staff.user.id:
        await audit(db, staff.name, "view_refused", _now(), referral.reference)
        # The refusal itself is kept: commit before the 403 unwinds the transaction.
        await db.commit()
        raise Forbidden()
    return referral


@router.get("/referrals/{reference}")
async def referral_page(request: Request, reference: str, done: str | None = None) -> HTMLResponse:
    # `done` names what the form just did (the redirect after each post), for the success banner.
    return await _show_referral(request, reference, done=done)


async def _show_referral(request: Request, reference: str, error: str | None = None, status_code: int = 200,
                         done: str | None = None, failed: str | None = None,
                         typed: dict[str, str] | None = None) -> HTMLResponse:
    """The referral page; after a refused action, `failed` names it and `typed` keeps what was typed into its form."""
    async with request.app.state.sessions() as db, db.begin():
        staff = await current_staff(request, db)
        referral = await _viewable(request, db, staff, reference)
        if referral is None:
            return _page(request, "error.html", staff, status_code=404, message=f"There is no referral {reference}.")
        history = await referral_history(db, referral.id)
        workers = await caseworkers(db)
        caseworker = await db.get(User, referral.caseworker_id) if referral.caseworker_id else None
        sessions = await appointments_for(db, referral.id)
        reminders = await reminders_for(db, [s.id for s in sessions])
        notices = await unseen_notices(db, referral.id)
        places = [p.label for p in await places_of(db, staff.user.id)]
        await audit(db, staff.name, "view", _now(), referral.reference)
    actions = allowed_actions(referral.status, referral.reviewer, staff.name, staff.role)
    tz = _settings(request).tz
    sections = [(name, [(title, _readable(key, referral.details[key], tz)) for key, title in fields
                        if key in referral.details]) for name, fields in SECTIONS]
    return _page(request, "referral.html", staff, status_code=status_code, referral=referral, history=history,
                 actions=actions, caseworkers=workers, caseworker=caseworker, sections=sections, error=error, done=done,
                 overdue=is_overdue(referral, _now()), decline_reasons=DECLINE_REASONS, max_question=MAX_QUESTION,
                 failed=failed, typed=typed or {},
                 sessions=sessions, reminders=reminders, notices=notices, places=places or [DEFAULT_PLACE],
                 can_text=can_text(referral), can_arrange=referral.status == Status.ALLOCATED and (
                     staff.role is not Role.CASEWORKER or referral.caseworker_id == staff.user.id))


@router.post("/referrals/{reference}/actions")
async def referral_action(request: Request, reference: str) -> Response:
    form = await _form(request)
    error: str | None = None
    async with request.app.state.sessions() as db, db.begin():
        staff = await current_staff(request, db)
        _check_csrf(form, staff)
        if await _viewable(request, db, staff, reference) is None:
            return _page(request, "error.html", staff, status_code=404, message=f"There is no referral {reference}.")
        try:
            action = Action(form.get("action", ""))
            await act(db, _settings(request), reference, action, Actor(staff.name, staff.role), _now(),
                      reason=form.get("reason") if form.get("reason") != "other" else form.get("other_reason"),
                      question=form.get("question"), caseworker=form.get("caseworker"))
        except (Refused, ValueError) as exc:
            error = str(exc) if isinstance(exc, Refused) else "That is not an action on a referral."
    if error is not None:
        return await _show_referral(request, reference, error=error, status_code=409, failed=form.get("action"),
                                    typed=form)
    request.app.state.dispatcher.kick()
    return RedirectResponse(f"/staff/referrals/{reference}?done={action.value}", status_code=303)


def _readable(key: str, value: Any, tz: Any) -> str:
    """An answer as staff read it: dates the UK way, yes/no words, lists joined."""
    if value is None:
        return "-"
    if key == "dob":
        return datetime.fromisoformat(value).strftime("%d/%m/%Y")
    if key == "consent" and isinstance(value, dict):
        when = datetime.fromisoformat(value["at"]).astimezone(tz).strftime("%d %b %Y %H:%M")
        return f"{'Yes' if value['agreed'] else 'No'}, given by the {value['given_by']}, recorded {when}"
    if key == "yp_language" and isinstance(value, dict):
        return value["language"] + (", needs an interpreter" if value["interpreter"] else "")
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(value) if value else "None"
    if isinstance(value, dict):
        words = {True: "yes", False: "no", None: "not known"}
        return "; ".join(f"{name}: {words.get(flag, flag)}" for name, flag in value.items())
    return str(value)


# --- oversight -----------------------------------------------------------------------------------


@router.get("/audit")
async def audit_page(request: Request) -> HTMLResponse:
    params = request.query_params
    async with request.app.state.sessions() as db, db.begin():
        staff = await current_staff(request, db)
        require(staff, Role.ADMIN)
        entries = await audit_entries(db, actor=params.get("actor") or None, action=params.get("action") or None,
                                      reference=params.get("reference") or None)
        await audit(db, staff.name, "view_audit", _now())
    return _page(request, "audit.html", staff, entries=entries, params=params)


@router.get("/users")
async def users_page(request: Request) -> HTMLResponse:
    async with request.app.state.sessions() as db, db.begin():
        staff = await current_staff(request, db)
        require(staff, Role.ADMIN)
        users = await list_users(db)
        await audit(db, staff.name, "view_users", _now())
    return _page(request, "users.html", staff, users=users)
