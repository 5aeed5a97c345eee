"""Counts for the unit's stats page: nothing personal leaves here, only categories and numbers.

Referrals and screen-outs made in the simulator are tests, and are counted nowhere here.

The queries fetch a few plain columns for the window and group in Python, so the same code runs on
SQLite and PostgreSQL (their date functions differ) and weeks can start on a London Monday.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from flows.channels import Channel
from flows.process import DECISION_DAYS, Status
from flows.questions import current_answers
from flows.statuses import AppointmentStatus, OutboundStatus
from store.models import Appointment, OutboundMessage, Referral, ScreenOut
from store.queue import real_referrals

__all__ = [
    "SOURCE_NAMES",
    "WEEKS",
    "DecisionTimes",
    "ReminderStats",
    "ScreenOutStats",
    "Source",
    "Stats",
    "WeekRow",
    "boroughs",
    "classify_source",
    "collect",
    "percentile",
    "referral_sources",
    "referrals_per_week",
    "reminder_confirmations",
    "screen_outs_by_reason",
    "time_to_decision",
    "week_start",
    "window_start",
]

WEEKS = 12


class Source(StrEnum):
    """Kinds of referring organisation: the page shows these, never the organisation's own words."""

    HOSPITAL = "hospital"
    JUSTICE = "justice"
    POLICE = "police"
    SOCIAL_CARE = "social_care"
    SCHOOL = "school"
    HOUSING = "housing"
    VOLUNTARY = "voluntary"
    YOUTH_SERVICE = "youth_service"
    OTHER = "other"


SOURCE_NAMES: dict[Source, str] = {
    Source.HOSPITAL: "Hospital / A&E",
    Source.JUSTICE: "Youth offending / justice / probation",
    Source.POLICE: "Police",
    Source.SOCIAL_CARE: "Social care",
    Source.SCHOOL: "School / college",
    Source.HOUSING: "Housing",
    Source.VOLUNTARY: "Voluntary sector",
    Source.YOUTH_SERVICE: "Youth service",
    Source.OTHER: "Other",
}

# Checked in this order, first match wins: "youth worker at King's A&E" is a hospital referral,
# "Lambeth YOT" is youth justice even when the job title says youth worker.
_SOURCE_PATTERNS: list[tuple[Source, re.Pattern[str]]] = [
    (source, re.compile("|".join(words), re.IGNORECASE)) for source, words in (
        (Source.HOSPITAL, [r"hospital", r"\ba ?& ?e\b", r"\ba and e\b", r"emergency department", r"major trauma",
                           r"trauma cent", r"\bmtc\b", r"\bnhs\b", r"\bward\b", r"paediatric", r"\bnurse\b"]),
        (Source.JUSTICE, [r"\byot\b", r"\byos\b", r"youth offending", r"youth justice", r"probation", r"\bcrc\b",
                          r"prison", r"\bhmp\b", r"\byoi\b", r"\bcourt\b", r"offender", r"\bnps\b",
                          r"liaison and diversion"]),
        (Source.POLICE, [r"police", r"\bmps\b", r"metropolitan", r"constable", r"\bpc\b", r"\bdc\b", r"detective",
                         r"sergeant", r"\bsgt\b", r"\bbtp\b"]),
        (Source.SOCIAL_CARE, [r"social (care|work)", r"\bmash\b", r"children'?s services", r"children and families",
                              r"early help", r"leaving care", r"care leaver", r"safeguarding team",
                              r"family support"]),
        (Source.SCHOOL, [r"school", r"college", r"academy", r"\bpru\b", r"pupil referral", r"universit", r"sixth form",
                         r"teacher", r"\bsenco\b", r"head of year", r"alternative provision", r"education"]),
        (Source.HOUSING, [r"housing", r"hostel", r"homeless", r"accommodation", r"tenancy", r"supported living",
                          r"\bfoyer\b"]),
        (Source.VOLUNTARY, [r"charit", r"\btrust\b", r"foundation", r"voluntary", r"\bcic\b", r"community interest",
                            r"redthread", r"st giles", r"catch ?22", r"barnardo", r"\bchurch\b", r"\bfaith\b"]),
        (Source.YOUTH_SERVICE, [r"youth", r"detached", r"outreach", r"\bmentor"]),
    )
]


@dataclass(frozen=True)
class WeekRow:
    """One week (Monday to Sunday, local time) and its referrals by current status."""

    start: date
    counts: dict[Status, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class ScreenOutStats:
    recent: list[tuple[str, int]]
    all_time: list[tuple[str, int]]


@dataclass(frozen=True)
class DecisionTimes:
    """How long decisions (accept or decline) took, for decisions made in the window."""

    decided: int
    median_days: float | None
    p90_days: float | None
    within: int  # decided within DECISION_DAYS
    later: int
    waiting_overdue: int  # still undecided and past the decision date, whenever received
    decision_days: int = DECISION_DAYS


@dataclass(frozen=True)
class ReminderStats:
    """Sessions that were reminded, and the young people's answers."""

    available: bool = False
    rows: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class Stats:
    since: date
    weeks: list[WeekRow]
    screen_outs: ScreenOutStats
    sources: list[tuple[str, int]]
    boroughs: list[tuple[str, int]]
    decisions: DecisionTimes
    reminders: ReminderStats


def week_start(moment: datetime | date, tz: tzinfo) -> date:
    """The Monday of the local week a moment (or a local date) falls in."""
    day = moment.astimezone(tz).date() if isinstance(moment, datetime) else moment
    return day - timedelta(days=day.weekday())


def window_start(now: datetime, tz: tzinfo, weeks: int = WEEKS) -> date:
    """The first Monday of the last `weeks` weeks, this one included."""
    return week_start(now, tz) - timedelta(weeks=weeks - 1)


def _since(now: datetime, tz: tzinfo, weeks: int) -> datetime:
    return datetime.combine(window_start(now, tz, weeks), time(), tzinfo=tz)


def classify_source(org: Any, role: Any = None) -> Source:
    """The kind of organisation a referrer works for, from their organisation and job title as typed."""
    texts = [value for value in (org, role) if isinstance(value, str) and value.strip()]
    # The organisation says more than the job title: a youth worker in a hospital is a hospital referral.
    for text in texts:
        for source, pattern in _SOURCE_PATTERNS:
            if pattern.search(text):
                return source
    return Source.OTHER


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank percentile (0 < q <= 100): a value that actually occurred, None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _ranked(counter: Counter[str]) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda item: (-item[1], item[0]))


async def referrals_per_week(db: AsyncSession, now: datetime, tz: tzinfo, weeks: int = WEEKS) -> list[WeekRow]:
    """Referrals received each week, oldest week first, counted by the status they have now."""
    found = await db.execute(select(Referral.created_at, Referral.status)
                             .where(Referral.created_at >= _since(now, tz, weeks), Referral.created_at <= now,
                                    real_referrals()))
    first = window_start(now, tz, weeks)
    buckets: dict[date, Counter[Status]] = {first + timedelta(weeks=n): Counter() for n in range(weeks)}
    for created_at, status in found:
        bucket = buckets.get(week_start(created_at, tz))
        if bucket is not None:
            bucket[status] += 1
    return [WeekRow(start, _in_process_order(counts)) for start, counts in buckets.items()]


def _in_process_order(counts: Counter[Status]) -> dict[Status, int]:
    """Statuses in the order a referral moves through them, those with none left out."""
    return {status: counts[status] for status in Status if counts[status]}


async def screen_outs_by_reason(db: AsyncSession, now: datetime, tz: tzinfo, weeks: int = WEEKS) -> ScreenOutStats:
    """Screen-outs per reason, in the window and since records began, most common first."""
    first = window_start(now, tz, weeks)
    rows = (await db.execute(select(ScreenOut.reason, ScreenOut.screened_on, func.count())
                             .where(ScreenOut.channel != Channel.SIMULATOR)
                             .group_by(ScreenOut.reason, ScreenOut.screened_on))).all()
    all_time: Counter[str] = Counter()
    recent: Counter[str] = Counter()
    for reason, screened_on, count in rows:
        all_time[reason] += count
        if screened_on >= first:
            recent[reason] += count
    return ScreenOutStats(recent=_ranked(recent), all_time=_ranked(all_time))


async def referral_sources(db: AsyncSession, now: datetime, tz: tzinfo, weeks: int = WEEKS) -> list[tuple[str, int]]:
    """Referrals in the window per kind of referring organisation (the text itself is never returned)."""
    found = await db.execute(select(Referral.details)
                             .where(Referral.created_at >= _since(now, tz, weeks), Referral.created_at <= now,
                                    real_referrals()))
    counts: Counter[str] = Counter()
    for (details,) in found:
        job = current_answers(details or {}).get("referrer_job") or {}
        counts[SOURCE_NAMES[classify_source(job.get("org"), job.get("role"))]] += 1
    return _ranked(counts)


async def boroughs(db: AsyncSession, now: datetime, tz: tzinfo, weeks: int = WEEKS) -> list[tuple[str, int]]:
    """Referrals in the window per borough, most first."""
    found = await db.execute(select(Referral.borough, func.count())
                             .where(Referral.created_at >= _since(now, tz, weeks), Referral.created_at <= now,
                                    real_referrals())
                             .group_by(Referral.borough))
    return _ranked(Counter({borough: count for borough, count in found}))


async def time_to_decision(db: AsyncSession, now: datetime, tz: tzinfo, weeks: int = WEEKS) -> DecisionTimes:
    """Days from receipt to decision for decisions made in the window, and how many are still overdue."""
    found = await db.execute(select(Referral.created_at, Referral.decided_at)
                             .where(Referral.decided_at.is_not(None), Referral.decided_at >= _since(now, tz, weeks),
                                    Referral.decided_at <= now, real_referrals()))
    days = [(decided_at - created_at).total_seconds() / 86400 for created_at, decided_at in found if decided_at]
    within = sum(1 for d in days if d <= DECISION_DAYS)
    open_statuses = (Status.QUEUED, Status.IN_REVIEW, Status.MORE_INFO)
    overdue = await db.scalar(select(func.count()).select_from(Referral).where(
        Referral.status.in_(open_statuses), Referral.created_at < now - timedelta(days=DECISION_DAYS),
        real_referrals()))
    median = statistics.median(days) if days else None
    p90 = percentile(days, 90)
    return DecisionTimes(decided=len(days), median_days=None if median is None else round(median, 1),
                         p90_days=None if p90 is None else round(p90, 1), within=within, later=len(days) - within,
                         waiting_overdue=int(overdue or 0))


async def reminder_confirmations(db: AsyncSession, now: datetime, tz: tzinfo | None = None,
                                 weeks: int = WEEKS) -> ReminderStats:
    """Sessions in the window that were reminded, and how the young people answered."""
    since = now - timedelta(weeks=weeks)
    reminded = (
        select(OutboundMessage.appointment_id)
        .where(OutboundMessage.appointment_id.is_not(None),
               OutboundMessage.status.in_((OutboundStatus.ACCEPTED, OutboundStatus.QUEUED, OutboundStatus.SENT,
                                                  OutboundStatus.DELIVERED)))
        .distinct()
    )
    found = await db.execute(
        select(Appointment.status)
        .where(Appointment.starts_at >= since, Appointment.starts_at <= now + timedelta(weeks=weeks),
               Appointment.id.in_(reminded), Appointment.referral_id.in_(select(Referral.id).where(real_referrals())))
    )
    counts = {"Confirmed (Y)": 0, "Can't come (N)": 0, "No answer yet": 0, "Cancelled": 0}
    total = 0
    for status in found.scalars():
        total += 1
        if status is AppointmentStatus.CONFIRMED:
            counts["Confirmed (Y)"] += 1
        elif status is AppointmentStatus.DECLINED:
            counts["Can't come (N)"] += 1
        elif status is AppointmentStatus.CANCELLED:
            counts["Cancelled"] += 1
        else:
            counts["No answer yet"] += 1
    return ReminderStats(available=True, rows=[("Sessions reminded", total), *counts.items()])


async def collect(db: AsyncSession, now: datetime, tz: tzinfo, weeks: int = WEEKS) -> Stats:
    """Everything the stats page shows, for the last `weeks` weeks."""
    return Stats(
        since=window_start(now, tz, weeks),
        weeks=await referrals_per_week(db, now, tz, weeks),
        screen_outs=await screen_outs_by_reason(db, now, tz, weeks),
        sources=await referral_sources(db, now, tz, weeks),
        boroughs=await boroughs(db, now, tz, weeks),
        decisions=await time_to_decision(db, now, tz, weeks),
        reminders=await reminder_confirmations(db, now, tz, weeks),
    )
