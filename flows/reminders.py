"""Session reminders for young people: when to send them, what they say, and how to read replies.

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
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from flows.parsing import Invalid, parse_yes_no
from flows.text import MAX_SINGLE, gsm_safe, is_gsm7, plain, segment_count

__all__ = [
    "DEFAULT_OFFSETS",
    "DEFAULT_PLACE",
    "FORBIDDEN_WORDS",
    "Answer",
    "Note",
    "Offset",
    "PlannedReminder",
    "QuietHours",
    "ReminderKind",
    "cancelled_text",
    "cant_come_text",
    "check_discreet",
    "confirmed_text",
    "first_contact_text",
    "forwarded_text",
    "moved_text",
    "parse_offsets",
    "plan_reminders",
    "read_reply",
    "reminder_text",
    "session_start",
]

DEFAULT_OFFSETS = "1d@18:00,2h"
DEFAULT_PLACE = "the usual place"

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


# --- discreet texts ---------------------------------------------------------------------------

# Words a discreet text must never hold: the service, what it is about, who refers to it.
FORBIDDEN_WORDS: tuple[str, ...] = (
    "gang", "gangs", "gangster", "gang exit", "exit", "exploitation", "exploit", "exploited",
    "grooming", "groomed", "county lines", "police", "policing", "offending", "youth offending",
    "offender", "offence", "offense", "crime", "crimes", "criminal", "risk", "risks", "at risk",
    "self harm", "abuse", "victim", "referral", "referred", "probation", "youth justice", "yot",
    "prison", "custody", "arrest", "arrested", "knife", "knives", "stab", "stabbed",
    "stabbing", "weapon", "weapons", "gun", "shooting", "violence", "violent", "drugs",
    "safeguarding", "social worker", "social services", "caseworker", "case worker",
    "support worker", "key worker", "keyworker", "mentor", "mentoring", "intervention",
)
_FORBIDDEN = tuple(
    (word, re.compile(r"(?<![a-z])" + r"[\s-]+".join(map(re.escape, word.split())) + r"(?![a-z])"))
    for word in FORBIDDEN_WORDS
)
_EMOJI_RANGES = ((0x1F000, 0x1FAFF), (0x2600, 0x27BF), (0x2B00, 0x2BFF), (0xFE0F, 0xFE0F), (0x200D, 0x200D))
_LINK = re.compile(r"https?://|www\.|\b[a-z0-9-]+\.(?:com|org|uk|net|io|ly)\b")

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_REPLY_PROMPT = "Reply Y to confirm or N if you can't make it."
_MIN_PLACE = len(DEFAULT_PLACE)
_MIN_NAME = 8


def _forbidden_in(text: str) -> list[str]:
    """Return the forbidden words and phrases found in text, whole words only."""
    lowered = plain(text).lower()
    return [word for word, pattern in _FORBIDDEN if pattern.search(lowered)]


def check_discreet(text: str) -> list[str]:
    """Return what makes a text unfit to send to a young person (empty when it is fit)."""
    problems = [f"mentions {word!r}" for word in _forbidden_in(text)]
    if not text.strip():
        problems.append("empty")
    if any(lo <= ord(c) <= hi for c in text for lo, hi in _EMOJI_RANGES):
        problems.append("has an emoji")
    if not is_gsm7(text):
        bad = next(c for c in text if not is_gsm7(c))
        problems.append(f"not GSM-7 (U+{ord(bad):04X})")
    if (segments := segment_count(text)) > 1:
        problems.append(f"{segments} SMS segments, not 1")
    if _LINK.search(text.lower()):
        problems.append("has a link")
    return problems


def _first_name(name: str) -> str:
    """Return the first word of a name as GSM-7, or '' when it holds no letter."""
    words = gsm_safe(name).split(" ")
    # Only the first word goes out: a surname on a young person's phone says too much.
    first = words[0].strip(".,;:!") if words else ""
    return first if any(c.isalpha() for c in first) else ""


def _worker(name: str) -> str:
    """Return the caseworker's first name as GSM-7, refusing one with no letters."""
    first = _first_name(name)
    if not first:
        raise ValueError("worker_name has no letters to send: set the caseworker's first name.")
    return first


def _place(label: str) -> str:
    """Return the caseworker's place label as GSM-7, or the default when unusable."""
    cleaned = gsm_safe(label)
    # A label like "outside the police station" would undo the whole point of being discreet.
    if not cleaned or _forbidden_in(cleaned):
        return DEFAULT_PLACE
    return cleaned


def _when(starts_at_local: datetime, kind: ReminderKind) -> str:
    """Return 'Tue 4 Mar at 3:00pm', or 'today at 3:00pm'."""
    hour = starts_at_local.hour % 12 or 12
    clock = f"{hour}:{starts_at_local.minute:02d}{'am' if starts_at_local.hour < 12 else 'pm'}"
    if kind is ReminderKind.TODAY:
        return f"today at {clock}"
    d = starts_at_local.date()
    return f"{_DAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]} at {clock}"


def _hi(young: str) -> str:
    """Return the greeting, with the young person's first name when there is one."""
    return f"Hi {young}," if young else "Hi,"


def _shorten(text: str, keep: int) -> str:
    """Cut text to at most `keep` characters, at a word break when one is late enough."""
    cut = text[:keep]
    # "the community centre" reads better than "the community centre on Hi".
    space = cut.rfind(" ")
    if space >= keep * 2 // 3:
        cut = cut[:space]
    return cut.rstrip(" ,.-'&/") or cut


def _fit(render: Callable[[str, str, str], str], place: str, young: str, worker: str) -> str:
    """Render, shortening the place label first and then the names until one segment is enough."""
    parts = [place, young, worker]
    # Floors keep the parts readable; the second round, down to one character, is only reached
    # by parts full of extension characters (each costs two septets).
    rounds = ((0, _MIN_PLACE), (1, _MIN_NAME), (2, _MIN_NAME), (0, 1), (1, 1), (2, 1))
    for index, floor in rounds:
        while segment_count(text := render(*parts)) > 1 and len(parts[index]) > floor:
            # Extension characters cost two septets, so cut at least one character a round.
            over = max(1, len(text) - MAX_SINGLE)
            parts[index] = _shorten(parts[index], max(floor, len(parts[index]) - over))
    text = render(*parts)
    if segment_count(text) > 1:
        raise RuntimeError("a reminder template is too long for one SMS segment even with short names")
    return text


def reminder_text(
    young_name: str,
    worker_name: str,
    starts_at_local: datetime,
    place_label: str,
    kind: ReminderKind = ReminderKind.AHEAD,
) -> str:
    """The reminder: first names, a time and a place label, asking for Y or N."""
    when = _when(starts_at_local, kind)
    return _fit(
        lambda place, young, worker: f"{_hi(young)} it's {worker}. See you {when}, {place}. {_REPLY_PROMPT}",
        _place(place_label), _first_name(young_name), _worker(worker_name),
    )


def first_contact_text(young_name: str, worker_name: str) -> str:
    """The first text from the caseworker's number, asking the young person to save it."""
    return _fit(
        lambda _place, young, worker: (
            f"{_hi(young)} it's {worker}. This is my number for our meetups, please save it. "
            "Reply Y to say you got this."
        ),
        "", _first_name(young_name), _worker(worker_name),
    )


def confirmed_text(worker_name: str) -> str:
    """The answer to a Y."""
    return _fit(lambda _p, _y, worker: f"Thanks, that's confirmed. {worker} will see you then.",
                "", "", _worker(worker_name))


def cant_come_text(worker_name: str) -> str:
    """The answer to an N."""
    return _fit(lambda _p, _y, worker: f"No problem, {worker} will be in touch to find another time.",
                "", "", _worker(worker_name))


def forwarded_text(worker_name: str) -> str:
    """The answer to anything else: it was passed on to the caseworker."""
    return _fit(lambda _p, _y, worker: f"Thanks, I'll pass that to {worker}.", "", "", _worker(worker_name))


def moved_text(young_name: str, worker_name: str, starts_at_local: datetime, place_label: str) -> str:
    """The text when a session moves: the new time and place, asking for Y or N."""
    when = _when(starts_at_local, ReminderKind.AHEAD)
    return _fit(
        lambda place, young, worker: (
            f"{_hi(young)} it's {worker}. Change of plan: see you {when}, {place}. {_REPLY_PROMPT}"
        ),
        _place(place_label), _first_name(young_name), _worker(worker_name),
    )


def cancelled_text(young_name: str, worker_name: str, starts_at_local: datetime) -> str:
    """The text when a session is called off; no place, since it no longer matters."""
    when = _when(starts_at_local, ReminderKind.AHEAD)
    return _fit(
        lambda _place, young, worker: (
            f"{_hi(young)} it's {worker}. Sorry, we're not meeting {when} after all. "
            "I'll be in touch to find another time."
        ),
        "", _first_name(young_name), _worker(worker_name),
    )


# --- replies ----------------------------------------------------------------------------------


class Answer(StrEnum):
    """What a young person's reply to a reminder means."""

    CONFIRM = "confirm"
    DECLINE = "decline"
    OTHER = "other"


# Pleasantries that change nothing about the answer ("Yes thanks x").
_FILLER = frozenset(
    "thanks thx ty ta cheers x xx xxx sorry soz mate bro hi hey hiya pls please "
    "\U0001f642 \U0001f60a \U0001f600 \U0001f603 \U0001f64f \u263a".split()
)
_CONFIRM_PHRASES = frozenset({
    "see you", "see you there", "see you then", "see you soon", "see you later", "see ya", "cya",
    "ill be there", "i will be there", "will be there", "be there", "will do", "i will", "i can",
    "i can make it", "can make it", "i can come", "im coming", "i am coming", "coming",
    "sounds good", "got it", "all good", "confirm", "confirmed", "fine", "\U0001f44c",
})
_DECLINE_PHRASES = frozenset({
    "cant", "cannot", "can not", "i cant", "i cannot", "cant make it", "cannot make it",
    "can not make it", "i cant make it", "i cannot make it", "cant come", "i cant come",
    "not coming", "im not coming", "i am not coming", "wont make it", "i wont make it",
    "wont be there", "i wont be there", "cant do it", "i cant do it", "not today",
})
_MODIFIERS = re.compile("[\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")
_TOKEN = re.compile(r"[^\W_]+|[^\w\s]")
_PUNCTUATION = frozenset(string.punctuation)
_MAX_REPLY = 160


def _tokens(text: str) -> list[str]:
    """Return lower-case words and symbols, apostrophes dropped ("can't" -> "cant"), fillers out."""
    lowered = _MODIFIERS.sub("", plain(text)).lower().replace("'", "")
    lowered = re.sub(r"\bthank you\b", " ", lowered)
    return [t for t in _TOKEN.findall(lowered) if t not in _FILLER and t not in _PUNCTUATION]


def _means(token: str) -> bool | None:
    """Return True or False for a single yes/no word or emoji, else None."""
    try:
        return parse_yes_no(token)
    except Invalid:
        return None


def _answers(tokens: list[str], meaning: bool, phrases: frozenset[str]) -> bool:
    """Return True if the tokens are answer words ("yeah ok") then nothing or a matching phrase."""
    lead = 0
    while lead < len(tokens) and _means(tokens[lead]) is meaning:
        lead += 1
    rest = " ".join(tokens[lead:])
    # "not coming" is a phrase of its own even though "not" alone is a no.
    return " ".join(tokens) in phrases or (lead > 0 and (rest == "" or rest in phrases))


def read_reply(text: str) -> Answer:
    """Read a reply to a reminder as a confirmation, a decline, or anything else."""
    # Carrier keywords (STOP and friends) are the caller's job and come first: here STOP is just
    # OTHER. YES counts as a confirmation, which is fine because only opted-in numbers get here.
    if len(text) > _MAX_REPLY or "?" in text:
        return Answer.OTHER  # a question or a long message needs a person: it is forwarded
    tokens = _tokens(text)
    if not tokens:
        return Answer.OTHER
    # Only a plain answer counts: "yes but I'll be late" is forwarded so the caseworker sees it.
    if _answers(tokens, True, _CONFIRM_PHRASES):
        return Answer.CONFIRM
    if _answers(tokens, False, _DECLINE_PHRASES):
        return Answer.DECLINE
    return Answer.OTHER
