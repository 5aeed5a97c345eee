"""When the referral unit will next look at a referral, in words for an SMS."""

from __future__ import annotations

from datetime import datetime, time, timedelta

__all__ = ["when_seen"]

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _clock(moment: time) -> str:
    hour = moment.hour % 12 or 12
    suffix = "am" if moment.hour < 12 else "pm"
    return f"{hour}{suffix}" if moment.minute == 0 else f"{hour}:{moment.minute:02d}{suffix}"


def when_seen(now: datetime, opening: tuple[time, time], days: frozenset[int]) -> str:
    """'today' in opening hours, else when the unit next opens ('from 9am tomorrow', 'from 9am Monday')."""
    opens, closes = opening
    if now.weekday() in days and opens <= now.time() < closes:
        return "today"
    for ahead in range(0, 8):
        day = now.date() + timedelta(days=ahead)
        if day.weekday() not in days:
            continue
        if ahead == 0 and now.time() >= opens:
            continue
        if ahead == 0:
            name = "today"
        elif ahead == 1:
            name = "tomorrow"
        else:
            name = _DAYS[day.weekday()]
        return f"from {_clock(opens)} {name}"
    return "as soon as it can"
