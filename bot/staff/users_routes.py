"""The users page, for admins: create an account, disable and re-enable it, unlock it, reset its password.

Each change is a CSRF-checked POST, audited with the admin's account as the actor; the store functions are
the command line's too. A one-time password is shown once, on the page that answers the POST, and kept
nowhere else (not in the audit log, not in the logs).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from bot.staff.auth import Staff
from bot.staff.deps import AdminStaff, CheckedForm, Db, RowId
from bot.staff.pages import now, render
from store.audit import audit
from store.models import User
from store.second_factor import enrolled_user_ids
from store.users import (
    ROLES,
    UserError,
    account_problems,
    create_user,
    disable_user,
    enable_user,
    is_locked,
    list_users,
    reset_password,
    unlock_user,
    user_by_id,
)

__all__ = ["router"]

router = APIRouter(prefix="/staff/users")

ROLE_NAMES = {"unit": "Referral unit", "caseworker": "Caseworker", "admin": "Admin"}
# What each change is called in the audit log and in the banner after it.
DONE = {"disabled": "disabled", "enabled": "re-enabled", "unlocked": "unlocked"}


async def _users_page(request: Request, db: AsyncSession, staff: Staff, *, status_code: int = 200,
                      done: str | None = None, changed: User | None = None, error: str | None = None) -> HTMLResponse:
    users = await list_users(db)
    await audit(db, staff.name, "view_users", now())
    return render(request, "users.html", staff, status_code=status_code, users=users, role_names=ROLE_NAMES,
                  locked=lambda u: is_locked(u, now()), done=DONE.get(done or ""), changed=changed, error=error,
                  second_factor=await enrolled_user_ids(db))


@router.get("")
async def users_page(request: Request, db: Db, staff: AdminStaff, done: str | None = None,
                     user: str | None = None) -> HTMLResponse:
    # `done` and `user` come from the redirect after a change, for the banner; anything else is ignored.
    user_id = int(user) if user and user.isascii() and user.isdigit() and len(user) < 10 else 0
    changed = await user_by_id(db, user_id) if user_id else None
    return await _users_page(request, db, staff, done=done, changed=changed)


# --- a new account ---------------------------------------------------------------------------------


@router.get("/new")
async def new_user_page(request: Request, staff: AdminStaff) -> HTMLResponse:
    return render(request, "users_new.html", staff, errors={}, typed={}, roles=ROLE_NAMES)


@router.post("/new")
async def create_user_form(request: Request, db: Db, staff: AdminStaff, form: CheckedForm) -> Response:
    typed = {key: form.get(key, "").strip() for key in ("email", "name", "role")}
    errors = await account_problems(db, typed["email"], typed["role"])
    if not typed["email"]:
        errors["email"] = "Enter their work email address"
    if typed["role"] not in ROLES:
        errors["role"] = "Choose their role"
    if errors:
        return render(request, "users_new.html", staff, status_code=400, errors=errors, typed=typed,
                      roles=ROLE_NAMES)
    user, password = await create_user(db, typed["email"], typed["role"], typed["name"], now())
    await audit(db, staff.name, "user_created", now(), detail=f"{user.email} role={user.role}")
    return render(request, "users_password.html", staff, user=user, password=password, created=True)


# --- changes to an account -------------------------------------------------------------------------


async def _target(request: Request, db: AsyncSession, staff: Staff, user_id: int) -> User | HTMLResponse:
    user = await user_by_id(db, user_id)
    if user is None:
        return render(request, "error.html", staff, status_code=404, message="There is no such account.")
    return user


@router.get("/{user_id}/disable")
async def confirm_disable(request: Request, user_id: RowId, db: Db, staff: AdminStaff) -> HTMLResponse:
    user = await _target(request, db, staff, user_id)
    if isinstance(user, HTMLResponse):
        return user
    return render(request, "users_confirm.html", staff, user=user, change="disable")


@router.get("/{user_id}/reset-password")
async def confirm_reset(request: Request, user_id: RowId, db: Db, staff: AdminStaff) -> HTMLResponse:
    user = await _target(request, db, staff, user_id)
    if isinstance(user, HTMLResponse):
        return user
    return render(request, "users_confirm.html", staff, user=user, change="reset")


Change = Callable[[AsyncSession, User, Staff], Awaitable[None]]


async def _change(request: Request, db: AsyncSession, staff: Staff, user_id: int, done: str,
                  change: Change) -> Response:
    """Make one change, audited; back to the users page with a banner, or with what stopped it."""
    user = await _target(request, db, staff, user_id)
    if isinstance(user, HTMLResponse):
        return user
    try:
        await change(db, user, staff)
    except UserError as exc:
        return await _users_page(request, db, staff, status_code=409, error=str(exc))
    await audit(db, staff.name, f"user_{done}", now(), detail=user.email)
    return RedirectResponse(f"/staff/users?done={done}&user={user.id}", status_code=303)


async def _disable(db: AsyncSession, user: User, staff: Staff) -> None:
    await disable_user(db, user, staff.user, now())


async def _enable(db: AsyncSession, user: User, staff: Staff) -> None:
    await enable_user(db, user)


async def _unlock(db: AsyncSession, user: User, staff: Staff) -> None:
    await unlock_user(db, user)


@router.post("/{user_id}/disable")
async def disable(request: Request, user_id: RowId, db: Db, staff: AdminStaff, form: CheckedForm) -> Response:
    return await _change(request, db, staff, user_id, "disabled", _disable)


@router.post("/{user_id}/enable")
async def enable(request: Request, user_id: RowId, db: Db, staff: AdminStaff, form: CheckedForm) -> Response:
    return await _change(request, db, staff, user_id, "enabled", _enable)


@router.post("/{user_id}/unlock")
async def unlock(request: Request, user_id: RowId, db: Db, staff: AdminStaff, form: CheckedForm) -> Response:
    return await _change(request, db, staff, user_id, "unlocked", _unlock)


@router.post("/{user_id}/reset-password")
async def reset(request: Request, user_id: RowId, db: Db, staff: AdminStaff, form: CheckedForm) -> Response:
    user = await _target(request, db, staff, user_id)
    if isinstance(user, HTMLResponse):
        return user
    if user.id == staff.user.id:
        # Resetting their own would end the session they are using: their own change is on the password page.
        return await _users_page(request, db, staff, status_code=409,
                                 error="You cannot reset your own password here: choose a new one on the "
                                       "password page, or ask another admin.")
    password = await reset_password(db, user, now())
    await audit(db, staff.name, "password_reset", now(), detail=user.email)
    return render(request, "users_password.html", staff, user=user, password=password, created=False)
