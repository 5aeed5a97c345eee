"""A first message with details ("I want to refer Jordan, DOB 14/02/2006, lives in Lambeth"): what it safely gives.

Only what is unmistakable is taken: a date of birth said to be one ("DOB", "born"), and a London
borough said to be where they live ("lives in Lambeth", "borough: Lambeth"), each read by its
question's own parser. Two different ones, a date with no such words, a place outside London (they
may still be linked to a borough), a near-miss spelling: nothing is taken, and the question is asked.
"""

from __future__ import annotations

import re

from flows.boroughs import exact_borough
from flows.model import Answers, Context
from flows.parsing import Invalid
from flows.questions import BY_KEY

__all__ = ["details_in", "got_it_text"]

_DATE = (
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"|[0-9]{1,2}(?:st|nd|rd|th)?(?:[/.\-][0-9]{1,2}[/.\-]|\s+[0-9]{1,2}\s+"
    r"|[\s/.\-,]*(?:of\s+)?[a-z]{3,9}\.?[\s/.\-,]*)[0-9]{2,4}"
    r"|[0-9]{8}"
)
_DOB = re.compile(
    r"(?<![^\W_])(?:d\.?o\.?b\.?|date\s+of\s+birth|born(?:\s+on)?|birthday)\s*(?:is\s+|was\s+|[:=\-]\s*)?"
    # Not "14/02/2006 or 15/02/2006", nor "14/02/2006?": a date the referrer is unsure of is asked for.
    rf"({_DATE})(?![0-9])(?!\s*(?:\?|or\b|maybe\b|possibly\b|i think\b))",
    re.IGNORECASE,
)
_LIVES = re.compile(
    r"(?<![^\W_])(?:(?:lives|living|lived|resides|resident|based|staying|stays|housed)\s+(?:in|at)\s+"
    r"(?:the\s+)?(?:borough\s+of\s+)?|borough\s*(?:is\s+|[:=\-]\s*))([^\n,.;:!?()]+)",
    re.IGNORECASE,
)
# "lives in Kingston upon Thames with his nan": the borough is in the first few words after the cue.
_PLACE_WORDS = 8
_LONGEST_NAME = 4


def _dob(text: str, ctx: Context) -> set[str]:
    found = set()
    for match in _DOB.finditer(text):
        try:
            found.add(BY_KEY["dob"].read(match[1], ctx))
        except Invalid:
            continue  # not a date the dialog would take: asked, not guessed
    return found


def _borough(text: str, ctx: Context) -> set[str]:
    """Every borough named in the words after "lives in" (so "Lambeth or Croydon" gives two), as the parser reads it."""
    found = set()
    for match in _LIVES.finditer(text):
        words = match[1].split()[:_PLACE_WORDS]
        for start in range(len(words)):
            for size in range(min(_LONGEST_NAME, len(words) - start), 0, -1):
                place = " ".join(words[start : start + size])
                named = exact_borough(place)
                if named is None:
                    continue
                try:
                    read = BY_KEY["borough"].read(place, ctx)
                except Invalid:
                    read = None
                # The dialog's parser must read it the same way; if not, it is not unmistakable.
                found.add(read if read == named else "")
                break
    return found


def details_in(text: str, ctx: Context) -> Answers:
    """The date of birth and the borough a first message gives unmistakably, in question order."""
    details: Answers = {}
    for key, found in (("dob", _dob(text[:2000], ctx)), ("borough", _borough(text[:2000], ctx))):
        if len(found) == 1 and (value := found.pop()):
            details[key] = value
    return details


def got_it_text(described: str) -> str:
    return f"Got it: {described}."
