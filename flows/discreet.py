"""What the bot texts a young person: discreet by construction, and checked against the rules.

A young person's phone may be seen by the people harming them (DOMAIN.md): first names, a time
and the caseworker's place label only; never the service, gangs, risks or police; one GSM-7 segment.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from flows.reminders import ReminderKind
from flows.text import MAX_SINGLE, gsm_safe, is_gsm7, plain, segment_count

__all__ = [
    "DEFAULT_PLACE",
    "FORBIDDEN_WORDS",
    "cancelled_text",
    "cant_come_text",
    "check_discreet",
    "confirmed_text",
    "first_contact_text",
    "forwarded_text",
    "moved_text",
    "reminder_text",
    "saved_text",
]

DEFAULT_PLACE = "the usual place"

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


def saved_text(worker_name: str) -> str:
    """The answer to a Y to the first message: the number is saved; no session is confirmed by it."""
    return _fit(lambda _p, _y, worker: f"Thanks, got it. Speak soon, {worker}.",
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
