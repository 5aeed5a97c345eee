"""Recognising the same young person referred twice: their name as it sounds, and the unit's decision.

Young people are often referred more than once (the hospital youth worker, then probation months
later), their names spelled differently each time: Jordan and Jordon, Smith-Jones and Smith Jones.
A name is reduced to how it sounds (metaphone, from jellyfish), with case, accents, hyphens, spaces
and apostrophes ignored; the store keeps only a keyed hash of that with the date of birth. The unit,
not the bot, decides whether two referrals are one person, and the referrer is never told.

Pure: no I/O, nothing from `bot/` or `store/`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

import jellyfish

from flows.questions import current_answers

__all__ = ["Decision", "name_key", "sound_of", "young_person_name"]


class Decision(StrEnum):
    """What the unit decided about two referrals flagged as possibly one young person (stored as the value)."""

    SAME = "same"
    DIFFERENT = "different"

    @property
    def label(self) -> str:
        return _LABELS[self]


_LABELS = {Decision.SAME: "Same person", Decision.DIFFERENT: "Different person"}


def young_person_name(details: Mapping[str, Any]) -> list[str] | None:
    """The words of the young person's name from a referral's details; None without a first and last name.

    The one place that knows which answer holds the name: the full name as given (referrals stored
    when it was two answers are read through `current_answers`), split at hyphens and spaces alike,
    not at the dialog's guess of where the first name ends: "Jordon SMITH JONES" then matches
    "Jordan Smith-Jones", and "Jean Paul Mbappe" matches "Jean-Paul Mbappé".
    """
    name = current_answers(dict(details)).get("yp_name") or {}
    given = name.get("given")
    if not isinstance(given, str):
        return None
    words = [word for word in re.split(r"[\s\-\u2010\u2011\u2013]+", given) if _letters(word)]
    return words if len(words) >= 2 else None


def _letters(name: str) -> str:
    """The name's letters only, lower case, accents dropped: "Smith-Jones", "smith jones" and "Smíth Jones" agree."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    return "".join(c for c in decomposed if c.isalpha())


def sound_of(name: str) -> str:
    """How a name sounds (its metaphone key): "Jordan" and "Jordon" both give JRTN.

    Metaphone knows only the Latin alphabet (it drops other letters, and Arabic or Cyrillic would
    come out empty): a name in another script is kept as its letters, so it matches its own spelling.
    """
    letters = _letters(name)
    if letters.isascii():
        return jellyfish.metaphone(letters) or letters
    return letters


def name_key(details: Mapping[str, Any]) -> str | None:
    """What two referrals of one young person share: the date of birth and how the whole name sounds.

    None when the details lack the date of birth or a name part: such a referral is matched by
    mobile only.
    """
    dob, words = details.get("dob"), young_person_name(details)
    if not isinstance(dob, str) or not dob or words is None:
        return None
    # The words run together, as hyphens and spaces fall where people choose: "Featherstone-Haugh".
    return f"{dob}|{sound_of(''.join(words))}"
