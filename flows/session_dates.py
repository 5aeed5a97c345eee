"""A session's date as staff type it: day, month and year in three fields, read the UK way.

The GOV.UK Design System's date input (https://design-system.service.gov.uk/components/date-input/):
three boxes can't be read in the browser's locale order, which is how 03/12/2026 once became 12 March.
Each problem names the field it is about, so the page can mark that box and link to it.
"""

from __future__ import annotations

from datetime import date

__all__ = ["DateProblem", "read_session_date"]

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# A session booked further ahead than this is more likely a typo in the year than a plan.
_MAX_YEARS_AHEAD = 1


class DateProblem(ValueError):
    """What is wrong with the date typed, and which of its fields to mark ("day", "month", "year" or "all")."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _number(text: str, part: str) -> int:
    """Return a field's number; a month may also be a name ("Dec", "december")."""
    cleaned = "".join(text.split())
    if cleaned.isascii() and cleaned.isdigit():
        return int(cleaned)
    if part == "month" and len(cleaned) >= 3 and cleaned[:3].lower() in _MONTHS:
        return _MONTHS.index(cleaned[:3].lower()) + 1
    raise DateProblem(part, f"Enter the {part} of the session as a number")


def read_session_date(day: str, month: str, year: str, today: date) -> date:
    """Return the date typed into the three fields, or raise DateProblem saying what to fix."""
    typed = {"day": day.strip(), "month": month.strip(), "year": year.strip()}
    missing = [part for part, text in typed.items() if not text]
    if len(missing) == 3:
        raise DateProblem("all", "Enter the date of the session")
    if missing:
        raise DateProblem(missing[0], f"The date of the session must include a {' and a '.join(missing)}")
    d, m = _number(typed["day"], "day"), _number(typed["month"], "month")
    y = _number(typed["year"], "year")
    if len("".join(typed["year"].split())) != 4:
        raise DateProblem("year", "The year of the session must include 4 numbers, like 2027")
    if not 1 <= d <= 31:
        raise DateProblem("day", "The day of the session must be between 1 and 31")
    if not 1 <= m <= 12:
        raise DateProblem("month", "The month of the session must be between 1 and 12")
    try:
        found = date(y, m, d)
    except ValueError:
        raise DateProblem("all", "The date of the session must be a real date") from None
    if found < today:
        raise DateProblem("all", "The session must be in the future")
    try:
        latest = today.replace(year=today.year + _MAX_YEARS_AHEAD)
    except ValueError:  # 29 February
        latest = date(today.year + _MAX_YEARS_AHEAD, 3, 1)
    if found > latest:
        raise DateProblem("year", "The session must be within the next year")
    return found
