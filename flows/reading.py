"""How stored answers read back: in the referrer's summary (short words) and on the staff pages (full words)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, tzinfo
from typing import Any

import phonenumbers

__all__ = [
    "picked_of",
    "show_consent",
    "show_date",
    "show_flags",
    "show_language",
    "show_name",
    "show_optional",
    "show_phone",
    "show_yes_no",
    "staff_consent",
    "staff_date",
    "staff_language",
    "staff_name",
    "staff_phone",
    "staff_plain",
    "staff_yes_no_unknown",
]

NOT_KNOWN = "not known"


# --- the summary a referrer checks: words, short -------------------------------------------------


def show_date(value: str) -> str:
    return date.fromisoformat(value).strftime("%d/%m/%Y")


def show_yes_no(value: bool | None) -> str:
    return {True: "yes", False: "no", None: NOT_KNOWN}[value]


# From three choices up, picking every one reads "all": seven needs in words would crowd the summary.
_ALL_FROM = 3


def _words(picked: list[str], of: int) -> str:
    if not picked:
        return "none"
    return "all" if len(picked) == of >= _ALL_FROM else ", ".join(picked)


def picked_of(names: Sequence[str]) -> Callable[[list[str]], str]:
    """Chosen names in words ("gang activity, housing": what was picked, not the numbers typed)."""
    return lambda value: _words(value, len(names))


def show_flags(value: dict[str, bool | None]) -> str:
    """The names flagged yes, then what is not known: "social care, police; rest not known"."""
    picked = _words([name for name, flag in value.items() if flag], len(value))
    return f"{picked}; rest {NOT_KNOWN}" if any(flag is None for flag in value.values()) else picked


def show_language(value: dict[str, Any]) -> str:
    return str(value["language"]) + (", interpreter" if value["interpreter"] else "")


def show_consent(value: dict[str, Any]) -> str:
    return "yes" if value["agreed"] else "no"


def show_optional(value: str | None) -> str:
    return value if value else "-"


def show_name(value: dict[str, str | None]) -> str:
    """The name as the referrer gave it, and what they are called if it was given."""
    known = value.get("known_as")
    return f"{value['given']} ({known})" if known else str(value["given"])


def show_phone(value: str | None) -> str:
    """A UK number as people write it (07700 900123, 020 7946 0123); anything else as stored."""
    if not value:
        return "-"
    try:
        number = phonenumbers.parse(value, "GB")
    except phonenumbers.NumberParseException:
        return value
    if number.country_code != 44:
        return value
    # National format knows each area code's length (020, 0161, 01632...), so landlines group right.
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


# --- the staff pages: the same answers in full -----------------------------------------------------


def staff_plain(value: Any, tz: tzinfo) -> str:
    """An answer as staff read it: yes/no words, lists joined, flags named."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(value) if value else "None"
    if isinstance(value, dict):
        words = {True: "yes", False: "no", None: NOT_KNOWN}
        return "; ".join(f"{name}: {words.get(flag, flag)}" for name, flag in value.items())
    return str(value)


def staff_yes_no_unknown(value: bool | None, tz: tzinfo) -> str:
    return show_yes_no(value).capitalize()


def staff_date(value: str, tz: tzinfo) -> str:
    return show_date(value)


def staff_consent(value: dict[str, Any], tz: tzinfo) -> str:
    when = datetime.fromisoformat(value["at"]).astimezone(tz).strftime("%d %b %Y %H:%M")
    return f"{'Yes' if value['agreed'] else 'No'}, given by the {value['given_by']}, recorded {when}"


def staff_language(value: dict[str, Any], tz: tzinfo) -> str:
    return str(value["language"]) + (", needs an interpreter" if value["interpreter"] else "")


def staff_name(value: dict[str, str | None], tz: tzinfo) -> str:
    """As given, then split as the unit files it, and what they like to be called."""
    known = f"; known as: {value['known_as']}" if value.get("known_as") else ""
    return f"{value['given']} (first name: {value['first']}; last name: {value['last']}{known})"


def staff_phone(value: str | None, tz: tzinfo) -> str:
    return show_phone(value)

