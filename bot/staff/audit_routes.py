"""The audit log, for admins: filtered by who, what, reference and dates, a page at a time, and as CSV.

Looking at the log and exporting it are themselves audited, with the filters used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from math import ceil
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from bot.runtime import runtime_of
from bot.staff.auth import Staff
from bot.staff.deps import AdminStaff, Db
from bot.staff.exports import csv_response
from bot.staff.pages import now, render
from store.audit import AuditFilter, audit, audit_actions, audit_entries, count_audit_entries
from store.users import list_users

__all__ = ["router"]

router = APIRouter(prefix="/staff")

PAGE_SIZE = 50
TEXT_FILTERS = ("actor", "action", "reference")
DATE_PARTS = ("day", "month", "year")
DATES = {"from": "Date from", "to": "Date to"}
# Actors that are not accounts, offered in the list beside the staff.
OTHER_ACTORS = {"cli": "The command line", "unknown account": "Login with an unknown email"}


@dataclass(frozen=True)
class Asked:
    """The filters as typed (kept on every page link), what they mean, and what was wrong with them."""

    typed: dict[str, str]
    wanted: AuditFilter
    errors: dict[str, str]  # field id -> message

    @property
    def query(self) -> str:
        return urlencode({key: value for key, value in self.typed.items() if value})


def _day(typed: dict[str, str], name: str) -> tuple[date | None, str | None]:
    """A GOV.UK date input's three fields as a date: None if all are empty; or what is wrong with them."""
    parts = [typed[f"{name}-{part}"] for part in DATE_PARTS]
    if not any(parts):
        return None, None
    missing = [part for part, value in zip(DATE_PARTS, parts, strict=True) if not value]
    if missing:
        return None, f"{DATES[name]} must include a {' and '.join(missing)}"
    try:
        day, month, year = (int(value) for value in parts)
        if year < 1000:
            raise ValueError(year)
        return date(year, month, day), None
    except ValueError:
        return None, f"{DATES[name]} must be a real date"


def _asked(request: Request, tz: ZoneInfo) -> Asked:
    params = request.query_params
    keys = [*TEXT_FILTERS, *(f"{name}-{part}" for name in DATES for part in DATE_PARTS)]
    typed = {key: params.get(key, "").strip() for key in keys}
    errors: dict[str, str] = {}
    days: dict[str, date | None] = {}
    for name in DATES:
        days[name], error = _day(typed, name)
        if error:
            errors[name] = error
    since, until = days["from"], days["to"]
    if since and until and until < since:
        errors["to"] = "Date to must be the same as or after date from"
        until = None

    def start_of(day: date | None) -> datetime | None:
        # A day in the unit's own time zone, as the page shows times in it.
        return None if day is None else datetime.combine(day, time(), tz).astimezone(UTC)

    wanted = AuditFilter(actor=typed["actor"] or None, action=typed["action"] or None,
                         reference=typed["reference"] or None, since=start_of(since),
                         until=start_of(until + timedelta(days=1) if until else None))
    return Asked(typed, wanted, errors)


def _describe(asked: Asked) -> str:
    """The filters for the audit log's own entry: names and dates, as typed."""
    return " ".join(f"{key}={value}" for key, value in asked.typed.items() if value)


def _page_number(request: Request) -> int:
    try:
        return max(1, min(int(request.query_params.get("page", "1")), 10**6))
    except ValueError:
        return 1


async def _actors(db: AsyncSession) -> list[tuple[str, str]]:
    accounts = [(u.email, f"{u.name} ({u.email})") for u in await list_users(db)]
    return accounts + list(OTHER_ACTORS.items())


async def _page(request: Request, db: AsyncSession, staff: Staff, asked: Asked, status_code: int = 200) -> HTMLResponse:
    total = await count_audit_entries(db, asked.wanted)
    pages = max(1, ceil(total / PAGE_SIZE))
    page = min(_page_number(request), pages)
    entries = await audit_entries(db, asked.wanted, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    await audit(db, staff.name, "view_audit", now(), detail=f"{_describe(asked)} page={page}".strip())
    actions = await audit_actions(db)
    return render(request, "audit.html", staff, status_code=status_code, entries=entries, asked=asked,
                  actors=await _actors(db), actions=actions, page=page, pages=pages, total=total,
                  # The summary links to each date's first field, as GOV.UK's date input asks.
                  error_links=[(f"{name}-day", message) for name, message in asked.errors.items()])


@router.get("/audit")
async def audit_page(request: Request, db: Db, staff: AdminStaff) -> HTMLResponse:
    asked = _asked(request, runtime_of(request.app).settings.tz)
    return await _page(request, db, staff, asked, status_code=400 if asked.errors else 200)


@router.get("/audit.csv")
async def audit_export(request: Request, db: Db, staff: AdminStaff) -> Response:
    tz = runtime_of(request.app).settings.tz
    asked = _asked(request, tz)
    if asked.errors:
        # The page says what is wrong with the dates, rather than a file of something else.
        return await _page(request, db, staff, asked, status_code=400)
    entries = await audit_entries(db, asked.wanted, limit=None)
    await audit(db, staff.name, "export_audit", now(), detail=f"{_describe(asked)} rows={len(entries)}".strip())
    rows = ([e.at.astimezone(tz).isoformat(), e.actor, e.action, e.reference or "", e.detail] for e in entries)
    return csv_response(["at", "actor", "action", "reference", "detail"], rows, "audit-log.csv")
