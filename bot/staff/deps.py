"""What a staff route needs, each written once, so its signature says who may call it.

As the full-stack FastAPI template's `api/deps.py`:

    @router.post("/referrals/{reference}/actions")
    async def referral_action(reference: str, db: Db, staff: AnyStaff, form: CheckedForm) -> Response: ...

A route without a role cannot get a `Staff` at all, and a test walks the app's routes to prove that
every staff page but the login names one.
"""

# No `from __future__ import annotations` here: FastAPI reads a RoleGuard's parameters from the
# instance, which has no module globals to resolve string annotations against.

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime import RuntimeDep
from bot.staff.auth import Forbidden, LoginStep, LoginStepRequired, Staff, staff_for_cookie
from bot.staff.security import SESSION_COOKIE, same_token
from flows.process import Role
from store.alerts import open_alert_count
from store.staff_notices import take_staff_notices

__all__ = [
    "AdminStaff",
    "AnyStaff",
    "AnyStepStaff",
    "CaseworkerStaff",
    "CheckedForm",
    "CodeStepStaff",
    "Db",
    "EnrolStepStaff",
    "LoginStepGuard",
    "PasswordChangeGuard",
    "PasswordChangeStaff",
    "RoleGuard",
    "RowId",
    "SignedInStaff",
    "StaffDep",
    "UnitStaff",
    "checked_form",
    "require_role",
]


async def get_db(runtime: RuntimeDep) -> AsyncIterator[AsyncSession]:
    """One transaction for the request: committed when the route returns, rolled back if it raises."""
    async with runtime.sessions() as db, db.begin():
        yield db


# scope="function" ends the transaction as the route returns, before the response is sent, so the
# page a redirect leads to sees what this request wrote.
Db = Annotated[AsyncSession, Depends(get_db, scope="function")]


async def get_signed_in(request: Request, db: Db, runtime: RuntimeDep) -> Staff:
    """Whoever the session cookie belongs to, even someone logged in only part way; else to the login."""
    return await staff_for_cookie(db, request.cookies.get(SESSION_COOKIE), runtime.cookie_signer, runtime.settings)


SignedInStaff = Annotated[Staff, Depends(get_signed_in)]


async def get_staff(staff: SignedInStaff, request: Request, db: Db) -> Staff:
    """The fully logged-in staff member; one logged in part way is sent to the next step (password, second factor)."""
    if (step := staff.next_step) is not None:
        raise LoginStepRequired(step)
    if staff.role in (Role.UNIT, Role.ADMIN):
        # For the header of whatever page this is: the unit must see at once that an alert is waiting.
        request.state.open_alerts = await open_alert_count(db)
    if request.method == "GET" and not request.url.path.endswith(".csv"):
        # Told once, on the next page they see (a form's post redirects to a page, which shows them).
        request.state.staff_notices = await take_staff_notices(db, staff.user.id, datetime.now(UTC))
    return staff


StaffDep = Annotated[Staff, Depends(get_staff)]


class RoleGuard:
    """A dependency that lets through staff with one of these roles and refuses the others (403)."""

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, staff: StaffDep) -> Staff:
        if staff.role not in self.roles:
            raise Forbidden()
        return staff

    def __repr__(self) -> str:
        return f"RoleGuard({', '.join(sorted(self.roles))})"


class PasswordChangeGuard(RoleGuard):
    """Every role, even while a one-time password is still to be changed: for changing it.

    Not before a second factor already set up has been entered: that comes first.
    """

    def __init__(self) -> None:
        super().__init__(*Role)

    async def __call__(self, staff: SignedInStaff) -> Staff:
        if (step := staff.next_step) not in (LoginStep.PASSWORD, None):
            raise LoginStepRequired(step)
        return staff


class AnyStepGuard(RoleGuard):
    """Every role, logged in fully or part way: for logging out."""

    def __init__(self) -> None:
        super().__init__(*Role)

    async def __call__(self, staff: SignedInStaff) -> Staff:
        return staff


class LoginStepGuard(RoleGuard):
    """Every role, at this one step of logging in (the second factor's pages), and nobody else.

    It reads the session in a short transaction of its own rather than Db's: these pages check
    argon2 hashes, which take a while, and must not hold a transaction (on SQLite, the one writer) open.
    """

    def __init__(self, step: LoginStep) -> None:
        super().__init__(*Role)
        self.step = step

    # Other parameters than RoleGuard's on purpose: FastAPI reads them as this guard's own dependencies.
    async def __call__(self, request: Request, runtime: RuntimeDep) -> Staff:  # type: ignore[override]
        async with runtime.sessions() as db, db.begin():
            staff = await staff_for_cookie(db, request.cookies.get(SESSION_COOKIE), runtime.cookie_signer,
                                           runtime.settings)
        if staff.next_step is not self.step:
            raise LoginStepRequired(staff.next_step)
        return staff

    def __repr__(self) -> str:
        return f"LoginStepGuard({self.step.name})"


def require_role(*roles: Role) -> RoleGuard:
    return RoleGuard(*roles)


AnyStaff = Annotated[Staff, Depends(require_role(*Role))]
UnitStaff = Annotated[Staff, Depends(require_role(Role.UNIT, Role.ADMIN))]
CaseworkerStaff = Annotated[Staff, Depends(require_role(Role.CASEWORKER))]
AdminStaff = Annotated[Staff, Depends(require_role(Role.ADMIN))]
PasswordChangeStaff = Annotated[Staff, Depends(PasswordChangeGuard())]
AnyStepStaff = Annotated[Staff, Depends(AnyStepGuard())]
CodeStepStaff = Annotated[Staff, Depends(LoginStepGuard(LoginStep.CODE))]
EnrolStepStaff = Annotated[Staff, Depends(LoginStepGuard(LoginStep.ENROL))]


async def get_checked_form(request: Request, staff: SignedInStaff) -> dict[str, str]:
    """The posted form, once its CSRF token is this session's; 403 otherwise."""
    return await checked_form(request, staff)


async def checked_form(request: Request, staff: Staff) -> dict[str, str]:
    """The posted form once its CSRF token is this session's, for the routes that cannot use CheckedForm (no Db)."""
    form = {key: str(value) for key, value in (await request.form()).items()}
    if not same_token(form.get("csrf"), staff.csrf):
        raise Forbidden()
    return form


# Declare it after the route's staff dependency: who is asking is settled (login, password, role) before the form.
CheckedForm = Annotated[dict[str, str], Depends(get_checked_form)]


# A row id in a path: bounded to the database's integer, so a huge one is a 404, not an overflow in the driver.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]
