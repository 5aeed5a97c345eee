"""Spotting messages that suggest someone is in immediate danger, wherever the chat is."""

from __future__ import annotations

import re

__all__ = ["suggests_immediate_danger"]

# Why this shape: referral answers are full of danger words used historically or as risk
# categories ("victim of stabbing last year", "risk of harm to others", "knife crime course").
# Those must not interrupt the referral, while "he's just been stabbed" must get the 999 answer
# at once. So there are three kinds of pattern:
#   _ALWAYS    first-person intent and calls for help: fire wherever they appear;
#   _CURRENT   danger in a present or just-now form ("been stabbed", "has a knife", "bleeding"):
#              fire unless a past marker ("in 2024", "months ago") sits near it, with no
#              "just"/"now" near it to say it's happening again;
#   _NOW_ONLY  plain past tense ("was stabbed", "carrying a knife"): fire only with a nearby
#              "just", "now", "tonight"...
# A match straight after "risk of", "fear of", "history of", "not" and the like describes a risk
# or its absence, not an event, and is ignored. A false alarm costs one safety message; a miss
# costs more, so when in doubt, fire.

_F = re.IGNORECASE

_ALWAYS = [
    re.compile(p, _F)
    for p in (
        r"\bkill(ing)? (my ?self|me)\b",
        r"\b(end|take|taking|ending) my (own )?life\b",
        r"\b(want|wanna|going|gonna) (to )?die\b",
        r"\b(help me|help us|please help|some(one|body) help|need help (now|asap|urgently|quick))"
        r"\b(?! (with|to|refer|fill|complete|understand|make|find|out with)\b)",
        r"\b(call|ring|dial|phone|need|get) (an? |the )?(999|ambulance|police)\b",
        r"\b999 now\b",
        r"(?<!not an )(?<!not a )(?<!no )\bemergency\b"
        r"(?! (accommodation|housing|placement|contact|foster|protection|duty|appointment))",
        r"\bimmediate danger\b",
        r"\bin danger (right )?now\b",
    )
]

_INJURED = r"(stabbed|shot|knifed|shanked|attacked|jumped|beaten( up)?|kidnapped|assaulted)"
_WEAPON = r"(an? |his |her |their )?(knife|knives|gun|blade|machete|weapon|firearm|shank|strap)"

_CURRENT = [
    re.compile(p, _F)
    for p in (
        r"\b(been|being|getting|got|is|are|s|re) " + _INJURED + r"\b",
        r"\bbeing (chased|followed|threatened|hunted|held|robbed|raped)\b",
        r"\bbleeding\b",
        r"\bsuicidal\b",
        r"\b(overdos(e|ed|ing)|od'?d)\b",
        r"\b(not breathing|can'?t breathe|unconscious|dying)\b",
        r"\b(has|have|got|with|holding|pulled|pulling|waving) " + _WEAPON + r"\b(?! crime)",
        r"\b(going to|gonna|gna|will|threatening to|threatens to|wants? to) "
        r"(kill|stab|shoot|murder|hurt) (me|him|her|them|us|you)\b",
        r"\b(going to|gonna|threatening to|threatens to) (kill|stab|shoot|murder)\b",
        r"\b(kill|stab|shoot) (him|her|them)sel(f|ves)\b",
        r"\b(in|into) (real |serious |grave )?danger\b(?! of)",
        r"\boutside (with|my (house|home|flat|door|school|college|work))\b",
        r"\b(they|he|she)('re|'s| are| is| re| s) (outside|at the door)\b(?! (of )?london)",
    )
]

_NOW_ONLY = [
    re.compile(p, _F)
    for p in (
        r"\b(was|were) (just )?" + _INJURED + r"\b",
        r"\bcarrying " + _WEAPON + r"\b(?! crime)",
    )
]

_NOW = re.compile(
    r"\b(just|now|right now|currently|at the moment|atm|tonight|today|this (morning|afternoon|"
    r"evening)|happening|still|minutes? ago|an hour ago)\b",
    _F,
)

_MONTH = r"(january|february|march|april|may|june|july|august|september|october|november|december)"
_PAST = re.compile(
    r"\b(19|20)[0-9]{2}\b"
    r"|\blast (year|month|week|summer|winter|spring|autumn|christmas|term|" + _MONTH + r")\b"
    r"|\b(years?|months?|weeks?) ago\b"
    r"|\b(in|since|during) " + _MONTH + r"\b"
    r"|\b(previously|previous|in the past|history of|historic(al)?|as a child|used to|before)\b",
    _F,
)

# Words that turn the danger word after them into a risk description, not an event.
_RISK_FRAMING = re.compile(
    r"\b(risk of|at risk|risks? (to|from)|fear of|fears|afraid of|scared of|worried about|"
    r"worries about|concerns? (about|of)|vulnerable to|prevent(ing)?|avoid(ing)?|history of|"
    r"awareness|denies|denied|not|no|never)\s*(being\s+|getting\s+|in\s+)?$",
    _F,
)

_NOW_REACH = 25  # "just been stabbed": the marker sits right by the event
_PAST_REACH = 60  # "stabbed in the leg outside college in 2024": the date can trail a clause


def _distance(text: str, match: re.Match[str], marker: re.Pattern[str], reach: int) -> int | None:
    """Return how many characters separate the match from the nearest marker within reach."""
    start = max(0, match.start() - reach)
    end = min(len(text), match.end() + reach)
    # Widen to whole words so a slice never turns "know" into "now".
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    gaps = [
        max(match.start() - found.end(), found.start() - match.end(), 0)
        for found in marker.finditer(text, start, end)
    ]
    return min(gaps, default=None)


def _fires(pattern: re.Pattern[str], text: str, *, dated_ok: bool, needs_now: bool) -> bool:
    """Return True if the pattern matches somewhere that reads as happening now."""
    for match in pattern.finditer(text):
        if _RISK_FRAMING.search(text[max(0, match.start() - 30) : match.start()]):
            continue
        now = _distance(text, match, _NOW, _NOW_REACH)
        past = None if dated_ok else _distance(text, match, _PAST, _PAST_REACH)
        # When both are near ("was stabbed in 2024, currently on probation"), the closer wins.
        if now is not None and (past is None or now < past):
            return True
        if now is None and past is None and not needs_now:
            return True
    return False


def suggests_immediate_danger(text: str) -> bool:
    """Return True if the message suggests someone is in danger right now."""
    # A cry for help is short; the cut keeps regex work bounded on huge messages.
    message = " ".join(text[:2000].replace("\u2019", "'").replace("\u2018", "'").split())
    return (
        any(_fires(p, message, dated_ok=True, needs_now=False) for p in _ALWAYS)
        or any(_fires(p, message, dated_ok=False, needs_now=False) for p in _CURRENT)
        or any(_fires(p, message, dated_ok=False, needs_now=True) for p in _NOW_ONLY)
    )
