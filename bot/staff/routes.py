"""The staff pages. Every page names the roles it serves; every form carries a CSRF token; every view is audited."""

from __future__ import annotations

import csv
import dataclasses
import io
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.actions import Actor, act
from bot.runtime import Runtime, RuntimeDep
from bot.staff.auth import Staff
from bot.staff.deps import (
    AdminStaff,
    AnyStaff,
    AnyStepStaff,
    CaseworkerStaff,
    CheckedForm,
    Db,
    PasswordChangeStaff,
    UnitStaff,
)
from bot.staff.pages import commit_and_kick, now, render, show_referral, templates, viewable
from bot.staff.preview import preview_of, reason_of
from bot.staff.security import LOGIN_COOKIE, SESSION_COOKIE, new_token, same_token
from flows.boroughs import BOROUGHS
from flows.process import DECISION_DAYS, Action, Refused, Role, Status
from store.audit import audit, audit_entries
from store.queue import FLAGS, QueueFilter, is_overdue, is_test, list_queue
from store.second_factor import enrolled_user_ids, is_enrolled
from store.users import (
    UserError,
    WrongCurrentPassword,
    change_password,
    count_attempt,
    end_session,
    finish_login,
    list_users,
    start_session,
    verify_password,
)

__all__ = ["router", "templates"]

router = APIRouter(prefix="/staff")
# Every London borough, not the ones in use: finding those meant reading every referral on each view.
QUEUE_BOROUGHS = sorted(BOROUGHS)
ACTION_NAMES = {Action.CLAIM: "Claim", Action.RELEASE: "Release", Action.REQUEST_INFO: "Ask for more information",
                Action.ACCEPT: "Accept", Action.DECLINE: "Decline", Action.ALLOCATE: "Allocate", Action.CLOSE: "Close"}
templates.env.globals.update(Status=Status, action_names=ACTION_NAMES, is_test=is_test)


def _secure(runtime: Runtime) -> bool:
    return runtime.settings.public_base_url.startswith("https://")


async def _form(request: Request) -> dict[str, str]:
    return {key: str(value) for key, value in (await request.form()).items()}


# --- logging in and out ------------------------------------------------------------------------


@router.get("/login")
async def login_page(request: Request, runtime: RuntimeDep) -> HTMLResponse:
    token = new_token()
    response = render(request, "login.html", None, csrf=token, error=None)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(runtime), path="/staff")
    return response


# One answer for every failure, so it tells an attacker nothing about which accounts exist or are
# locked, while still telling a locked-out member of staff what to do.
LOGIN_FAILED = ("That email and password don't match an account, or the account is locked for 15 minutes after "
                "repeated attempts: ask an admin if you need in sooner.")
# The audit log's actor for an email that has no account: never the typed text, which may be a password.
UNKNOWN_ACCOUNT = "unknown account"


@router.post("/login")
async def login(request: Request, runtime: RuntimeDep) -> Response:
    form = await _form(request)
    email = form.get("email", "").strip().lower()
    address = request.client.host if request.client else "unknown"
    if not same_token(form.get("csrf"), request.cookies.get(LOGIN_COOKIE)):
        return _login_error(request, runtime, "This form had expired. Please try again.", 403, email)
    place = runtime.login_throttle.reserve(address)
    if place is None:
        return _login_error(request, runtime, "Too many failed attempts from here. Please wait a few minutes.", 429,
                            email)
    # Three steps rather than Db's one transaction: count the attempt, check the password with no
    # transaction open (argon2 takes a third of a second), then record what came of it.
    async with runtime.sessions() as db, db.begin():
        attempt = await count_attempt(db, email, now())
    right = await verify_password(attempt.password_hash, form.get("password", ""))
    async with runtime.sessions() as db, db.begin():
        result = await finish_login(db, attempt, right, form.get("password", ""), now(),
                                    runtime.settings.one_time_password_hours)
        if result.user is None:
            await audit(db, result.account or UNKNOWN_ACCOUNT, "login_failed", now(), detail=result.why)
            return _login_error(request, runtime, LOGIN_FAILED, 401, email)
        runtime.login_throttle.succeeded(address, place)
        token, session = await start_session(db, result.user, now())
        await audit(db, result.user.email, "login", now())
        # The password is only the first step: then the second factor (or a new password, then setting one up).
        step = Staff(result.user, session, await is_enrolled(db, result.user.id)).next_step
        target = step.value if step else "/staff"
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, runtime.cookie_signer.sign(token), httponly=True,
                        samesite="strict", secure=_secure(runtime), path="/staff")
    response.delete_cookie(LOGIN_COOKIE, path="/staff")
    return response


def _login_error(request: Request, runtime: Runtime, message: str, status_code: int, email: str) -> HTMLResponse:
    """The login page again with what went wrong, keeping the email typed (never the password)."""
    token = new_token()
    response = render(request, "login.html", None, status_code=status_code, csrf=token, error=message, email=email)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(runtime), path="/staff")
    return response


@router.get("/accessibility")
async def accessibility_statement(request: Request) -> HTMLResponse:
    """The accessibility statement: public, as UK public-sector services publish one."""
    return render(request, "accessibility.html", None)


@router.post("/logout")
async def logout(db: Db, staff: AnyStepStaff, form: CheckedForm) -> Response:
    await end_session(db, staff.session, now())
    await audit(db, staff.name, "logout", now())
    response = RedirectResponse("/staff/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/staff")
    return response


@router.get("/password")
async def password_page(request: Request, staff: PasswordChangeStaff) -> HTMLResponse:
    return render(request, "password.html", staff, error=None, error_field="new")


@router.post("/password")
async def change_password_form(request: Request, db: Db, staff: PasswordChangeStaff, form: CheckedForm) -> Response:
    error, field = None, "new"
    if form.get("new", "") != form.get("again", ""):
        error = "The two new passwords are different."
    else:
        try:
            await change_password(db, staff.user, staff.session, form.get("current", ""), form.get("new", ""), now())
        except UserError as exc:
            error, field = str(exc), "current" if isinstance(exc, WrongCurrentPassword) else "new"
    if error is None:
        await audit(db, staff.name, "password_changed", now())
        return RedirectResponse("/staff", status_code=303)
    return render(request, "password.html", staff, status_code=400, error=error, error_field=field)


# --- the queue ---------------------------------------------------------------------------------


@router.get("")
async def home(staff: AnyStaff) -> Response:
    return RedirectResponse("/staff/mine" if staff.role is Role.CASEWORKER else "/staff/queue", status_code=303)


def _filters(request: Request) -> QueueFilter:
    params = request.query_params
    status = params.get("status") or None
    if status not in (None, "all", *Status):
        status = None
    flag = params.get("flag") if params.get("flag") in FLAGS else None
    return QueueFilter(status=status, borough=params.get("borough") or None, flag=flag,
                       include_tests=params.get("tests") == "1")


def _query(filters: QueueFilter) -> dict[str, str]:
    """The filters as query parameters, for the page links and the export."""
    pairs = (("status", filters.status), ("borough", filters.borough), ("flag", filters.flag),
             ("tests", "1" if filters.include_tests else None))
    return {k: v for k, v in pairs if v}


@router.get("/queue")
async def queue(request: Request, db: Db, staff: UnitStaff) -> HTMLResponse:
    filters = _filters(request)
    try:
        page = int(request.query_params.get("page", "1"))
    except ValueError:
        page = 1
    result = await list_queue(db, filters, now(), page)
    await audit(db, staff.name, "view_queue", now(), detail=_describe(filters, result.page))
    return render(request, "queue.html", staff, page=result, filters=filters, boroughs=QUEUE_BOROUGHS, flags=FLAGS,
                  overdue=lambda r: is_overdue(r, now()), days=lambda r: (now() - r.created_at).days,
                  query=urlencode(_query(filters)), decision_days=DECISION_DAYS)


def _describe(filters: QueueFilter, page: int) -> str:
    return " ".join([*(f"{k}={v}" for k, v in _query(filters).items()), f"page={page}"])


@router.get("/mine")
async def my_young_people(request: Request, db: Db, staff: CaseworkerStaff) -> HTMLResponse:
    # Their own young people, tests included: each marked as one on the page.
    result = await list_queue(db, QueueFilter(status="all", caseworker_id=staff.user.id, include_tests=True), now(), 1)
    await audit(db, staff.name, "view_allocations", now())
    return render(request, "mine.html", staff, referrals=result.referrals)


@router.get("/export.csv")
async def export(request: Request, db: Db, staff: UnitStaff) -> Response:
    # Test referrals (made in the simulator) never leave in an export, whatever the queue shows.
    filters = dataclasses.replace(_filters(request), include_tests=False)
    rows = []
    page = 1
    while True:
        result = await list_queue(db, filters, now(), page)
        rows += result.referrals
        if page >= result.pages:
            break
        page += 1
    await audit(db, staff.name, "export", now(), detail=f"{_describe(filters, 0)} rows={len(rows)}")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["reference", "status", "received", "borough", "age", "urgency", "safeguarding", "under_18",
                     "overdue", "channel"])
    for r in rows:
        writer.writerow([r.reference, r.status, r.created_at.isoformat(), r.borough, r.age, r.urgency,
                         r.safeguarding_flag, r.under_18, is_overdue(r, now()), r.channel])
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="referrals.csv"'})


# --- one referral --------------------------------------------------------------------------------


@router.get("/referrals/{reference}")
async def referral_page(request: Request, reference: str, db: Db, staff: AnyStaff,
                        done: str | None = None) -> HTMLResponse:
    # `done` names what the form just did (the redirect after each post), for the success banner.
    return await show_referral(request, db, staff, reference, done=done)


@router.post("/referrals/{reference}/actions")
async def referral_action(request: Request, reference: str, db: Db, staff: AnyStaff, form: CheckedForm,
                          runtime: RuntimeDep) -> Response:
    if (referral := await viewable(db, staff, reference)) is None:
        return render(request, "error.html", staff, status_code=404, message=f"There is no referral {reference}.")
    try:
        action = Action(form.get("action", ""))
        if form.get("step") == "preview":
            shown = preview_of(runtime.settings, referral.reference, action, form)
            return await show_referral(request, db, staff, reference, preview=shown, typed=form)
        await act(db, runtime.settings, reference, action, Actor(staff.name, staff.role), now(),
                  reason=reason_of(form), question=form.get("question"), caseworker=form.get("caseworker"))
    except (Refused, ValueError) as exc:
        error = str(exc) if isinstance(exc, Refused) else "That is not an action on a referral."
        return await show_referral(request, db, staff, reference, error=error, status_code=409,
                                   failed=form.get("action"), typed=form)
    await commit_and_kick(db, runtime)
    return RedirectResponse(f"/staff/referrals/{reference}?done={action.value}", status_code=303)


# --- oversight -----------------------------------------------------------------------------------


@router.get("/audit")
async def audit_page(request: Request, db: Db, staff: AdminStaff) -> HTMLResponse:
    params = request.query_params
    entries = await audit_entries(db, actor=params.get("actor") or None, action=params.get("action") or None,
                                  reference=params.get("reference") or None)
    await audit(db, staff.name, "view_audit", now())
    return render(request, "audit.html", staff, entries=entries, params=params)


@router.get("/users")
async def users_page(request: Request, db: Db, staff: AdminStaff) -> HTMLResponse:
    users = await list_users(db)
    await audit(db, staff.name, "view_users", now())
    return render(request, "users.html", staff, users=users, second_factor=await enrolled_user_ids(db))
