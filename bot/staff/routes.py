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
from bot.sessions import full_name
from bot.staff.auth import Staff
from bot.staff.deps import AnyStaff, AnyStepStaff, CaseworkerStaff, CheckedForm, Db, PasswordChangeStaff, UnitStaff
from bot.staff.pages import commit_and_kick, now, render, show_referral, templates, viewable
from bot.staff.preview import WRITTEN, preview_of, reason_of
from bot.staff.queue_params import (
    ENQUIRIES_VIEW,
    SORT_CHOICES,
    VIEWS,
    due_words,
    queue_filters,
    queue_query,
    sort_links,
)
from bot.staff.security import LOGIN_COOKIE, SESSION_COOKIE, new_token, same_token
from flows.boroughs import BOROUGHS
from flows.channels import REPLYABLE_CHANNELS
from flows.combined import organisation_of
from flows.process import DECISION_DAYS, Action, Refused, Role, Status, decide
from flows.reminders import when_words
from store.appointments import next_sessions, unread_counts
from store.audit import audit
from store.enquiries import count_new_enquiries
from store.models import Referral
from store.queue import FLAGS, QueueFilter, due_in_days, is_overdue, is_test, list_queue, staff_names
from store.second_factor import is_enrolled
from store.users import (
    UserError,
    WrongCurrentPassword,
    change_password,
    count_attempt,
    end_session,
    finish_login,
    start_session,
    verify_password,
)

__all__ = ["router", "templates"]

router = APIRouter(prefix="/staff")
# Every London borough, not the ones in use: finding those meant reading every referral on each view.
QUEUE_BOROUGHS = sorted(BOROUGHS)
ACTION_NAMES = {Action.CLAIM: "Claim", Action.RELEASE: "Release", Action.REQUEST_INFO: "Ask for more information",
                Action.ACCEPT: "Accept", Action.DECLINE: "Decline", Action.ALLOCATE: "Allocate", Action.CLOSE: "Close",
                Action.TAKE_OVER: "Take over"}
templates.env.globals.update(Status=Status, action_names=ACTION_NAMES, is_test=is_test, organisation_of=organisation_of)
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


@router.get("/queue")
async def queue(request: Request, db: Db, staff: UnitStaff) -> Response:
    if request.query_params.get("status") == ENQUIRIES_VIEW:
        # Enquiries are not referrals: the filter leads to their own list, which shows only theirs.
        return RedirectResponse("/staff/enquiries", status_code=303)
    filters = queue_filters(request)
    try:
        page = int(request.query_params.get("page", "1"))
    except ValueError:
        page = 1
    result = await list_queue(db, filters, now(), page)
    names = await staff_names(db, {r.reviewer for r in result.referrals if r.reviewer})
    await audit(db, staff.name, "view_queue", now(), detail=_describe(filters, result.page))
    return render(request, "queue.html", staff, page=result, filters=filters, boroughs=QUEUE_BOROUGHS, flags=FLAGS,
                  overdue=lambda r: is_overdue(r, now()), due=lambda r: due_words(due_in_days(r, now())),
                  reviewer=lambda r: names.get(r.reviewer, r.reviewer) if r.reviewer else "",
                  query=urlencode(queue_query(filters)), decision_days=DECISION_DAYS, views=VIEWS,
                  sorts=sort_links(filters), sort_choices=SORT_CHOICES,
                  sort_chosen=(filters.sort or "") + ("-desc" if filters.descending else ""),
                  new_enquiries=await count_new_enquiries(db))


def _describe(filters: QueueFilter, page: int) -> str:
    return " ".join([*(f"{k}={v}" for k, v in queue_query(filters).items()), f"page={page}"])


@router.get("/mine")
async def my_young_people(request: Request, db: Db, staff: CaseworkerStaff) -> HTMLResponse:
    # Their own young people, tests included: each marked as one on the page.
    result = await list_queue(db, QueueFilter(status="all", caseworker_id=staff.user.id, include_tests=True), now(), 1)
    ids = [r.id for r in result.referrals]
    await audit(db, staff.name, "view_allocations", now())
    return render(request, "mine.html", staff, referrals=result.referrals, name_of=full_name,
                  next_session=await next_sessions(db, ids, now()), unread=await unread_counts(db, ids),
                  when_words=when_words)


@router.get("/export.csv")
async def export(request: Request, db: Db, staff: UnitStaff) -> Response:
    # Test referrals (made in the simulator) never leave in an export, whatever the queue shows.
    filters = dataclasses.replace(queue_filters(request), include_tests=False)
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
        step = form.get("step")
        if step == "preview":
            shown = preview_of(runtime.settings, referral.reference, action, form)
            return await show_referral(request, db, staff, reference, preview=shown, typed=form)
        if step == "change":
            # Back from the confirmation to the form, with what was typed still in it.
            return await show_referral(request, db, staff, reference, typed=form, editing=action.value)
        if action in IRREVERSIBLE and step != "confirm":
            return _confirmation(request, runtime, staff, referral, action, form)
        await act(db, runtime.settings, reference, action, Actor(staff.name, staff.role), now(),
                  reason=reason_of(form), question=form.get("question"), caseworker=form.get("caseworker"))
    except (Refused, ValueError) as exc:
        error = str(exc) if isinstance(exc, Refused) else "That is not an action on a referral."
        return await show_referral(request, db, staff, reference, error=error, status_code=409,
                                   failed=form.get("action"), typed=form)
    await commit_and_kick(db, runtime)
    return RedirectResponse(f"/staff/referrals/{reference}?done={action.value}", status_code=303)


# Actions that cannot be undone: each is confirmed on a page of its own first, saying what it does.
IRREVERSIBLE = {
    Action.DECLINE: ("decline", "The referral is declined. It cannot be accepted later.",
                     "A declined referral cannot be accepted later."),
    Action.CLOSE: ("close", "The referral is closed. Its work ends and it cannot be reopened.",
                   "A closed referral cannot be reopened."),
}


def _confirmation(request: Request, runtime: Runtime, staff: Staff, referral: Referral, action: Action,
                  form: dict[str, str]) -> HTMLResponse:
    """What the action will do and what the referrer will be told, with the button that does it; Refused if it can't."""
    decide(action, referral.status, referral.reviewer, staff.name, staff.role)
    told = None
    if action in WRITTEN:
        told = preview_of(runtime.settings, referral.reference, action, form)
        if referral.channel not in REPLYABLE_CHANNELS or not referral.origin_address:
            told = None
    verb, happens, warning = IRREVERSIBLE[action]
    not_told = ("Nothing: closing a referral sends the referrer no text." if action is Action.CLOSE
                else "Nothing: this referral did not come from a number or chat we can text.")
    return render(request, "confirm.html", staff, ref=referral.reference, action=action.value, verb=verb,
                  happens=happens, warning=warning, told=told, not_told=not_told, channel=referral.channel,
                  fields={name: form.get(name, "") for name in WRITTEN.get(action, ())})

