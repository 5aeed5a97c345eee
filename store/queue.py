"""The referral unit's queue: what needs action first, filtered and paged, and one referral's history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.channels import Channel
from flows.process import DECISION_DAYS, Status
from store.models import Referral, ReferralEvent, User

__all__ = [
    "FLAGS",
    "OPEN",
    "QueueFilter",
    "QueuePage",
    "caseworker_of",
    "is_overdue",
    "is_test",
    "list_queue",
    "real_referrals",
    "referral_history",
]

OPEN = (Status.QUEUED, Status.IN_REVIEW, Status.MORE_INFO)
FLAGS = ("safeguarding", "under_18", "more_info", "overdue")
PAGE_SIZE = 25


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = None  # None: every open referral; "all": everything
    borough: str | None = None
    flag: str | None = None
    caseworker_id: int | None = None
    include_tests: bool = False  # referrals made in the simulator: hidden unless staff ask for them


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


async def list_queue(db: AsyncSession, filters: QueueFilter, now: datetime, page: int = 1) -> QueuePage:
    """Referrals matching the filters, safeguarding and overdue first, then by urgency, then oldest."""
    due = now - timedelta(days=DECISION_DAYS)
    conditions: list[ColumnElement[bool]] = []
    if filters.status is None:
        conditions.append(Referral.status.in_(OPEN))
    elif filters.status != "all":
        conditions.append(Referral.status == filters.status)
    if filters.borough:
        conditions.append(Referral.borough == filters.borough)
    if not filters.include_tests:
        conditions.append(real_referrals())
    if filters.caseworker_id is not None:
        conditions.append(Referral.caseworker_id == filters.caseworker_id)
    if filters.flag == "safeguarding":
        conditions.append(Referral.safeguarding_flag.is_(True))
    elif filters.flag == "under_18":
        conditions.append(Referral.under_18.is_(True))
    elif filters.flag == "more_info":
        conditions.append(Referral.status == Status.MORE_INFO)
    elif filters.flag == "overdue":
        conditions.extend([Referral.status.in_(OPEN), Referral.created_at < due])
    total = int(await db.scalar(select(func.count()).select_from(Referral).where(*conditions)) or 0)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, page), pages)
    needs_action = case((Referral.status.in_(OPEN), 0), else_=1)
    urgency = case((Referral.urgency == "urgent", 0), (Referral.urgency == "soon", 1), else_=2)
    query = (
        select(Referral).where(*conditions)
        .order_by(needs_action, Referral.safeguarding_flag.desc(), case((Referral.created_at < due, 0), else_=1),
                  urgency, Referral.created_at, Referral.id)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    )
    return QueuePage(list((await db.execute(query)).scalars()), total, page, pages)


async def referral_history(db: AsyncSession, referral_id: int) -> list[ReferralEvent]:
    found = await db.execute(select(ReferralEvent).where(ReferralEvent.referral_id == referral_id)
                             .order_by(ReferralEvent.at, ReferralEvent.id))
    return list(found.scalars())


async def caseworker_of(db: AsyncSession, referral: Referral) -> User | None:
    """The caseworker the referral is allocated to, if any."""
    return await db.get(User, referral.caseworker_id) if referral.caseworker_id else None
