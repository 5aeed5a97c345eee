"""Spotting messages that suggest someone is in immediate danger, wherever the chat is."""

from __future__ import annotations

import re

__all__ = ["suggests_immediate_danger"]

# Why this shape: referral answers are full of danger words used historically or as risk
# categories ("victim of stabbing last year", "risk of harm to others", "knife crime course").
# Those must not interrupt the referral, while "he's just been stabbed" must get the 999 answer
# at once. So there are three kinds of pattern:
#   _ALWAYS    first-person intent: fire wherever they appear;
#   _CALLS     calls for help ("help me", "call an ambulance"): fire unless framed as a request or a
#              plan ("can you help me", "I know to call 999"), which is how people ask for the service;
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
        r"\b999 now\b",
        r"(?<!not an )(?<!not a )(?<!no )(?<!in an )(?<!case of an )\bemergency\b"
        r"(?! (accommodation|housing|placement|contact|foster|protection|duty|appointment|service|number|line))",
        r"\bimmediate danger\b",
        r"\bin danger (right )?now\b",
        r"\b(end|ending) it (all|tonight|now|today)\b",
        r"\b(about|going|gonna) to (jump|do it|end it)\b",
        r"\b(standing|i'm|im|i am) on (the|a) (bridge|roof|ledge|edge|platform)\b",
        r"\b(going to|gonna|want to|wanna|about to|will) (hurt|harm|cut|burn) my ?self\b",
        r"\bhelp( me| us)? ?!{2,}",
    )
]

_CALLS = [
    re.compile(p, _F)
    for p in (
        r"\b(help me|help us|help him|help her|please help|pl[sz] help|some(one|body) help|need help (now|asap|"
        r"urgently|quick))\b(?! (me |us |him |her )?(with|to|refer|fill|complete|understand|make|find|out with|get|"
        r"getting|leave|leaving|into|in the|know|sort|apply|change|stop)\b)",
        r"\b(call|ring|dial|phone|need|get) (an? |the )?(999|ambulance|police)\b",
    )
]

# Words before a call for help that make it a request or a plan, not a cry: "can u help me",
# "is there someone who can help me", "I'll call 999 if anything happens".
_REQUEST_FRAMING = re.compile(
    r"\b(can|could|would|will|do|does|who|how|to|if|i'?ll|i will|i'?d|should|ask(ing)? for|looking for)\s+"
    r"((you|u|ya|someone|somebody|anyone|anybody|they|one)\s+)?((please|pls|plz|just|possibly|maybe)\s+)?$",
    _F,
)

_INJURED = r"(stabbed|shot|knifed|shanked|attacked|jumped|beaten( up)?|kidnapped|assaulted)"
_WEAPON = (r"(an? |his |her |their )?(knife|knives|nife|nives|knif|gun|guns|blade|blades|machete|machette|mashete|"
           r"weapon|firearm|shank|strap|shotgun|pistol)")
_VICTIM = r"(me|him|her|us|them|my \w+|his \w+|her \w+|our \w+)"
_THEM = r"(they|they've|theyve|they have|he|he's|hes|he has|she|she's|she has|someone|somebody|some ?one|man|men)"

_CURRENT = [
    re.compile(p, _F)
    for p in (
        r"\b(been|being|getting|got|is|are|s|re) " + _INJURED + r"\b",
        r"\b(being|bein|getting|gettin) (chased|followed|threatened|hunted|held|robbed|raped)\b",
        r"\b" + _THEM + r" (just )?(stabbed|shot|knifed|shanked|jumped|attacked|kidnapped|beat|battered) " + _VICTIM
        + r"\b",
        r"\b(beating|stabbing|shooting|attacking|hitting|kicking|robbing|chasing|following|battering) "
        r"(me|him|her|us)\b",
        r"\b(coming|comin|on their way) (for|after|to get) (me|him|her|us)\b",
        r"\b(they're|theyre|they are|he's|hes|he is|she's|she is|people are|man is|men are) after (me|him|her|us)\b",
        r"\b(kicked|kicking|smashed|smashing|broke|breaking|booted|booting) (in )?(my|the|our) (door|window)",
        r"\btrying to (get|break|kick the door) in\b",
        r"\b(won'?t|wont|will not) let (me|him|her|us) (leave|go|out)\b",
        r"\b(i'm|im|i am|we're|we are|he's|hes|he is|she's|she is) (locked|trapped) in\b(?! (the|a) (gang|cycle|life))",
        r"\b(they're|theyre|they are) holding (me|him|her|us)\b",
        r"\bbleeding\b",
        r"\bblood (everywhere|all over)\b",
        r"\b(cutting|cut|hurting|harming|burning|burnt|burned) (my|him|her)sel(f|ves)\b",
        r"\b(taken|took|swallowed|necked) (a load of |loads of |all (my|the|his|her) |a lot of |too many |some )?"
        r"(pills|tablets|paracetamol)\b",
        r"\bsuicidal\b",
        r"\b(overdos(e|ed|ing)|od'?d)\b",
        r"\b(not breathing|can'?t breathe|unconscious|dying)\b",
        r"\b(has|have|got|with|holding|pulled|pulling|waving) " + _WEAPON + r"\b(?! crime)",
        r"\b(going to|gonna|gna|will|threatening to|threatens to|wants? to) "
        r"(kill|stab|shoot|murder|hurt) (me|him|her|them|us|you)\b",
        r"\b(going to|gonna|threatening to|threatens to) (kill|stab|shoot|murder)\b",
        r"\b(kill|stab|shoot) (him|her|them)sel(f|ves)\b",
        r"\b(in|into) (real |serious |grave )?danger\b(?! (of|if))",
        r"\boutside (with|my (house|home|flat|door|school|college|work))\b",
        r"\b(they|he|she)('re|'s| are| is| re| s) (outside|at the door)\b(?! (of )?london)",
        r"\b(theyre|hes|shes) (outside|at the door)\b(?! (of )?london)",
        r"\bshot at (me|us|him|her|them)\b",
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
    r"awareness|denies|denied|not|no|never|(could|may|might|would)( well)? be)\s*(being\s+|getting\s+|in\s+)?$",
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


def _fires(pattern: re.Pattern[str], text: str, *, dated_ok: bool, needs_now: bool, request_ok: bool = False) -> bool:
    """Return True if the pattern matches somewhere that reads as happening now."""
    for match in pattern.finditer(text):
        before = text[max(0, match.start() - 30) : match.start()]
        if _RISK_FRAMING.search(before):
            continue
        if request_ok and _REQUEST_FRAMING.search(before) and _distance(text, match, _NOW, 3) is None:
            continue  # "can you help me" asks for the service; "can someone help me now" is still a cry
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
        or any(_fires(p, message, dated_ok=True, needs_now=False, request_ok=True) for p in _CALLS)
        or any(_fires(p, message, dated_ok=False, needs_now=False) for p in _CURRENT)
        or any(_fires(p, message, dated_ok=False, needs_now=True) for p in _NOW_ONLY)
    )
