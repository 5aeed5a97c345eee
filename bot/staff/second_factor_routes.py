"""The second factor's pages: setting up an authenticator app, and the code (or a recovery code) after the password.

These routes read the session through `LoginStepGuard` and open their own short transactions rather
than Db's one: checking and making argon2 hashes takes a while, and no transaction is held open meanwhile.
A wrong code is counted against the account before it is checked, as a wrong password is (same lock),
and against the client's address by the login throttle.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime import Runtime, RuntimeDep
from bot.staff.auth import Staff
from bot.staff.deps import AdminStaff, CheckedForm, CodeStepStaff, Db, EnrolStepStaff, RowId, checked_form
from bot.staff.pages import now, render
from bot.staff.security import LOGIN_COOKIE, SESSION_COOKIE, new_token
from store.audit import audit
from store.models import StaffSession, User
from store.second_factor import (
    add_recovery_codes,
    confirm_enrolment,
    find_recovery_code,
    grouped,
    hash_recovery_codes,
    is_enrolled,
    matching_step,
    new_recovery_codes,
    pass_session,
    provisioning_uri,
    qr_svg,
    reset_second_factor,
    second_factor_of,
    start_enrolment,
    unused_recovery_codes,
    use_recovery_code,
    use_step,
)
from store.users import clear_failures, count_code_attempt, end_session

__all__ = ["admin_router", "router"]

router = APIRouter(prefix="/staff/two-factor")
# The users page's "Reset second factor" (the page itself is in routes.py).
admin_router = APIRouter(prefix="/staff/users")

ISSUER = "Referral unit"  # how the account is named in the authenticator app
WRONG_CODE = "The code is not right. Enter the 6 digit code your authenticator app shows now."
USED_CODE = "That code has been used already. Wait for your authenticator app to show a new code, then enter it."
NO_CODE = "Enter the 6 digit code from your authenticator app."
WRONG_RECOVERY = "That recovery code is not right, or has been used already. Check it and try again."
NO_RECOVERY = "Enter one of your recovery codes."
TOO_MANY = "Too many failed attempts from here. Please wait a few minutes."
LOCKED = ("Your account is locked for 15 minutes after repeated wrong codes or passwords. "
          "Ask an admin if you need in sooner.")


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _secure(runtime: Runtime) -> bool:
    return runtime.settings.public_base_url.startswith("https://")


# --- setting up an authenticator app -----------------------------------------------------------


def _setup_page(request: Request, staff: Staff, secret: str, error: str | None = None,
                status_code: int = 200) -> HTMLResponse:
    uri = provisioning_uri(secret, staff.user.email, ISSUER)
    return render(request, "two_factor_setup.html", staff, status_code=status_code, qr=qr_svg(uri),
                  secret=grouped(secret), error=error)


@router.get("/setup")
async def setup_page(request: Request, staff: EnrolStepStaff, db: Db) -> HTMLResponse:
    enrolment = await start_enrolment(db, staff.user, now())
    return _setup_page(request, staff, enrolment.secret)


@router.post("/setup")
async def confirm_setup(request: Request, staff: EnrolStepStaff, runtime: RuntimeDep) -> Response:
    form = await checked_form(request, staff)
    async with runtime.sessions() as db, db.begin():
        enrolment = await second_factor_of(db, staff.user.id)
    if enrolment is None or enrolment.confirmed_at is not None:
        return RedirectResponse("/staff", status_code=303)  # reset or done meanwhile: start from the top
    typed = form.get("code", "")
    step = matching_step(enrolment.secret, typed, now())
    if step is None:
        return _setup_page(request, staff, enrolment.secret, WRONG_CODE if typed.strip() else NO_CODE, 400)
    codes = new_recovery_codes()
    hashes = await hash_recovery_codes(codes)  # before the transaction: argon2 is slow
    async with runtime.sessions() as db, db.begin():
        if not await confirm_enrolment(db, staff.user.id, step, now()):
            return RedirectResponse("/staff", status_code=303)
        await add_recovery_codes(db, staff.user.id, hashes, now())
        await pass_session(db, staff.session.id, now())
        await audit(db, staff.name, "second_factor_enrolled", now())
    staff.session.second_factor_at = now()  # this page is the first of the full login: its header shows the menu
    # Shown this once, never stored: only their hashes are kept.
    return render(request, "recovery_codes.html", staff, codes=codes)


# --- the code after the password ---------------------------------------------------------------


@router.get("")
async def code_page(request: Request, staff: CodeStepStaff) -> HTMLResponse:
    return render(request, "two_factor.html", staff, error=None)


@router.get("/recovery")
async def recovery_page(request: Request, staff: CodeStepStaff) -> HTMLResponse:
    return render(request, "two_factor_recovery.html", staff, error=None)


@router.post("")
async def check_code(request: Request, staff: CodeStepStaff, runtime: RuntimeDep) -> Response:
    attempt = await _attempt(request, staff, runtime, "two_factor.html", NO_CODE)
    if isinstance(attempt, Response):
        return attempt
    typed, address, place = attempt
    error = WRONG_CODE
    async with runtime.sessions() as db, db.begin():
        if not await count_code_attempt(db, staff.user.id, now()):
            return await _locked_out(request, runtime, db, staff)
        enrolment = await second_factor_of(db, staff.user.id)
        step = matching_step(enrolment.secret, typed, now()) if enrolment else None
        if step is not None and await use_step(db, staff.user.id, step):
            await _passed(db, staff, "login_second_factor")
            error = ""
        else:
            error = USED_CODE if step is not None else WRONG_CODE
            await audit(db, staff.name, "second_factor_failed", now(), detail="replayed" if step else "")
    if error:
        return render(request, "two_factor.html", staff, status_code=401, error=error)
    runtime.login_throttle.succeeded(address, place)
    return RedirectResponse("/staff", status_code=303)


@router.post("/recovery")
async def check_recovery_code(request: Request, staff: CodeStepStaff, runtime: RuntimeDep) -> Response:
    attempt = await _attempt(request, staff, runtime, "two_factor_recovery.html", NO_RECOVERY)
    if isinstance(attempt, Response):
        return attempt
    typed, address, place = attempt
    # As a password is: counted in one transaction, checked with none open, the outcome recorded in another.
    async with runtime.sessions() as db, db.begin():
        if not await count_code_attempt(db, staff.user.id, now()):
            return await _locked_out(request, runtime, db, staff)
        candidates = await unused_recovery_codes(db, staff.user.id)
    code_id = await find_recovery_code(candidates, typed)
    async with runtime.sessions() as db, db.begin():
        # The code is used up here, once: of two requests with the same code, only one gets in.
        passed = code_id is not None and await use_recovery_code(db, code_id, now())
        if passed:
            await _passed(db, staff, "login_recovery_code", detail=f"{len(candidates) - 1} left")
        else:
            await audit(db, staff.name, "second_factor_failed", now(), detail="recovery code")
    if not passed:
        return render(request, "two_factor_recovery.html", staff, status_code=401, error=WRONG_RECOVERY)
    runtime.login_throttle.succeeded(address, place)
    return RedirectResponse("/staff", status_code=303)


async def _attempt(request: Request, staff: Staff, runtime: Runtime, page: str,
                   empty: str) -> tuple[str, str, float] | Response:
    """What was typed, and a place in the address's throttle, as for a password; or the page that refuses it."""
    typed = (await checked_form(request, staff)).get("code", "")
    if not typed.strip():
        return render(request, page, staff, status_code=400, error=empty)
    address = _address(request)
    place = runtime.login_throttle.reserve(address)
    if place is None:
        return render(request, page, staff, status_code=429, error=TOO_MANY)
    return typed, address, place


async def _passed(db: AsyncSession, staff: Staff, action: str, detail: str = "") -> None:
    await clear_failures(db, staff.user.id)
    await pass_session(db, staff.session.id, now())
    await audit(db, staff.name, action, now(), detail=detail)


async def _locked_out(request: Request, runtime: Runtime, db: AsyncSession, staff: Staff) -> Response:
    """The account is locked: this half-open session ends, and the login page says why."""
    session = await db.get(StaffSession, staff.session.id)
    if session is not None:
        await end_session(db, session, now())
    await audit(db, staff.name, "login_failed", now(), detail="locked at second factor")
    token = new_token()
    response = render(request, "login.html", None, status_code=429, csrf=token, error=LOCKED, email=staff.user.email)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=_secure(runtime), path="/staff")
    response.delete_cookie(SESSION_COOKIE, path="/staff")
    return response


# --- an admin resets someone's second factor (a lost phone) -------------------------------------


@admin_router.post("/{user_id}/second-factor/reset")
async def reset_someones_second_factor(request: Request, user_id: RowId, db: Db, staff: AdminStaff,
                                       form: CheckedForm) -> Response:
    """First a page to confirm (the button on the users page), then the reset itself (that page's button)."""
    user = await db.get(User, user_id)
    if user is None:
        return render(request, "error.html", staff, status_code=404, message="There is no such account.")
    if form.get("confirm") != "yes":
        return render(request, "reset_second_factor.html", staff, target=user,
                      enrolled=await is_enrolled(db, user.id), done=False)
    await reset_second_factor(db, user, now())
    await audit(db, staff.name, "second_factor_reset", now(), detail=user.email)
    if user.id == staff.user.id:
        return RedirectResponse("/staff/login", status_code=303)  # their own: this session has ended with the rest
    return render(request, "reset_second_factor.html", staff, target=user, enrolled=False, done=True)
