"""Answer parsers: each turns what a person typed into a value, or raises Invalid.

Exceptions:

    ValueError
     +-- Invalid          the answer can't be used; .hint says what to send instead
          +-- Ambiguous   the answer fits more than one option; .options lists them
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from datetime import date

import phonenumbers
from phonenumbers import PhoneNumberType

__all__ = [
    "Ambiguous",
    "Invalid",
    "age_on",
    "is_skip",
    "parse_choice",
    "parse_date",
    "parse_email",
    "parse_full_name",
    "parse_name",
    "parse_numbers",
    "parse_short_text",
    "parse_uk_mobile",
    "parse_uk_phone",
    "parse_yes_no",
    "parse_yes_no_unknown",
]


class Invalid(ValueError):
    """An answer that can't be used; `hint` is a short, kind, GSM-7 message for the user."""

    def __init__(self, hint: str | None = None) -> None:
        super().__init__(hint or "invalid answer")
        self.hint = hint


class Ambiguous(Invalid):
    """An answer that matches more than one option; `options` holds the candidates."""

    def __init__(self, options: Sequence[str], hint: str | None = None) -> None:
        super().__init__(hint)
        self.options: tuple[str, ...] = tuple(options)


# --- shared helpers ---------------------------------------------------------------------------

_APOSTROPHES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})


# Bidirectional overrides can make stored text display differently from what was typed.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _collapse(text: str) -> str:
    """Return text with control characters dropped, whitespace runs made single, and trimmed."""
    spaced = "".join(" " if c.isspace() else c for c in text)
    kept = "".join(
        c
        for c in spaced
        if unicodedata.category(c) not in ("Cc", "Cs") and c not in _BIDI_CONTROLS
    )
    return " ".join(kept.split())


def _words(text: str) -> list[str]:
    """Return lower-case words with apostrophes removed and other punctuation as spaces."""
    lowered = text.translate(_APOSTROPHES).lower().replace("'", "")
    return re.findall(r"[^\W_]+", lowered)


# --- dates ------------------------------------------------------------------------------------

_MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)
_DATE_HINT = "Please send the date like 14/02/2006."
_DAY_FIRST_HINT = "Please put the day first, like 14/02/2006."

_ISO = re.compile(r"([0-9]{4})[-/.]([0-9]{1,2})[-/.]([0-9]{1,2})")
_NUMERIC = re.compile(r"([0-9]{1,2})(?:st|nd|rd|th)?[\s/.\-]+([0-9]{1,2})[\s/.\-]+([0-9]+)")
_COMPACT = re.compile(r"([0-9]{2})([0-9]{2})([0-9]{4})")
_NAMED = re.compile(
    r"([0-9]{1,2})(?:st|nd|rd|th)?[\s/.\-,]*(?:of\s+)?([a-z]+)\.?[\s/.\-,]*([0-9]+)"
)

_NO_YEAR = re.compile(r"[0-9]{1,2}(?:st|nd|rd|th)?[\s/.\-]*[a-z]*\.?|[0-9]{1,2}[/.\-][0-9]{1,2}")


def _month_number(word: str) -> int:
    """Return 1-12 for an English month name, abbreviation or near-miss spelling."""
    if len(word) >= 3:
        for number, name in enumerate(_MONTHS, start=1):
            if name.startswith(word) or (word == "sept" and number == 9):
                return number
        # Typing slips like "febuary" or "feburary" are common enough to forgive.
        close = difflib.get_close_matches(word, _MONTHS, n=1, cutoff=0.8)
        if close:
            return _MONTHS.index(close[0]) + 1
    raise Invalid(_DATE_HINT)


def _full_year(digits: str, month: int, day: int, today: date) -> int:
    """Return a four-digit year, picking the century that keeps a two-digit year in the past."""
    if len(digits) == 4:
        return int(digits)
    if len(digits) != 2:
        raise Invalid(_DATE_HINT)
    year = today.year // 100 * 100 + int(digits)
    if (year, month, day) > (today.year, today.month, today.day):
        year -= 100
    return year


def _hundred_years_before(today: date) -> date:
    """Return the same day a hundred years earlier (28 Feb when that year has no 29 Feb)."""
    try:
        return today.replace(year=today.year - 100)
    except ValueError:
        return date(today.year - 100, 2, 28)


def _split_date(text: str) -> tuple[int, int, str]:
    """Return (day, month, year digits) from a UK or ISO date, refusing US order."""
    if m := _ISO.fullmatch(text):
        return int(m[3]), int(m[2]), m[1]
    if m := _NUMERIC.fullmatch(text) or _COMPACT.fullmatch(text):
        day, month = int(m[1]), int(m[2])
        if month > 12:
            # 02/14/2006 is American order; say so rather than guess.
            raise Invalid(_DAY_FIRST_HINT)
        return day, month, m[3]
    if m := _NAMED.fullmatch(text):
        return int(m[1]), _month_number(m[2]), m[3]
    if _NO_YEAR.fullmatch(text):
        raise Invalid("Please include the year, like 14/02/2006.")
    raise Invalid(_DATE_HINT)


def parse_date(text: str, today: date) -> date:
    """Parse a UK day-first date (or ISO year-first) that is not in the future."""
    cleaned = _collapse(text).lower()
    if len(cleaned) > 40:
        raise Invalid(_DATE_HINT)
    day, month, year_digits = _split_date(cleaned)
    year = _full_year(year_digits, month, day, today)
    try:
        parsed = date(year, month, day)
    except ValueError:
        raise Invalid("That date doesn't exist. Please check the day and month.") from None
    if parsed > today:
        raise Invalid("That date is in the future.")
    if parsed < _hundred_years_before(today):
        raise Invalid("That date is more than 100 years ago. Please check the year.")
    return parsed


def age_on(born: date, day: date) -> int:
    """Return age in full years on `day`; a 29 Feb birthday comes on 1 Mar in other years."""
    not_yet = (day.month, day.day) < (born.month, born.day)
    return day.year - born.year - not_yet


# --- phone numbers ----------------------------------------------------------------------------

_MOBILE_HINT = "Please send a UK mobile number, like 07700 900123."
_PHONE_HINT = "Please send a UK phone number, like 020 7946 0000."
_LANDLINE_HINT = "That looks like a landline. Please send a mobile number."
_MOBILE_TYPES = (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE)
# Mobile ranges 071-075 and 077-079. 070 (personal numbers) and 076 (pagers) are not mobiles.
_MOBILE_SHAPE = re.compile(r"7[1-57-9][0-9]{8}")
_GEOGRAPHIC_SHAPE = re.compile(r"[123][0-9]{9}")


def _parse_gb(text: str, hint: str) -> phonenumbers.PhoneNumber:
    """Parse a +44 number typed with spaces, dashes, brackets, dots, +44 or 0044."""
    stripped = text.strip()
    allowed = all(
        c.isspace() or c in "+-()./" or unicodedata.decimal(c, None) is not None for c in stripped
    )
    digits = sum(unicodedata.decimal(c, None) is not None for c in stripped)
    # Letters are refused outright: phonenumbers would read "0800 FLOWERS" as digits.
    if not stripped or not allowed or not 9 <= digits <= 15:
        raise Invalid(hint)
    try:
        number = phonenumbers.parse(stripped, "GB")
    except phonenumbers.NumberParseException:
        raise Invalid(hint) from None
    # Jersey, Guernsey and the Isle of Man share +44; their numbers are UK-dialable.
    if number.country_code != 44:
        raise Invalid(hint)
    return number


def _e164(number: phonenumbers.PhoneNumber) -> str:
    """Return the number in E.164 form."""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _looks_allocated_later(number: phonenumbers.PhoneNumber, shape: re.Pattern[str]) -> bool:
    """Return True for a possible number of the right shape that phonenumbers calls invalid."""
    # phonenumbers rejects Ofcom's drama ranges (07700 900xxx, the brief's own example) and
    # ranges allocated after its metadata was built; a well-shaped possible number is enough.
    return phonenumbers.is_possible_number(number) and bool(
        shape.fullmatch(str(number.national_number))
    )


def parse_uk_mobile(text: str) -> str:
    """Parse a UK mobile number into E.164 (+447700900123), refusing landlines."""
    number = _parse_gb(text, _MOBILE_HINT)
    if phonenumbers.is_valid_number(number):
        kind = phonenumbers.number_type(number)
        if kind in _MOBILE_TYPES:
            return _e164(number)
        if kind == PhoneNumberType.FIXED_LINE:
            raise Invalid(_LANDLINE_HINT)
        raise Invalid(_MOBILE_HINT)
    if _looks_allocated_later(number, _MOBILE_SHAPE):
        return _e164(number)
    if _looks_allocated_later(number, _GEOGRAPHIC_SHAPE):
        raise Invalid(_LANDLINE_HINT)
    raise Invalid(_MOBILE_HINT)


def parse_uk_phone(text: str) -> str:
    """Parse any UK phone number, mobile or landline, into E.164."""
    number = _parse_gb(text, _PHONE_HINT)
    if phonenumbers.is_valid_number(number):
        return _e164(number)
    if _looks_allocated_later(number, _MOBILE_SHAPE) or _looks_allocated_later(
        number, _GEOGRAPHIC_SHAPE
    ):
        return _e164(number)
    raise Invalid(_PHONE_HINT)


# --- yes / no ---------------------------------------------------------------------------------

_YES_NO_HINT = "Please reply Y for yes or N for no."
_YES_NO_UNKNOWN_HINT = "Please reply Y for yes, N for no, or DK if you don't know."

_YES_WORDS = frozenset(
    "yes y ye yeah yea yeh yep yup ya yah yh ok okay k sure correct true aye affirmative "
    "definitely absolutely certainly".split()
)
_NO_WORDS = frozenset("no n nope nah naw na false never negative".split())
# Phrases checked before the first word decides, longest first, so "no idea" is not a no and
# "of course not" is not a yes.
_PHRASES: tuple[tuple[str, bool | None], ...] = (
    ("i dont know", None), ("i do not know", None), ("dont know", None), ("do not know", None),
    ("not known", None), ("not sure", None), ("no idea", None), ("no clue", None),
    ("unknown", None), ("unsure", None), ("idk", None), ("dk", None), ("dunno", None),
    ("of course not", False), ("absolutely not", False), ("definitely not", False),
    ("certainly not", False), ("not really", False), ("not at all", False), ("not", False),
    ("of course", True), ("that is right", True), ("thats right", True), ("go ahead", True),
)
_EMOJI = {
    "\U0001f44d": " yes ", "\u2705": " yes ", "\u2714": " yes ", "\u2611": " yes ",
    "\U0001f44e": " no ", "\u274c": " no ", "\u2716": " no ", "\u274e": " no ",
}
_EMOJI_MODIFIERS = re.compile("[\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")


def _yes_no_unknown(text: str, hint: str) -> bool | None:
    """Return True, False or None (don't know), or raise Invalid with `hint`."""
    stripped = _EMOJI_MODIFIERS.sub("", text.strip())
    if len(stripped) > 200:
        raise Invalid(hint)
    for emoji, word in _EMOJI.items():
        stripped = stripped.replace(emoji, word)
    words = _words(stripped)
    if not words:
        if stripped and set(stripped) <= set("?!. "):
            return None  # a bare "?" means "I don't know"
        raise Invalid(hint)
    joined = " ".join(words)
    for phrase, meaning in _PHRASES:
        if joined == phrase or joined.startswith(phrase + " "):
            return meaning
    first, rest = words[0], set(words[1:])
    # The first word decides only when the rest doesn't say the opposite ("yes no", "y/n").
    if first in _YES_WORDS and not rest & _NO_WORDS:
        return True
    if first in _NO_WORDS and not rest & _YES_WORDS:
        return False
    raise Invalid(hint)


def parse_yes_no(text: str) -> bool:
    """Parse a yes or no answer in the ways people text it (y, yeah, nah, emoji...)."""
    answer = _yes_no_unknown(text, _YES_NO_HINT)
    if answer is None:
        raise Invalid(_YES_NO_HINT)
    return answer


def parse_yes_no_unknown(text: str) -> bool | None:
    """Parse yes, no, or don't know (None)."""
    return _yes_no_unknown(text, _YES_NO_UNKNOWN_HINT)


# --- numbered choices -------------------------------------------------------------------------

_NONE_WORDS = frozenset({"none", "0", "no", "nil", "n/a", "na", "nothing", "neither"})


def _range_hint(highest: int) -> str:
    """Return the hint for numbers outside 1..highest."""
    example = ", like 1 3" if highest >= 3 else ""
    return f"Please send numbers from 1 to {highest}{example}."


def parse_numbers(text: str, highest: int) -> tuple[int, ...]:
    """Parse a set of numbered choices ("1 4 7", "1,4 and 7", "147") into a sorted tuple."""
    cleaned = _collapse(text).lower().rstrip(".!")
    if not cleaned:
        raise Invalid(_range_hint(highest))
    if cleaned in _NONE_WORDS:
        return ()
    if len(cleaned) > 200 or not re.fullmatch(r"(?:[0-9]|and|to|[\s,;&+/.\-])+", cleaned):
        raise Invalid(_range_hint(highest))
    # "2-4" and "2 to 4" are ranges; every other separator just separates.
    cleaned = re.sub(r"([0-9]+)\s*(?:-|\bto\b)\s*([0-9]+)", r"\1:\2", cleaned)
    chosen: set[int] = set()
    for token in re.findall(r"[0-9]+(?::[0-9]+)?", cleaned):
        chosen.update(_expand(token, highest))
    if not chosen or not all(1 <= n <= highest for n in chosen):
        raise Invalid(_range_hint(highest))
    return tuple(sorted(chosen))


def _expand(token: str, highest: int) -> list[int]:
    """Return the numbers one token stands for: "147" -> 1,4,7 when highest <= 9; "2:4" -> 2,3,4."""
    if ":" in token:
        low, high = (_expand(part, highest) for part in token.split(":"))
        if len(low) != 1 or len(high) != 1 or low[0] > high[0]:
            raise Invalid(_range_hint(highest))
        return list(range(low[0], high[0] + 1))
    if highest <= 9:
        return [int(d) for d in token]
    if len(token) > len(str(highest)):
        raise Invalid(_range_hint(highest))
    return [int(token)]


def _option_key(text: str) -> str:
    """Return text lower-cased with punctuation as spaces, for comparing with options."""
    return " ".join(_words(text))


def parse_choice(text: str, options: Sequence[str]) -> int:
    """Parse one choice by its 1-based number or its text (a unique word prefix will do)."""
    hint = f"Please send a number from 1 to {len(options)}."
    answer = _option_key(text[:200])
    if not answer:
        raise Invalid(hint)
    if answer.isdecimal() and answer.isascii():
        if len(answer) <= 3 and 1 <= int(answer) <= len(options):
            return int(answer)
        raise Invalid(hint)
    keys = [_option_key(option) for option in options]
    if answer in keys:
        return keys.index(answer) + 1
    # A match must start at a word of the option: "vol" or "mentor" for "Volunteer mentor".
    found = [i for i, key in enumerate(keys, start=1) if f" {key}".find(f" {answer}") >= 0]
    if len(found) == 1:
        return found[0]
    if found:
        raise Ambiguous([options[i - 1] for i in found], hint)
    raise Invalid(hint)


# --- free text --------------------------------------------------------------------------------

_EMAIL_HINT = "Please send an email address like name@example.org."
_EMAIL = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+"
    r"[A-Za-z]{2,63}"
)


def parse_email(text: str) -> str:
    """Parse an email address, lower-casing the domain."""
    address = text.strip().removeprefix("mailto:").rstrip(".")
    if len(address) > 254 or not _EMAIL.fullmatch(address) or ".." in address:
        raise Invalid(_EMAIL_HINT)
    local, domain = address.split("@")
    if local.startswith(".") or local.endswith("."):
        raise Invalid(_EMAIL_HINT)
    return f"{local}@{domain.lower()}"


_NAME_PUNCTUATION = frozenset(" -'.")


def parse_name(text: str, max_len: int = 60) -> str:
    """Parse a person's name: letters of any script, spaces, hyphens, apostrophes and dots."""
    name = unicodedata.normalize("NFC", _collapse(text).translate(_APOSTROPHES))
    if not any(c.isalpha() for c in name):
        raise Invalid("Please send the name using letters.")
    if len(name) > max_len:
        raise Invalid(f"Please keep it under {max_len} characters.")
    # Combining marks are allowed so names typed in decomposed form (or in Indic scripts) pass.
    if not all(
        c.isalpha() or c in _NAME_PUNCTUATION or unicodedata.category(c).startswith("M")
        for c in name
    ):
        raise Invalid("Please send just the name, using letters.")
    return name


# Words that belong to the surname after them: "Jean de la Cruz" is Jean, de la Cruz.
_SURNAME_PARTICLES = frozenset("de da del della der di du la le van von ten ter al el bin ibn bint ap mac st".split())


def parse_full_name(text: str, max_len: int = 80) -> dict[str, str]:
    """Parse a full name in one message: kept as given, and split into first and last name.

    The last name is the last word with any particles before it ("van der Berg"); the first name is
    everything before that (a middle name stays with the first name, where the unit looks for it).
    """
    given = parse_name(text, max_len)
    words = given.split(" ")
    if len(words) < 2:
        raise Invalid("Please send their first and last name, e.g. Jay Smith.")
    cut = len(words) - 1
    while cut > 1 and words[cut - 1].lower() in _SURNAME_PARTICLES:
        cut -= 1
    return {"given": given, "first": " ".join(words[:cut]), "last": " ".join(words[cut:])}


def parse_short_text(text: str, max_len: int) -> str:
    """Parse a short free-text note: trimmed, single-spaced, no control characters."""
    note = _collapse(text)
    if not note:
        raise Invalid("Please send a short answer.")
    if len(note) > max_len:
        raise Invalid(f"Please keep it under {max_len} characters.")
    return note


_SKIP_WORDS = frozenset({"skip", "-", "--", "n/a", "na", "none", "nothing", "nil"})


def is_skip(text: str) -> bool:
    """Return True if the answer means "skip this question" (SKIP, -, n/a, none...)."""
    answer = _collapse(text).lower().translate(_APOSTROPHES)
    answer = re.sub(r"[\u2013\u2014]", "-", answer)
    if answer in _SKIP_WORDS:
        return True
    return answer.replace(".", "").rstrip("!") in _SKIP_WORDS
