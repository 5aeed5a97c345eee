"""The stats page: counts by week, reason, source, borough and decision time, for the unit only, naming no one."""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from staff_support import login, make_user
from support import LEAK_FORMS, SCREENED_OUT, WHOLE_REFERRAL, chat

from bot.settings import Settings
from bot.staff.stats import bar_chart, stacked_bar_chart
from bot.staff.stats import router as stats_router
from bot.web import create_app
from flows.channels import Channel
from store.models import AuditEntry
from store.referrals import create_referral, record_screen_out
from store.stats import Source, classify_source, collect, percentile, referrals_per_week, week_start, window_start

LONDON = ZoneInfo("Europe/London")
_numbers = itertools.count(1)


@pytest.fixture
async def http(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real app with the stats page, whether or not bot/web.py includes it yet."""
    app = create_app(settings)
    if not any(getattr(route, "path", None) == "/staff/stats" for route in app.routes):
        app.include_router(stats_router)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
            yield client


def section(html: str, name: str) -> str:
    """One chart's section of the page, with whitespace between tags and GOV.UK's table classes removed."""
    found = re.search(rf'<section class="chart" id="{name}">(.*?)</section>', html, re.S)
    assert found, f"no {name} section"
    return re.sub(r">\s+<", "><", re.sub(r' class="govuk-table__(?:row|header|cell)"', "", found.group(1)))


def row(label: str, *cells: object) -> str:
    return f'<th scope="row">{label}</th>' + "".join(f"<td>{cell}</td>" for cell in cells)


async def _referral(db: AsyncSession, created: datetime, *, borough: str = "Lambeth", org: str = "Lambeth YOT",
                    role: str = "Youth worker", status: str = "queued", decided: datetime | None = None) -> None:
    referral = await create_referral(
        db, reference=f"T-{next(_numbers):05d}", channel=Channel.SMS, borough=borough,
        age=19, urgency="normal", referrer_hash="x", safeguarding_flag=False, now=created,
        details={"referrer_org": org, "referrer_role": role})
    referral.status = status
    referral.decided_at = decided


# --- the page ------------------------------------------------------------------------------------


async def test_the_stats_page_counts_this_weeks_referrals_screen_outs_sources_and_boroughs(
    http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as db, db.begin():
        for _ in range(3):
            await _referral(db, datetime.now(UTC))
        await record_screen_out(db, "too_young", Channel.SMS, datetime.now(LONDON).date())
    # The same again in the simulator: tests, counted nowhere.
    for session in ("a", "b", "c"):
        await chat(http, session, WHOLE_REFERRAL)
    await chat(http, "young", SCREENED_OUT)
    await make_user(sessions, "unit@unit.example.org", "unit")
    await login(http, "unit@unit.example.org")

    page = await http.get("/staff/stats")

    assert page.status_code == 200
    this_week = week_start(datetime.now(UTC), LONDON).strftime("%d %b %Y").lstrip("0")
    weeks = section(page.text, "weeks")
    assert row(this_week, 3, 3) in weeks  # Queued, Total
    assert weeks.count('<th scope="row">') == 12
    assert row("Too young", 1, 1) in section(page.text, "screen-outs")
    assert row("Youth offending / justice / probation", 3) in section(page.text, "sources")
    assert row("Lambeth", 3) in section(page.text, "boroughs")
    assert row("Decisions made", 0) in section(page.text, "decisions")
    assert row("Sessions reminded", 0) in section(page.text, "reminders")
    assert "<svg" in weeks and "<svg" in section(page.text, "boroughs")
    async with sessions() as db:
        viewed = (await db.execute(select(AuditEntry.actor).where(AuditEntry.action == "view_stats"))).scalars().all()
    assert viewed == ["unit@unit.example.org"]


async def test_the_stats_page_shows_no_personal_data_or_free_text(
    http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await chat(http, "a", WHOLE_REFERRAL)
    await make_user(sessions, "admin@unit.example.org", "admin")
    await login(http, "admin@unit.example.org")
    page = await http.get("/staff/stats")
    assert page.status_code == 200
    for value in [*LEAK_FORMS, "Lambeth YOT", "their youth worker", "after 4pm"]:
        assert value not in page.text, value


async def test_the_stats_page_obeys_the_content_security_policy(
    http: httpx.AsyncClient, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await chat(http, "a", WHOLE_REFERRAL)
    await make_user(sessions, "unit@unit.example.org", "unit")
    await login(http, "unit@unit.example.org")
    page = await http.get("/staff/stats")
    assert "style-src 'self'" in page.headers["content-security-policy"]
    # Scripts only from files (GOV.UK Frontend's and ours), never inline.
    assert not re.search(r"<style|<script(?![^>]*\ssrc=\"/static/)|\sstyle=|\son\w+=|https?://(?!www\.w3\.org/2000/svg)",
                         page.text)


async def test_a_caseworker_cannot_see_the_stats(http: httpx.AsyncClient,
                                                 sessions: async_sessionmaker[AsyncSession]) -> None:
    await make_user(sessions, "cw@unit.example.org", "caseworker")
    await login(http, "cw@unit.example.org")
    assert (await http.get("/staff/stats")).status_code == 403


async def test_logged_out_the_stats_page_sends_you_to_the_login(http: httpx.AsyncClient) -> None:
    response = await http.get("/staff/stats")
    assert response.status_code == 303 and response.headers["location"] == "/staff/login"


# --- the counts ----------------------------------------------------------------------------------


async def test_decision_times_give_median_90th_percentile_and_how_many_were_late(
    sessions: async_sessionmaker[AsyncSession]
) -> None:
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    async with sessions() as db, db.begin():
        for n, days in enumerate([1, 2, 3, 4, 5, 6, 7, 8, 9, 30]):
            created = now - timedelta(days=40, minutes=n)
            await _referral(db, created, status="accepted", decided=created + timedelta(days=days))
        await _referral(db, now - timedelta(days=8), status="queued")  # undecided and overdue
        await _referral(db, now - timedelta(days=2), borough="Hackney", status="in_review")  # not yet due
        # Decided before the window: not counted.
        await _referral(db, now - timedelta(days=200), status="declined", decided=now - timedelta(days=150))
    async with sessions() as db:
        stats = await collect(db, now, LONDON)
    decisions = stats.decisions
    assert decisions.decided == 10
    assert decisions.median_days == 5.5
    assert decisions.p90_days == 9
    assert (decisions.within, decisions.later) == (7, 3)
    assert decisions.waiting_overdue == 1


async def test_weeks_start_on_a_london_monday_across_the_clock_change(
    sessions: async_sessionmaker[AsyncSession]
) -> None:
    now = datetime(2026, 4, 8, 12, tzinfo=UTC)
    async with sessions() as db, db.begin():
        # Sunday 29 March 2026 23:30 UTC is already Monday 30 March 00:30 in London (BST).
        await _referral(db, datetime(2026, 3, 29, 23, 30, tzinfo=UTC))
        await _referral(db, datetime(2026, 3, 29, 22, 30, tzinfo=UTC), status="declined")
        await _referral(db, datetime(2025, 1, 1, tzinfo=UTC))  # long before the window
    async with sessions() as db:
        weeks = await referrals_per_week(db, now, LONDON)
    by_start = {week.start: week.counts for week in weeks}
    assert len(weeks) == 12 and weeks[0].start == window_start(now, LONDON) == date(2026, 1, 19)
    assert by_start[date(2026, 3, 30)] == {"queued": 1}
    assert by_start[date(2026, 3, 23)] == {"declined": 1}
    assert sum(week.total for week in weeks) == 2


async def test_sources_boroughs_and_screen_outs_are_counted_in_the_window(
    sessions: async_sessionmaker[AsyncSession]
) -> None:
    now = datetime(2026, 11, 25, 12, tzinfo=UTC)
    async with sessions() as db, db.begin():
        await _referral(db, now - timedelta(days=3), org="King's College Hospital A&E", borough="Southwark")
        await _referral(db, now - timedelta(days=4), org="Hackney Children's Social Care", borough="Hackney")
        await _referral(db, now - timedelta(days=5), org="Hackney council", role="Youth worker", borough="Hackney")
        await _referral(db, now - timedelta(days=400), org="St Giles Trust", borough="Brent")
        await record_screen_out(db, "too_young", "sms", (now - timedelta(days=2)).date())
        await record_screen_out(db, "not_london", "sms", (now - timedelta(days=2)).date())
        await record_screen_out(db, "not_london", "sms", date(2024, 1, 1))
    async with sessions() as db:
        stats = await collect(db, now, LONDON)
    assert stats.boroughs == [("Hackney", 2), ("Southwark", 1)]
    assert sorted(stats.sources) == [("Hospital / A&E", 1), ("Social care", 1), ("Youth service", 1)]
    assert stats.screen_outs.recent == [("not_london", 1), ("too_young", 1)]
    assert stats.screen_outs.all_time == [("not_london", 2), ("too_young", 1)]
    assert stats.reminders.rows[0] == ("Sessions reminded", 0)


# --- pure parts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("org", "role", "source"), [
    ("Lambeth YOT", "Youth worker", Source.JUSTICE),
    ("Redthread at King's College Hospital", "Youth worker", Source.HOSPITAL),
    ("St Mary's A&E", None, Source.HOSPITAL),
    ("Major Trauma Centre, Royal London", "Youth worker", Source.HOSPITAL),
    ("National Probation Service", "Probation officer", Source.JUSTICE),
    ("Met Police", "PC", Source.POLICE),
    ("Metropolitan Police Service", None, Source.POLICE),
    ("Croydon MASH", "Social worker", Source.SOCIAL_CARE),
    ("Hackney Children's Services", None, Source.SOCIAL_CARE),
    ("Harris Academy", "Head of year", Source.SCHOOL),
    ("Lewisham College", None, Source.SCHOOL),
    ("Southwark Housing Options", None, Source.HOUSING),
    ("St Giles Trust", "Caseworker", Source.VOLUNTARY),
    ("Catch22", None, Source.VOLUNTARY),
    ("Islington Council", "Youth worker", Source.YOUTH_SERVICE),
    ("Brent youth hub", None, Source.YOUTH_SERVICE),
    ("Acme Ltd", "Manager", Source.OTHER),
    (None, None, Source.OTHER),
    ("", "   ", Source.OTHER),
])
def test_referrer_organisations_are_sorted_into_kinds(org: str | None, role: str | None, source: Source) -> None:
    assert classify_source(org, role) is source


def test_the_organisation_wins_over_the_job_title() -> None:
    assert classify_source("Newham Housing", "Police liaison officer") is Source.HOUSING


def test_percentile_is_a_value_that_occurred() -> None:
    assert percentile([], 90) is None
    assert percentile([4.0], 90) == 4.0
    assert percentile([float(n) for n in range(1, 11)], 90) == 9.0
    assert percentile([float(n) for n in range(1, 11)], 50) == 5.0
    assert percentile([3.0, 1.0, 2.0], 100) == 3.0


def test_week_start_is_the_local_monday() -> None:
    assert week_start(datetime(2026, 11, 29, 23, 59, tzinfo=LONDON), LONDON) == date(2026, 11, 23)
    assert week_start(datetime(2026, 11, 30, 0, 0, tzinfo=LONDON), LONDON) == date(2026, 11, 30)
    assert week_start(date(2026, 11, 25), LONDON) == date(2026, 11, 23)


def test_a_bar_chart_puts_each_number_beside_its_bar_and_escapes_labels() -> None:
    svg = str(bar_chart([("Lambeth", 3), ("<script>alert(1)</script>", 1), ("None", 0)], title="Boroughs & more"))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert "Boroughs &amp; more" in svg
    assert re.search(r">Lambeth</text>.*?<rect[^>]*>.*?</rect><text[^>]*>3</text>", svg)
    assert svg.count("<rect") == 2  # no bar for a zero, but its number is shown
    assert re.search(r"<text[^>]*>0</text>", svg)
    assert " style=" not in svg


def test_bars_are_scaled_to_the_largest() -> None:
    svg = str(bar_chart([("a", 10), ("b", 5)], title="t"))
    widths = [int(w) for w in re.findall(r'<rect [^>]*width="(\d+)"', svg)]
    assert widths[0] == 2 * widths[1]


def test_a_chart_of_nothing_is_empty() -> None:
    assert str(bar_chart([], title="t")) == ""
    assert str(stacked_bar_chart([], [("queued", "Queued", "#000")], title="t")) == ""
    assert ">0</text>" in str(bar_chart([("a", 0)], title="t"))


def test_a_stacked_chart_has_a_legend_segments_and_totals() -> None:
    series = [("queued", "Queued", "#457b9d"), ("declined", "Declined", "#9d0208")]
    svg = str(stacked_bar_chart([("23 Nov 2026", {"queued": 3, "declined": 1}), ("16 Nov 2026", {})], series,
                                title="Weeks"))
    assert ">Queued</text>" in svg and ">Declined</text>" in svg
    assert "23 Nov 2026, Queued: 3" in svg and "23 Nov 2026, Declined: 1" in svg
    assert re.search(r"<text[^>]*>4</text>", svg) and re.search(r"<text[^>]*>0</text>", svg)
