"""How a young person's reply to a reminder is read: Y confirms, N can't come, anything else goes to a person."""

from __future__ import annotations

import re
import string
from enum import StrEnum

from flows.parsing import Invalid, parse_yes_no
from flows.text import plain

__all__ = ["Answer", "read_reply"]


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
