"""The referral unit's queue: what needs action first, filtered, searched, sorted and paged, and one referral's
history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from flows.channels import Channel
from flows.process import DECISION_DAYS, Action, Status
from store.models import Referral, ReferralEvent, User

__all__ = [
    "FLAGS",
    "NEEDS_ACTION",
    "OPEN",
    "SORTS",
    "QueueFilter",
    "QueuePage",
    "answered_question",
    "caseworker_of",
    "due_in_days",
    "is_overdue",
    "is_test",
    "list_queue",
    "real_referrals",
    "referral_history",
    "seen_new_info",
    "staff_names",
]

OPEN = (Status.QUEUED, Status.IN_REVIEW, Status.MORE_INFO)
# What a person must do next: decide (or chase the referrer), or find an accepted referral a caseworker.
NEEDS_ACTION = (*OPEN, Status.ACCEPTED)
FLAGS = ("safeguarding", "under_18", "more_info", "new_info", "overdue")
PAGE_SIZE = 25


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = None  # None: everything that needs action; "open": needing a decision; "all": everything
    borough: str | None = None
    flag: str | None = None
    caseworker_id: int | None = None
    include_tests: bool = False  # referrals made in the simulator: hidden unless staff ask for them
    reference: str | None = None  # a search: the whole reference or any part of it
    sort: str | None = None  # a key of SORTS; None: what needs action first
    descending: bool = False


@dataclass(frozen=True)
class QueuePage:
    referrals: list[Referral]
    total: int
    page: int
    pages: int


def is_test(referral: Referral) -> bool:
    """A referral made in the simulator: a test, never a real young person."""
    return referral.channel == Channel.SIMULATOR


def real_referrals() -> ColumnElement[bool]:
    """The condition that leaves out test referrals (made in the simulator), for lists, stats and exports."""
    return Referral.channel != Channel.SIMULATOR


def is_overdue(referral: Referral, now: datetime) -> bool:
    """Past the decision date with no decision yet."""
    return referral.status in OPEN and now - referral.created_at > timedelta(days=DECISION_DAYS)


def due_in_days(referral: Referral, now: datetime) -> int | None:
    """Whole days left on the 7-day decision clock (negative: overdue by that many); None once decided."""
    if referral.status not in OPEN:
        return None
    left = referral.created_at + timedelta(days=DECISION_DAYS) - now
    if left >= timedelta(0):
        return left.days  # 2 days 3 hours left: "due in 2 days"; under a day: "due today"
    # Late by any part of a day is a day late; by 1 day 5 hours, still "overdue by 1 day".
    return -max(1, (-left).days)


def _urgency() -> ColumnElement[int]:
    return case((Referral.urgency == "urgent", 0), (Referral.urgency == "soon", 1), else_=2)


def _sorts() -> dict[str, ColumnElement[Any] | InstrumentedAttribute[Any]]:
    """What each sortable column sorts on, ascending.

    "due" is the 7-day clock, so the received time orders it too; the referrer's organisation is
    encrypted, so the database cannot sort by it.
    """
    return {
        "reference": Referral.reference,
        "received": Referral.created_at,
        "status": Referral.status,
        "urgency": _urgency(),
        "due": Referral.created_at,
        "reviewer": Referral.reviewer,
    }


SORTS = tuple(_sorts())


def _conditions(filters: QueueFilter, due: datetime) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.status is None:
        conditions.append(or_(Referral.status.in_(NEEDS_ACTION), Referral.new_info_at.is_not(None)))
    elif filters.status == "open":
        conditions.append(Referral.status.in_(OPEN))
    elif filters.status != "all":
        conditions.append(Referral.status == filters.status)
    if filters.borough:
        conditions.append(Referral.borough == filters.borough)
    if not filters.include_tests:
        conditions.append(real_referrals())
    if filters.caseworker_id is not None:
        conditions.append(Referral.caseworker_id == filters.caseworker_id)
    if filters.reference:
        # References are upper case and have no wildcards; anything else typed simply matches nothing.
        typed = filters.reference.strip().upper().replace("%", "").replace("_", "")
        conditions.append(Referral.reference.contains(typed, autoescape=True))
    if filters.flag == "safeguarding":
        conditions.append(Referral.safeguarding_flag.is_(True))
    elif filters.flag == "under_18":
        conditions.append(Referral.under_18.is_(True))
    elif filters.flag == "more_info":
        conditions.append(Referral.status == Status.MORE_INFO)
    elif filters.flag == "new_info":
        conditions.append(Referral.new_info_at.is_not(None))
    elif filters.flag == "overdue":
        conditions.extend([Referral.status.in_(OPEN), Referral.created_at < due])
    return conditions


async def list_queue(db: AsyncSession, filters: QueueFilter, now: datetime, page: int = 1) -> QueuePage:
    """Referrals matching the filters, in the column order asked for, or by default what needs action first:
    safeguarding, new information from a referrer, overdue, then by urgency, then oldest."""
    due = now - timedelta(days=DECISION_DAYS)
    conditions = _conditions(filters, due)
    total = int(await db.scalar(select(func.count()).select_from(Referral).where(*conditions)) or 0)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    if filters.sort in SORTS:
        column = _sorts()[filters.sort]
        order: list[Any] = [column.desc() if filters.descending else column.asc(), Referral.created_at, Referral.id]
    else:
        needs_action = case((Referral.status.in_(NEEDS_ACTION), 0), else_=1)
        order = [needs_action, Referral.safeguarding_flag.desc(), Referral.new_info_at.is_(None),
                 case((Referral.status.in_(OPEN) & (Referral.created_at < due), 0), else_=1), _urgency(),
                 Referral.created_at, Referral.id]
    query = select(Referral).where(*conditions).order_by(*order).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    return QueuePage(list((await db.execute(query)).scalars()), total, page, pages)


async def referral_history(db: AsyncSession, referral_id: int) -> list[ReferralEvent]:
    found = await db.execute(select(ReferralEvent).where(ReferralEvent.referral_id == referral_id)
                             .order_by(ReferralEvent.at, ReferralEvent.id))
    return list(found.scalars())


async def answered_question(db: AsyncSession, referral_id: int) -> tuple[ReferralEvent, ReferralEvent | None] | None:
    """The unit's latest question to the referrer and the answer to it (None while unanswered); None if never asked."""
    history = await referral_history(db, referral_id)
    asked = [n for n, e in enumerate(history) if e.action == Action.REQUEST_INFO]
    if not asked:
        return None
    later = history[asked[-1] + 1:]
    answer = next((e for e in later if e.action == Action.INFO_RECEIVED), None)
    return history[asked[-1]], answer


def seen_new_info(referral: Referral) -> None:
    """A unit member opened the referral: its new information is no longer new."""
    referral.new_info_at = None


async def staff_names(db: AsyncSession, emails: set[str]) -> dict[str, str]:
    """Staff members' names by email (reviewers are recorded by email; people know each other by name)."""
    if not emails:
        return {}
    found = await db.execute(select(User.email, User.name).where(User.email.in_(emails)))
    return {email: name for email, name in found.all()}


async def caseworker_of(db: AsyncSession, referral: Referral) -> User | None:
    """The caseworker the referral is allocated to, if any."""
    return await db.get(User, referral.caseworker_id) if referral.caseworker_id else None
