"""Session reminders for young people: when to send them (texts in flows/discreet.py, replies in flows/replies.py).

Offset syntax (the REMINDER_OFFSETS setting), items separated by commas:

    Nd@HH:MM   N calendar days before the session's local date, at that local wall-clock time
               (0d@09:00 is the morning of the session; N is 0 to 14)
    Nh, Nm     that many hours or minutes before the session start, as an absolute duration
               (at most 14 days)

so "1d@18:00,2h" is 18:00 the evening before and two hours before. An empty spec means no reminders.

Times are planned in the service's zone (Europe/London) and returned in UTC. Everything here is
pure: callers pass `now`, and do the sending, the STOP check and the safe-to-text check themselves.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

__all__ = ["DEFAULT_OFFSETS", "Note", "Offset", "PlannedReminder", "QuietHours", "ReminderKind", "offset_words",
           "parse_offsets", "plan_reminders", "session_start", "when_words"]

DEFAULT_OFFSETS = "1d@18:00,2h"

_MAX_DAYS = 14
_OFFSET_HINT = (
    "use Nd@HH:MM (N days before, at that local time) or Nh / Nm (hours or minutes before the "
    "start), separated by commas, like '1d@18:00,2h'"
)
_DAY_ITEM = re.compile(r"(\d{1,2})d@(\d{1,2}):(\d{2})")
_DURATION_ITEM = re.compile(r"(\d{1,5})([hm])")


# --- offsets ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Offset:
    """One reminder time: `days` before at local time `at`, or the duration `before` the start."""

    spec: str
    days: int | None = None
    at: time | None = None
    before: timedelta | None = None

    def planned_for(self, starts_at: datetime, tz: ZoneInfo) -> datetime:
        """Return when this reminder falls for a session, in UTC, before any adjustment."""
        if self.before is not None:
            return starts_at.astimezone(UTC) - self.before
        assert self.days is not None and self.at is not None
        day = starts_at.astimezone(tz).date() - timedelta(days=self.days)
        # A wall time in the spring gap (01:30 on the last Sunday of March) is read with the
        # offset in force before the change, so it lands an hour later (02:30 BST), as
        # zoneinfo does: the reminder still goes, just later than the wall time named.
        return datetime.combine(day, self.at, tzinfo=tz).astimezone(UTC)


def _bad_offset(item: str, why: str = "") -> ValueError:
    """Return the error for one unusable offset item."""
    detail = f" ({why})" if why else ""
    return ValueError(f"REMINDER_OFFSETS item {item!r} is not understood{detail}: {_OFFSET_HINT}.")


def _parse_offset(item: str) -> Offset:
    """Parse one offset item like '1d@18:00', '2h' or '30m'."""
    if m := _DAY_ITEM.fullmatch(item):
        days, hour, minute = int(m[1]), int(m[2]), int(m[3])
        if days > _MAX_DAYS:
            raise _bad_offset(item, f"at most {_MAX_DAYS} days")
        if hour > 23 or minute > 59:
            raise _bad_offset(item, "the time must be 00:00 to 23:59")
        at = time(hour, minute)
        return Offset(f"{days}d@{at:%H:%M}", days=days, at=at)
    if m := _DURATION_ITEM.fullmatch(item):
        amount, unit = int(m[1]), m[2]
        before = timedelta(hours=amount) if unit == "h" else timedelta(minutes=amount)
        if not timedelta(0) < before <= timedelta(days=_MAX_DAYS):
            raise _bad_offset(item, f"more than 0 and at most {_MAX_DAYS} days")
        return Offset(f"{amount}{unit}", before=before)
    raise _bad_offset(item)


def parse_offsets(spec: str) -> tuple[Offset, ...]:
    """Parse a REMINDER_OFFSETS spec like '1d@18:00,2h'; an empty spec means no reminders."""
    if not spec.strip():
        return ()
    offsets: list[Offset] = []
    for raw in spec.split(","):
        item = "".join(raw.split()).lower()
        if not item:
            raise ValueError(f"REMINDER_OFFSETS {spec!r} has an empty item: {_OFFSET_HINT}.")
        offset = _parse_offset(item)
        if any((o.days, o.at, o.before) == (offset.days, offset.at, offset.before) for o in offsets):
            raise ValueError(f"REMINDER_OFFSETS lists {offset.spec!r} twice: list each time once.")
        offsets.append(offset)
    return tuple(offsets)


# --- session times ----------------------------------------------------------------------------


def session_start(day: date, at: time, tz: ZoneInfo) -> datetime:
    """Return the UTC start of a session booked for a local date and wall-clock time."""
    local = datetime.combine(day, at, tzinfo=tz)
    if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != local.replace(tzinfo=None):
        # Booking a time the clocks skip (01:30 on the last Sunday of March) is a typo more
        # often than a plan; shifting it would text the young person a time nobody chose.
        raise ValueError(
            f"{at:%H:%M} on {day:%d/%m/%Y} doesn't exist in {tz.key} (the clocks go forward): "
            "choose another time."
        )
    # A time that happens twice (01:30 on the last Sunday of October) is taken the first time,
    # in summer time (fold=0): earlier is the safer mistake for a meeting.
    return local.replace(fold=0).astimezone(UTC)


def _aware(moment: datetime, name: str) -> datetime:
    """Return the moment in UTC, refusing a naive datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware: pass it with a tzinfo, such as UTC.")
    return moment.astimezone(UTC)


# --- quiet hours ------------------------------------------------------------------------------

_QUIET = re.compile(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})")
# Quiet hours are [start, end): a reminder moved to "before they begin" goes this long before.
_EDGE_MARGIN = timedelta(minutes=1)


@dataclass(frozen=True)
class QuietHours:
    """Local hours [start, end) when no reminder is sent; start after end spans midnight."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ValueError("QUIET_HOURS start and end are the same: use HH:MM-HH:MM, like '21:00-08:00'.")

    @classmethod
    def parse(cls, spec: str | None) -> QuietHours | None:
        """Parse 'HH:MM-HH:MM' (like '21:00-08:00'); None or empty means no quiet hours."""
        if spec is None or not spec.strip():
            return None
        m = _QUIET.fullmatch("".join(spec.split()))
        hint = (
            f"QUIET_HOURS {spec!r} is not understood: use HH:MM-HH:MM, like '21:00-08:00', "
            "or leave it empty for none."
        )
        if not m:
            raise ValueError(hint)
        numbers = [int(g) for g in m.groups()]
        if numbers[0] > 23 or numbers[2] > 23 or numbers[1] > 59 or numbers[3] > 59:
            raise ValueError(hint)
        return cls(time(numbers[0], numbers[1]), time(numbers[2], numbers[3]))

    def contains(self, wall: time) -> bool:
        """Return True if a local wall-clock time is inside quiet hours."""
        if self.start < self.end:
            return self.start <= wall < self.end
        return wall >= self.start or wall < self.end

    def around(self, local: datetime) -> tuple[datetime, datetime]:
        """Return the UTC start and end of the quiet spell containing a local moment."""
        begins = ends = local.date()
        if self.start > self.end:
            if local.time() >= self.start:
                ends = begins + timedelta(days=1)
            else:
                begins = ends - timedelta(days=1)
        tz = local.tzinfo
        return (
            datetime.combine(begins, self.start, tzinfo=tz).astimezone(UTC),
            datetime.combine(ends, self.end, tzinfo=tz).astimezone(UTC),
        )


# --- planning ---------------------------------------------------------------------------------


class Note(StrEnum):
    """Why a reminder goes when it does."""

    AS_PLANNED = "as planned"
    AFTER_QUIET = "moved out of quiet hours"
    BEFORE_QUIET = "moved before quiet hours"
    DUE_NOW = "due already: send now"


class ReminderKind(StrEnum):
    """How a reminder names the day: by date, or 'today' when sent on the session's own day."""

    AHEAD = "ahead"
    TODAY = "today"


@dataclass(frozen=True)
class PlannedReminder:
    """One reminder to send: which offset, when (UTC), why then, and how to word the day."""

    offset: str
    send_at: datetime
    note: Note
    kind: ReminderKind


def _out_of_quiet(
    candidate: datetime, starts_at: datetime, now: datetime, tz: ZoneInfo, quiet: QuietHours
) -> tuple[datetime, Note] | None:
    """Move a time inside quiet hours to an edge that is still before the session, or give up."""
    begins, ends = quiet.around(candidate.astimezone(tz))
    # The end edge keeps the reminder nearest the session; when quiet hours run up to (or past)
    # the start, the only useful moment left is just before they began.
    if ends < starts_at:
        return ends, Note.AFTER_QUIET
    if now < begins:
        return max(begins - _EDGE_MARGIN, now), Note.BEFORE_QUIET
    return None  # quiet from now until the session: no moment left to remind


def _plan_one(
    offset: Offset, starts_at: datetime, tz: ZoneInfo, quiet: QuietHours | None, now: datetime
) -> tuple[datetime, Note] | None:
    """Return when one offset's reminder goes and why, or None when it can't usefully go."""
    planned = offset.planned_for(starts_at, tz)
    if planned >= starts_at:
        return None
    send_at, note = (planned, Note.AS_PLANNED) if planned >= now else (now, Note.DUE_NOW)
    if quiet is not None and quiet.contains(send_at.astimezone(tz).time()):
        return _out_of_quiet(send_at, starts_at, now, tz, quiet)
    return send_at, note


def plan_reminders(
    starts_at: datetime,
    offsets: Sequence[Offset],
    tz: ZoneInfo,
    quiet: QuietHours | None,
    now: datetime,
) -> list[PlannedReminder]:
    """Return the reminders to send for a session, in UTC, sorted by send time."""
    starts_at, now = _aware(starts_at, "starts_at"), _aware(now, "now")
    if now >= starts_at:
        return []
    session_day = starts_at.astimezone(tz).date()
    # Nearest the session first, so when two land on the same moment the one kept is the one
    # whose wording ("today at 3:00pm") fits best.
    by_lead = sorted(offsets, key=lambda o: (o.planned_for(starts_at, tz), o.spec), reverse=True)
    chosen: dict[datetime, PlannedReminder] = {}
    for offset in by_lead:
        planned = _plan_one(offset, starts_at, tz, quiet, now)
        if planned is None or planned[0] in chosen:
            continue  # two texts at the same moment would read as a glitch: send one
        send_at, note = planned
        same_day = send_at.astimezone(tz).date() == session_day
        kind = ReminderKind.TODAY if same_day else ReminderKind.AHEAD
        chosen[send_at] = PlannedReminder(offset.spec, send_at, note, kind)
    return sorted(chosen.values(), key=lambda r: (r.send_at, r.offset))


# --- in words ---------------------------------------------------------------------------------


def _clock(at: time) -> str:
    """Return '6pm', '9:30am', 'midday' or 'midnight'."""
    if at == time(12, 0):
        return "midday"
    if at == time(0, 0):
        return "midnight"
    hour = at.hour % 12 or 12
    suffix = "am" if at.hour < 12 else "pm"
    return f"{hour}{suffix}" if at.minute == 0 else f"{hour}:{at.minute:02d}{suffix}"


def offset_words(spec: str) -> str:
    """Say when a reminder goes, as staff read it: '1d@18:00' is 'the day before at 6pm'."""
    try:
        offset = _parse_offset(spec)
    except ValueError:
        return spec  # a reminder planned under an older setting: show it as it was written
    if offset.before is not None:
        minutes = int(offset.before.total_seconds() // 60)
        if minutes % 60 == 0:
            hours = minutes // 60
            return f"{hours} hour{'s' if hours != 1 else ''} before"
        return f"{minutes} minute{'s' if minutes != 1 else ''} before"
    assert offset.days is not None and offset.at is not None
    day = {0: "on the day", 1: "the day before"}.get(offset.days, f"{offset.days} days before")
    return f"{day} at {_clock(offset.at)}"


def when_words(local: datetime) -> str:
    """Say a session's local start as staff read it: 'Wednesday 2 December 2026 at 3pm'."""
    return f"{local:%A} {local.day} {local:%B %Y} at {_clock(local.time())}"
