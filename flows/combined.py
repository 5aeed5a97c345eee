"""Answers given in one text that used to take two or three: how each is read, shown, and read from old keys.

A busy referrer answers "Youth worker, Lambeth YOT" or "07700 900123 1 2 after 4pm" in one go
(DOMAIN.md, "Referrers are busy"). Each such answer is stored under one key as one JSON value; the
referrals and drafts stored before, with the parts under keys of their own, are read into the same
shapes by `from_old_keys`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import tzinfo
from typing import Any

from flows.model import Answers
from flows.parsing import (
    Invalid,
    is_skip,
    parse_full_name,
    parse_name,
    parse_numbers,
    parse_short_text,
    parse_uk_mobile,
    parse_yes_no,
)
from flows.reading import show_phone

__all__ = [
    "CONTACT_WAYS",
    "OLD_KEYS",
    "RISKS",
    "from_old_keys",
    "mobile_of",
    "organisation_of",
    "parse_contact",
    "parse_gang_risks",
    "parse_job",
    "parse_name_known_as",
    "parse_numbers_then_note",
    "parse_urgency_notes",
    "safe_to_text",
    "show_contact",
    "show_gang_risks",
    "show_job",
    "show_numbers_note",
    "show_urgency_notes",
    "staff_contact",
    "staff_gang_risks",
    "staff_job",
    "staff_numbers_note",
    "staff_urgency_notes",
]

RISKS = ("harm from gangs", "risk to self", "risk to others")
CONTACT_WAYS = ("text", "call", "voicemail")

_SEPARATORS = " ,;:.-"


# --- reading -----------------------------------------------------------------------------------

_YES_NO_FIRST = re.compile(r"\s*(y|yes|yeah|yep|yup|n|no|nope|nah)\b[\s,;:.!\-]*(.*)", re.IGNORECASE | re.DOTALL)


def parse_gang_risks(text: str) -> dict[str, Any]:
    """ "Y 1 3", "yes, 1 and 3", "1 3" (numbers say yes), "N": gang involvement and which risks apply."""
    first = _YES_NO_FIRST.fullmatch(text)
    if first is not None:
        involved, rest = first.group(1).lower().startswith("y"), first.group(2).strip()
    else:
        try:
            # Numbers alone answer "which apply", so they say yes to the gang question too.
            return {"involved": True, "risks": _names(parse_numbers(text, len(RISKS)), RISKS)}
        except Invalid:
            involved, rest = parse_yes_no(text), ""
    if not involved:
        return {"involved": False, "risks": []}
    if not rest:
        raise Invalid("Please add which apply.")
    return {"involved": True, "risks": _names(parse_numbers(rest, len(RISKS)), RISKS)}


def parse_job(text: str) -> dict[str, str]:
    """ "Youth worker, Lambeth YOT" or "Youth worker at Lambeth YOT": the job title, then the organisation."""
    words = parse_short_text(text, 140)
    # Whichever comes first: "Nurse at St Thomas', A&E" is a nurse at "St Thomas', A&E".
    cut = min((found for found in (words.find(","), words.lower().find(" at ")) if found > 0), default=-1)
    if cut < 0:
        raise Invalid("Please send both, with a comma between.")
    role, org = words[:cut], words[cut:].removeprefix(",")
    if org.lower().startswith(" at "):
        org = org[4:]
    role, org = role.strip(_SEPARATORS), org.strip(_SEPARATORS)
    if not role or not org:
        raise Invalid("Please send both, with a comma between.")
    if len(role) > 60 or len(org) > 80:
        raise Invalid("Please keep it shorter.")
    return {"role": role, "org": org}


_KNOWN_AS = re.compile(r"\s*(?:\(|,|;|\bknown as\b|\baka\b|\ba\.k\.a\.?|\bcalled\b|\bgoes by\b)\s*", re.IGNORECASE)


def parse_name_known_as(text: str) -> dict[str, Any]:
    """ "Jay Smith", "Jay Smith known as JJ", "Jay Smith (JJ)", "Jay Smith, JJ": the name and what they're called."""
    parts = _KNOWN_AS.split(text, maxsplit=1)
    known = parts[1].strip(" )") if len(parts) > 1 else ""
    return {**parse_full_name(parts[0]), "known_as": parse_name(known) if known and not is_skip(known) else None}


_MOBILE_IN = re.compile(r"(?:\+\s?44\s?(?:\(0\)\s?)?|0044\s?|0)7(?:[\s\-.]?[0-9]){9}")
_PHONE_IN = re.compile(r"(?:\+\s?44\s?|0044\s?|0)[1-9](?:[\s\-.()]?[0-9]){8,9}")
_CONTACT_WORDS = {"1": "text", "text": "text", "texts": "text", "txt": "text", "sms": "text",
                  "2": "call", "call": "call", "calls": "call", "calling": "call", "phone": "call",
                  "3": "voicemail", "voicemail": "voicemail", "vm": "voicemail"}
_FILLERS = frozenset({"and", "&", "+", "or", "safe", "to", "ok", "only"})
_NOTHING_SAFE = frozenset({"none", "nothing", "no", "neither", "0"})


def parse_contact(text: str) -> dict[str, Any]:
    """ "07700 900123 1 2 after 4pm": the young person's mobile, what is safe on it, and the best times."""
    found = _MOBILE_IN.search(text)
    if found is None:
        number = _PHONE_IN.search(text)
        if number is not None:
            parse_uk_mobile(number.group(0))  # says what is wrong with it: a landline, say
        raise Invalid()
    mobile = parse_uk_mobile(found.group(0))
    words = (text[: found.start()] + " " + text[found.end():]).replace(",", " ").split()
    safe: set[str] = set()
    nothing_safe = False
    taken = 0
    for word in words:
        token = word.lower().strip(_SEPARATORS)
        if token in _CONTACT_WORDS:
            safe.add(_CONTACT_WORDS[token])
        elif token in _NOTHING_SAFE:
            nothing_safe = True
        elif token in _FILLERS or not token:
            pass
        else:
            break
        taken += 1
    if not safe and not nothing_safe:
        # Texting a number that isn't safe can put a young person at risk: never assume it is.
        raise Invalid("Please add what is safe: 1 text 2 call 3 voicemail, or NONE.")
    rest = " ".join(words[taken:]).strip(_SEPARATORS)
    return {"mobile": mobile, "safe": {way: way in safe for way in CONTACT_WAYS},
            "times": parse_short_text(rest, 80) if rest else None}


def parse_numbers_then_note(text: str, names: Sequence[str], note_limit: int) -> dict[str, Any]:
    """ "1 2 threats since he left", "NONE", "none, new threats": the numbers that apply, and a short note."""
    numbers, note = _leading_numbers(text, len(names))
    return {"items": _names(numbers, names), "note": parse_short_text(note, note_limit) if note else None}


def parse_urgency_notes(text: str, levels: Sequence[str]) -> dict[str, Any]:
    """ "2", "2 prefers a female worker", "urgent, at risk this week": how urgent, and anything else."""
    words = text.strip()
    match = re.match(r"\s*([0-9]{1,3})\b[\s,;:.\-]*(.*)", words, re.DOTALL)
    if match is not None:
        number, notes = int(match.group(1)), match.group(2).strip()
        if not 1 <= number <= len(levels):
            raise Invalid()
    else:
        first, _, notes = words.partition(" ")
        level = first.lower().strip(_SEPARATORS)
        if level not in levels:
            raise Invalid()
        number = levels.index(level) + 1
    notes = notes.strip(_SEPARATORS)
    return {"level": levels[number - 1], "notes": None if not notes or is_skip(notes) else parse_short_text(notes, 300)}


def _leading_numbers(text: str, highest: int) -> tuple[tuple[int, ...], str]:
    """The numbered choices at the start of `text`, and the words after them."""
    match = re.match(r"\s*((?:none|nothing|no|nil|n/?a|(?:[0-9]+|and|&|\+)(?:[\s,;./\-]|$)+)+)(.*)", text,
                     re.IGNORECASE | re.DOTALL)
    if match is None:
        raise Invalid()
    chosen, note = match.group(1).strip(), match.group(2).strip(_SEPARATORS)
    numbers = () if chosen.lower().strip(_SEPARATORS) in {"none", "nothing", "no", "nil", "na", "n/a"} \
        else parse_numbers(chosen, highest)
    return numbers, note


def _names(numbers: Sequence[int], names: Sequence[str]) -> list[str]:
    return [names[n - 1] for n in numbers]


# --- showing: the referrer's summary (short) and the staff pages (full) ----------------------------


def _listed(picked: Sequence[str]) -> str:
    return ", ".join(picked) if picked else "none"


def show_gang_risks(value: dict[str, Any]) -> str:
    return _listed(value["risks"])


def staff_gang_risks(value: dict[str, Any], tz: tzinfo) -> str:
    involved = "Yes" if value["involved"] else "No"
    return f"{involved}. Risks: {_listed(value['risks'])}"


def show_job(value: dict[str, str]) -> str:
    return f"{value['role']}, {value['org']}"


def staff_job(value: dict[str, str], tz: tzinfo) -> str:
    return f"{value['role']} (organisation and team: {value['org']})"


def show_contact(value: dict[str, Any] | None) -> str:
    if not value:
        return "-"
    safe = [way for way, ok in value["safe"].items() if ok]
    times = f"; {value['times']}" if value.get("times") else ""
    return f"{show_phone(value['mobile'])}; safe: {_listed(safe)}{times}"


def staff_contact(value: dict[str, Any] | None, tz: tzinfo) -> str:
    if not value:
        return "No mobile given"
    safe = "; ".join(f"{way}: {'yes' if ok else 'no'}" for way, ok in value["safe"].items())
    times = value.get("times") or "-"
    return f"{show_phone(value['mobile'])}. Safe to {safe}. Best times: {times}"


def show_numbers_note(value: dict[str, Any]) -> str:
    note = f"; {value['note']}" if value.get("note") else ""
    return _listed(value["items"]) + note


def staff_numbers_note(value: dict[str, Any], tz: tzinfo) -> str:
    return f"{_listed(value['items']).capitalize()}. Note: {value.get('note') or '-'}"


def show_urgency_notes(value: dict[str, Any]) -> str:
    notes = f"; {value['notes']}" if value.get("notes") else ""
    return f"{value['level']}{notes}"


def staff_urgency_notes(value: dict[str, Any], tz: tzinfo) -> str:
    return f"{value['level'].capitalize()}. Anything else: {value.get('notes') or '-'}"


# --- reading stored answers, whatever their age ---------------------------------------------------

# Each old key, and the key that holds its answer now. A draft waiting at an old question carries on
# at the question that asks it now.
OLD_KEYS: dict[str, str] = {
    "gang_involved": "gang_risks", "risks": "gang_risks",
    "motivated": "ready", "willing": "ready",
    "extensive_support": "supported_elsewhere", "services_local": "supported_elsewhere",
    "referrer_role": "referrer_job", "referrer_org": "referrer_job",
    "yp_known_as": "yp_name",
    "yp_mobile": "yp_contact", "safe_contact": "yp_contact", "best_times": "yp_contact",
    "risk_history": "history", "risk_note": "history",
    "specialist": "needs",
    "urgency": "urgency_notes", "notes": "urgency_notes",
}


def from_old_keys(old: Answers) -> Answers:
    """The answers held under old keys, in today's shapes; an answer whose parts are not all there is left out.

    (A draft stopped between "motivated" and "willing" is asked the question that asks both.)
    """
    new: Answers = {}
    if "gang_involved" in old and ("risks" in old or old["gang_involved"] is False):
        new["gang_risks"] = {"involved": old["gang_involved"], "risks": list(old.get("risks") or [])}
    if "motivated" in old and ("willing" in old or old["motivated"] is False):
        new["ready"] = bool(old["motivated"]) and bool(old.get("willing"))
    if "extensive_support" in old and ("services_local" in old or old["extensive_support"] is True):
        new["supported_elsewhere"] = bool(old["extensive_support"]) or bool(old.get("services_local"))
    if "referrer_role" in old and "referrer_org" in old:
        new["referrer_job"] = {"role": old["referrer_role"], "org": old["referrer_org"]}
    if "yp_known_as" in old and isinstance(old.get("yp_name"), dict):
        new["yp_name"] = {**old["yp_name"], "known_as": old["yp_known_as"]}
    if "yp_mobile" in old:
        new["yp_contact"] = _old_contact(old)
    if "risk_history" in old:
        new["history"] = {"items": list(old["risk_history"]), "note": old.get("risk_note")}
    if "specialist" in old and "needs" in old:
        new["needs"] = [*old["needs"], *old["specialist"]]
    if "urgency" in old:
        new["urgency_notes"] = {"level": old["urgency"], "notes": old.get("notes")}
    return new


def _old_contact(old: Answers) -> dict[str, Any] | None:
    if not old["yp_mobile"]:
        return None
    safe = old.get("safe_contact") or {}
    return {"mobile": old["yp_mobile"], "safe": {way: safe.get(way) is True for way in CONTACT_WAYS},
            "times": old.get("best_times")}


def mobile_of(answers: Answers) -> str | None:
    """The young person's mobile (E.164), from a referral of any age (raw details, not yet read as today's)."""
    contact = answers.get("yp_contact")
    if isinstance(contact, dict):
        return str(contact["mobile"])
    old = answers.get("yp_mobile")
    return str(old) if old else None


def organisation_of(answers: Answers) -> str:
    """The referrer's organisation, from a referral of any age (the queue shows it)."""
    job = answers.get("referrer_job")
    return str(job["org"]) if isinstance(job, dict) else str(answers.get("referrer_org") or "")


def safe_to_text(answers: Answers) -> bool:
    """The referral says it is safe to text the young person's mobile."""
    contact = answers.get("yp_contact")
    if isinstance(contact, dict):
        return contact["safe"].get("text") is True
    return bool(answers.get("yp_mobile")) and (answers.get("safe_contact") or {}).get("text") is True

