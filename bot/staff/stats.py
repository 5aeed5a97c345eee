"""The stats page: counts for the unit, drawn as inline SVG bar charts with a table under each.

The charts are drawn on the server with SVG presentation attributes (fill, font-size), which the
staff pages' CSP allows, unlike inline styles and scripts; nothing is fetched from elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from bot.runtime import RuntimeDep
from bot.staff.deps import Db, UnitStaff
from bot.staff.pages import templates
from flows.process import Status
from flows.screening import Reason
from store.audit import audit
from store.stats import Stats, collect

__all__ = ["REASON_NAMES", "bar_chart", "router", "stacked_bar_chart"]

router = APIRouter(prefix="/staff")

# A chart series is keyed by whatever its rows count: referral statuses on the page, plain strings in tests.
Key = TypeVar("Key", bound=str)

BAR_COLOUR = "#1d3557"
TEXT_COLOUR = "#1b1b1b"
REASON_NAMES: dict[str, str] = {
    Reason.TOO_YOUNG: "Too young",
    Reason.TOO_OLD: "Too old",
    Reason.NOT_LONDON: "Not in London",
    Reason.NOT_GANG_INVOLVED: "Not involved in gangs",
    Reason.NO_SIGNIFICANT_RISK: "No significant risk",
    Reason.NOT_MOTIVATED: "Not yet motivated",
    Reason.NOT_WILLING: "Not willing to work with us",
    Reason.EXTENSIVE_SUPPORT: "Already has extensive support",
    Reason.SERVICES_LOCAL: "Services available locally",
    Reason.NOT_READY: "Not yet motivated, or not willing",
    Reason.SUPPORTED_ELSEWHERE: "Extensive support, or services local",
}

WIDTH = 720
ROW = 24
BAR = 16
FONT = 13
CHAR = 7.2  # rough width of one character at FONT px, to size the label column
MAX_LABEL = 40
NUMBER_ROOM = 48


def _label(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1] + "\u2026"


def _label_width(labels: Sequence[str]) -> int:
    longest = max((len(_label(label)) for label in labels), default=0)
    return int(min(MAX_LABEL * CHAR, max(80, longest * CHAR))) + 12


def _svg(height: int, title: str, body: list[str]) -> Markup:
    name = escape(title)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-label="{name}. The numbers are also in the table below.">'
        f"<title>{name}</title>"
        f'<g font-family="system-ui, sans-serif" font-size="{FONT}" fill="{TEXT_COLOUR}">{"".join(body)}</g></svg>'
    )


def bar_chart(rows: Sequence[tuple[str, int]], *, title: str, colour: str = BAR_COLOUR,
              colours: Sequence[str] = ()) -> Markup:
    """A horizontal bar per row, its number beside it; empty Markup when there are no rows.

    `colours` gives rows their own colours, in order; rows past its end take `colour`.
    """
    if not rows:
        return Markup("")
    left = _label_width([label for label, _ in rows])
    room = WIDTH - left - NUMBER_ROOM
    most = max(count for _, count in rows) or 1
    body: list[str] = []
    for n, (label, count) in enumerate(rows):
        y = n * ROW + (ROW - BAR) // 2
        length = round(room * count / most)
        text_y = y + BAR - 3
        body.append(f'<text x="{left - 8}" y="{text_y}" text-anchor="end">{escape(_label(label))}</text>')
        if length:
            fill = colours[n] if n < len(colours) else colour
            body.append(f'<rect x="{left}" y="{y}" width="{length}" height="{BAR}" fill="{escape(fill)}">'
                        f"<title>{escape(label)}: {count}</title></rect>")
        body.append(f'<text x="{left + length + 6}" y="{text_y}">{count}</text>')
    return _svg(len(rows) * ROW, title, body)


def stacked_bar_chart(rows: Sequence[tuple[str, Mapping[Key, int]]], series: Sequence[tuple[Key, str, str]], *,
                      title: str) -> Markup:
    """A horizontal bar per row split into series (key, name, colour), the total beside it, a legend above."""
    if not rows:
        return Markup("")
    left = _label_width([label for label, _ in rows])
    room = WIDTH - left - NUMBER_ROOM
    most = max(sum(counts.get(key, 0) for key, _, _ in series) for _, counts in rows) or 1
    body: list[str] = []
    # The legend, wrapped onto as many lines as it needs.
    x, line = 0, 0
    for _, name, colour in series:
        step = BAR + 6 + round(len(name) * CHAR) + 18
        if x and x + step > WIDTH:
            x, line = 0, line + 1
        y = line * ROW + (ROW - BAR) // 2
        body.append(f'<rect x="{x}" y="{y}" width="{BAR}" height="{BAR}" fill="{escape(colour)}"/>'
                    f'<text x="{x + BAR + 6}" y="{y + BAR - 3}">{escape(name)}</text>')
        x += step
    top = (line + 1) * ROW + ROW // 2 if series else 0
    for n, (label, counts) in enumerate(rows):
        y = top + n * ROW + (ROW - BAR) // 2
        text_y = y + BAR - 3
        body.append(f'<text x="{left - 8}" y="{text_y}" text-anchor="end">{escape(_label(label))}</text>')
        x = left
        total = 0
        for key, name, colour in series:
            count = counts.get(key, 0)
            total += count
            length = round(room * count / most)
            if length:
                body.append(f'<rect x="{x}" y="{y}" width="{length}" height="{BAR}" fill="{escape(colour)}">'
                            f"<title>{escape(label)}, {escape(name)}: {count}</title></rect>")
            x += length
        body.append(f'<text x="{x + 6}" y="{text_y}">{total}</text>')
    return _svg(top + len(rows) * ROW, title, body)


def _week(start: date) -> str:
    return start.strftime("%d %b %Y").lstrip("0")


def _days(value: float | None) -> str:
    return "-" if value is None else f"{value:g} day{'' if value == 1 else 's'}"


def _page_context(stats: Stats) -> dict[str, object]:
    """Charts and table rows for the template, built from the counts."""
    present = {status for week in stats.weeks for status in week.counts}
    statuses = [s for s in Status if s in present]
    series = [(s, s.label, s.colour) for s in statuses]
    weeks = [(_week(w.start), w.counts) for w in stats.weeks]
    all_time = dict(stats.screen_outs.all_time)
    recent = dict(stats.screen_outs.recent)
    reasons = sorted(((REASON_NAMES.get(reason, reason), recent.get(reason, 0), count)
                      for reason, count in all_time.items()), key=lambda r: (-r[1], -r[2], r[0]))
    decided = stats.decisions
    timing = [(f"Within {decided.decision_days} days", decided.within),
              (f"After {decided.decision_days} days", decided.later)]
    return {
        "stats": stats,
        "since": _week(stats.since),
        "statuses": [(s, s.label) for s in statuses],
        "weeks": weeks,
        "weeks_chart": stacked_bar_chart(weeks, series, title="Referrals received per week, by status now"),
        "reasons": reasons,
        "reasons_chart": bar_chart([(name, n) for name, n, _ in reasons if n],
                                   title="Screen-outs by reason, last 12 weeks", colour="#6c757d"),
        "sources_chart": bar_chart(stats.sources, title="Referrals by kind of referring organisation"),
        "boroughs_chart": bar_chart(stats.boroughs, title="Referrals by borough"),
        "decision_rows": timing,
        "decisions_chart": bar_chart(timing if decided.decided else [], title="Decisions by time taken",
                                     colours=[Status.ALLOCATED.colour, Status.DECLINED.colour]),
        "median": _days(decided.median_days),
        "p90": _days(decided.p90_days),
    }


@router.get("/stats")
async def stats_page(request: Request, db: Db, staff: UnitStaff, runtime: RuntimeDep) -> HTMLResponse:
    """Counts for the referral unit and admins: no names, no free text, only categories and numbers."""
    now = datetime.now(UTC)
    tz = runtime.settings.tz
    stats = await collect(db, now, tz)
    await audit(db, staff.name, "view_stats", now)
    return templates.TemplateResponse(request, "staff/stats.html",
                                      {"staff": staff, "tz": tz, "now": now, **_page_context(stats)})
