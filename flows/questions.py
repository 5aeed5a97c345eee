"""Every question of the referral, declared once: its text, its parser, when it is asked, how it screens.

Adding a question is one `Question(...)` in QUESTIONS (plus its test); the dialog machine,
the summary and the edit-by-number all follow from this table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from flows.boroughs import OUTSIDE_LONDON, match_borough
from flows.model import Answers, Context
from flows.parsing import (
    Invalid,
    age_on,
    parse_choice,
    parse_date,
    parse_email,
    parse_name,
    parse_numbers,
    parse_short_text,
    parse_uk_mobile,
    parse_uk_phone,
    parse_yes_no,
    parse_yes_no_unknown,
)
from flows.screening import Reason, age_reason

__all__ = ["BY_KEY", "QUESTIONS", "SCREENING_KEYS", "Question", "age_of", "applicable"]

Parser = Callable[[str, Context], Any]
Condition = Callable[[Answers, Context], bool]
Screen = Callable[[Any, Answers, Context], Reason | None]

YES_NO = ("Y", "N")
YES_NO_DK = ("Y", "N", "DK")


@dataclass(frozen=True)
class Question:
    """One question: what is asked, how the answer is read, when it applies and what it rules out."""

    key: str
    text: str
    parse: Parser
    reask: str
    label: str = ""
    show: Callable[[Any], str] = str
    ask_if: Condition | None = None
    screen: Screen | None = None
    optional: bool = False
    choices: tuple[str, ...] = ()
    share_phone: bool = False
    known: Callable[[Context], Any] | None = None
    """The answer when the channel already gives it (the referrer's number over SMS): not asked then."""

    def known_answer(self, ctx: Context) -> Any:
        return None if self.known is None else self.known(ctx)

    def applies(self, answers: Answers, ctx: Context) -> bool:
        return self.ask_if is None or self.ask_if(answers, ctx)


def age_of(answers: Answers, ctx: Context) -> int | None:
    """The young person's age on the day of referral, once their date of birth is known."""
    dob = answers.get("dob")
    return age_on(date.fromisoformat(dob), ctx.today) if dob else None


def applicable(answers: Answers, ctx: Context) -> list[Question]:
    """The questions that apply to this referral, in the order they are asked."""
    return [q for q in QUESTIONS if q.applies(answers, ctx)]


# --- parsers in the shape the table wants: (text, context) -> JSON-ready value -------------


def _dob(text: str, ctx: Context) -> str:
    return parse_date(text, ctx.today).isoformat()


def _borough(text: str, ctx: Context) -> str:
    return match_borough(text)


def _yes_no(text: str, ctx: Context) -> bool:
    return parse_yes_no(text)


def _yes_no_unknown(text: str, ctx: Context) -> bool | None:
    return parse_yes_no_unknown(text)


def _name(text: str, ctx: Context) -> str:
    return parse_name(text)


def _short(limit: int) -> Parser:
    def parse(text: str, ctx: Context) -> str:
        return parse_short_text(text, limit)

    return parse


def _picked(names: Sequence[str], *, none_ok: bool = True) -> Parser:
    """Numbered multiple choice stored as the chosen names."""

    def parse(text: str, ctx: Context) -> list[str]:
        numbers = parse_numbers(text, len(names))
        if not numbers and not none_ok:
            raise Invalid("Please pick at least one number.")
        return [names[n - 1] for n in numbers]

    return parse


def _one_of(names: Sequence[str]) -> Parser:
    def parse(text: str, ctx: Context) -> str:
        return names[parse_choice(text, names) - 1]

    return parse


def _gender(text: str, ctx: Context) -> str:
    """One of the numbered choices, or their own words (letters, not just numbers)."""
    try:
        return GENDERS[parse_choice(text, GENDERS) - 1]
    except Invalid:
        described = parse_short_text(text, 40)
    if not any(ch.isalpha() for ch in described):
        raise Invalid()
    return described


def _language(text: str, ctx: Context) -> dict[str, Any]:
    words = parse_short_text(text, 60)
    lowered = words.lower()
    interpreter = "interpreter" in lowered and "no interpreter" not in lowered
    language = lowered.replace("no interpreter", "").replace("interpreter", "")
    language = language.replace("needed", "").strip(" ,.;-+&")
    if not language:
        raise Invalid("Please name the language, e.g. Somali, interpreter.")
    return {"language": language.title(), "interpreter": interpreter}


def _consent(text: str, ctx: Context) -> dict[str, Any]:
    # Safeguarding needs to know who gave consent and when, not only whether.
    return {
        "agreed": parse_yes_no(text),
        "given_by": "young person, as told by the referrer",
        "at": ctx.now.isoformat(),
    }


def _agencies(text: str, ctx: Context) -> dict[str, bool | None]:
    """Numbers are the agencies involved; DK makes the rest 'not known' instead of 'no'."""
    lowered = text.lower()
    unknown_words = ("dk", "not known", "don't know", "dont know", "unknown", "not sure", "?")
    rest_unknown = any(word in lowered for word in unknown_words)
    numbers_text = lowered
    for word in unknown_words:
        numbers_text = numbers_text.replace(word, " ")
    numbers: tuple[int, ...] = ()
    if numbers_text.strip(" ,.&+"):
        numbers = parse_numbers(numbers_text, len(AGENCIES))
    elif not rest_unknown:
        raise Invalid()
    return {name: (True if i + 1 in numbers else None if rest_unknown else False) for i, name in enumerate(AGENCIES)}


def _safe_contact(text: str, ctx: Context) -> dict[str, bool]:
    numbers = parse_numbers(text, len(CONTACT_WAYS))
    return {name: i + 1 in numbers for i, name in enumerate(CONTACT_WAYS)}


def _mobile(text: str, ctx: Context) -> str:
    return parse_uk_mobile(text)


def _phone(text: str, ctx: Context) -> str:
    return parse_uk_phone(text)


def _email(text: str, ctx: Context) -> str:
    return parse_email(text)


# --- screening rules --------------------------------------------------------------------


def _screen_age(value: str, answers: Answers, ctx: Context) -> Reason | None:
    return age_reason(age_on(date.fromisoformat(value), ctx.today), ctx.min_age, ctx.max_age)


def _screen_borough(value: str, answers: Answers, ctx: Context) -> Reason | None:
    return Reason.NOT_LONDON if value == OUTSIDE_LONDON else None


def _must_be(expected: bool, reason: Reason) -> Screen:
    def screen(value: bool, answers: Answers, ctx: Context) -> Reason | None:
        return None if value is expected else reason

    return screen


def _screen_risks(value: list[str], answers: Answers, ctx: Context) -> Reason | None:
    return None if value else Reason.NO_SIGNIFICANT_RISK


# --- how answers read in the summary ------------------------------------------------------


def _show_date(value: str) -> str:
    return date.fromisoformat(value).strftime("%d/%m/%Y")


def _show_yes_no(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "not known"}[value]


def _numbers_of(names: Sequence[str]) -> Callable[[list[str]], str]:
    """Numbered choices read back as the numbers the referrer typed: short, and easy to check."""

    def show(value: list[str]) -> str:
        return " ".join(str(names.index(name) + 1) for name in value) if value else "none"

    return show


def _show_flags(value: dict[str, bool | None]) -> str:
    picked = [str(i) for i, flag in enumerate(value.values(), start=1) if flag]
    unknown = any(flag is None for flag in value.values())
    text = " ".join(picked) if picked else "none"
    return f"{text} (rest DK)" if unknown else text


def _show_language(value: dict[str, Any]) -> str:
    return str(value["language"]) + (", interpreter" if value["interpreter"] else "")


def _show_consent(value: dict[str, Any]) -> str:
    return "yes" if value["agreed"] else "no"


def _show_optional(value: str | None) -> str:
    return value if value else "-"


def _show_phone(value: str | None) -> str:
    """UK numbers as people write them (07700 900123), others as stored."""
    if value and value.startswith("+44") and len(value) == 13:
        national = "0" + value[3:]
        return f"{national[:5]} {national[5:]}"
    return value or "-"


# --- when a question applies ---------------------------------------------------------------


def _phone_from_channel(ctx: Context) -> str | None:
    return ctx.sender_phone


def _under_18(answers: Answers, ctx: Context) -> bool:
    age = age_of(answers, ctx)
    return age is not None and age < 18


def _has_mobile(answers: Answers, ctx: Context) -> bool:
    return bool(answers.get("yp_mobile"))


RISKS = ("harm from gangs", "risk to self", "risk to others")
RISK_HISTORY = ("stabbed or shot", "on probation/court order")
NEEDS = ("gang activity", "harm from gangs", "offending", "housing", "health", "family", "EET")
SPECIALIST = ("mental health", "employment", "young women's support")
AGENCIES = ("social care", "youth justice/probation", "police", "housing", "mental health")
CONTACT_WAYS = ("text", "call", "voicemail")
GENDERS = ("female", "male", "non-binary")
URGENCY = ("urgent", "soon", "routine")

YN = "Please reply Y or N."

QUESTIONS: tuple[Question, ...] = (
    # Screening first: nothing identifying is asked until the young person is eligible.
    Question("dob", "What is the young person's date of birth? e.g. 14/02/2006", _dob,
             "Please send their date of birth day first, like 14/02/2006.",
             label="DOB", show=_show_date, screen=_screen_age),
    Question("borough", "Which London borough do they live in or have links to? e.g. Lambeth. "
             "Send OUTSIDE if none.", _borough,
             "I didn't recognise that borough. Please send its name, e.g. Lambeth, or OUTSIDE.",
             label=" ", screen=_screen_borough),
    Question("gang_involved", "Are they involved in, or linked to, a gang? Reply Y or N", _yes_no, YN,
             screen=_must_be(True, Reason.NOT_GANG_INVOLVED), choices=YES_NO),
    Question("risks", "Which apply? 1 at risk of harm from gangs (incl. exploitation) 2 risk to "
             "themselves 3 risk of harm to others. e.g. 1 3, or NONE", _picked(RISKS),
             "Please send the numbers that apply, e.g. 1 3, or NONE.",
             label="Risks", show=_numbers_of(RISKS), screen=_screen_risks),
    Question("motivated", "Do they show some motivation to end their gang involvement? Y or N", _yes_no, YN,
             screen=_must_be(True, Reason.NOT_MOTIVATED), choices=YES_NO),
    Question("willing", "Are they willing to work with a caseworker from our service? Y or N", _yes_no, YN,
             screen=_must_be(True, Reason.NOT_WILLING), choices=YES_NO),
    Question("extensive_support", "Do they already get extensive support from their borough or "
             "other statutory services? Y or N", _yes_no, YN,
             screen=_must_be(False, Reason.EXTENSIVE_SUPPORT), choices=YES_NO),
    Question("services_local", "Is the help they need already available to them locally? Y or N",
             _yes_no, YN, screen=_must_be(False, Reason.SERVICES_LOCAL), choices=YES_NO),
    # Eligible: now the referrer.
    Question("referrer_name", "Good, they can be referred. Now about you. Your full name?", _name,
             "Please send your name, e.g. Sam Jones.", label="By"),
    Question("referrer_role", "Your job title?", _short(60),
             "Please send your job title, e.g. Youth worker.", label=" "),
    Question("referrer_org", "Your organisation and team? e.g. Lambeth YOT", _short(80),
             "Please send your organisation, e.g. St Thomas' A&E youth team.", label=" "),
    Question("referrer_phone", "Your phone number? e.g. 07700 900123", _phone,
             "Please send a UK phone number, e.g. 07700 900123.", label=" ", show=_show_phone,
             known=_phone_from_channel, share_phone=True),
    Question("referrer_email", "Your work email?", _email,
             "Please send an email address like name@example.org.", label=" "),
    Question("relationship", "Your relationship to the young person? e.g. their youth worker",
             _short(60), "Please say how you know them, e.g. their probation officer.", label="Rel"),
    # The young person.
    Question("yp_first_name", "Now the young person. Their first name?", _name,
             "Please send their first name, e.g. Jay.", label="YP"),
    Question("yp_last_name", "Their last name?", _name,
             "Please send their last name, e.g. Smith.", label=" "),
    Question("yp_known_as", "What do they like to be called, if different? Or SKIP", _name,
             "Please send the name they use, or SKIP.", label="Aka", show=_show_optional, optional=True),
    Question("yp_gender", "Their gender? 1 female 2 male 3 non-binary, or in their own words", _gender,
             "Please send 1, 2, 3 or their own words.", label=" ", choices=GENDERS),
    Question("yp_mobile", "Their mobile number? e.g. 07700 900123, or SKIP if none", _mobile,
             "Please send a UK mobile number like 07700 900123, or SKIP.", label="Mob",
             show=_show_phone, optional=True),
    Question("yp_language", "Their first language? Add 'interpreter' if they need one, e.g. Somali, "
             "interpreter", _language, "Please name the language, e.g. English.",
             label=" ", show=_show_language),
    Question("consent", "Do they know about this referral and agree to it, and to us contacting "
             "them? Y or N", _consent, YN, label="Consent", show=_show_consent, choices=YES_NO),
    Question("mash", "As they are under 18: has a children's social care (MASH) referral been made? "
             "Y, N or DK", _yes_no_unknown, "Please reply Y, N or DK (don't know).",
             label="MASH", show=_show_yes_no, ask_if=_under_18, choices=YES_NO_DK),
    # Risks, needs, agencies.
    Question("risk_history", "Do these apply? 1 victim of a stabbing or shooting 2 on probation or "
             "a court order. e.g. 1 2, or NONE", _picked(RISK_HISTORY),
             "Please send the numbers that apply, e.g. 1, or NONE.", label="Past", show=_numbers_of(RISK_HISTORY)),
    Question("risk_note", "A short note on the risks for the referral unit? No detail of "
             "incidents. Or SKIP", _short(200), "Please keep it under 200 characters, or SKIP.",
             label="Note", show=_show_optional, optional=True),
    Question("needs", "Needs? 1 gang activity 2 harm from gangs 3 offending 4 housing 5 health "
             "6 family 7 education/training/work. e.g. 1 4 7", _picked(NEEDS, none_ok=False),
             "Please send the numbers of their needs, e.g. 1 4 7.", label="Needs", show=_numbers_of(NEEDS)),
    Question("specialist", "Specialist support? 1 mental health 2 employment 3 young women's "
             "support. e.g. 1, or NONE", _picked(SPECIALIST),
             "Please send the numbers, e.g. 1 3, or NONE.", label="Spec", show=_numbers_of(SPECIALIST)),
    Question("agencies", "Who is involved? 1 social care 2 youth justice/probation 3 police "
             "4 housing 5 mental health. e.g. 1 3, NONE, or add DK", _agencies,
             "Please send numbers, e.g. 1 3, or NONE. Add DK if you don't know the rest.",
             label="Agencies", show=_show_flags),
    # Contact and urgency.
    Question("safe_contact", "Is it safe to 1 text 2 call 3 leave voicemail on their mobile? "
             "Send what is safe, e.g. 1 2, or NONE", _safe_contact,
             "Please send the numbers that are safe, e.g. 1 2, or NONE.", label="Safe",
             show=_show_flags, ask_if=_has_mobile),
    Question("best_times", "Best times to contact them? e.g. weekday afternoons, or SKIP", _short(80),
             "Please keep it short, e.g. after 4pm, or SKIP.", label="Times",
             show=_show_optional, optional=True),
    Question("urgency", "How urgent is it? 1 urgent (risk this week) 2 soon 3 routine", _one_of(URGENCY),
             "Please send 1, 2 or 3.", label=" ", choices=URGENCY),
    Question("notes", "Anything else the referral unit should know? Short please, or SKIP", _short(300),
             "Please keep it under 300 characters, or SKIP.", label="Notes", show=_show_optional, optional=True),
)

BY_KEY: dict[str, Question] = {q.key: q for q in QUESTIONS}
SCREENING_KEYS: frozenset[str] = frozenset(q.key for q in QUESTIONS if q.screen is not None)

# How each answer is headed where staff read a whole referral, in the sections it is laid out in.
SECTIONS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    (
        "Eligibility",
        (
            ("dob", "Date of birth"),
            ("borough", "London borough"),
            ("gang_involved", "Involved in gangs"),
            ("risks", "Risks"),
            ("motivated", "Motivated to leave"),
            ("willing", "Willing to work with us"),
            ("extensive_support", "Extensive existing support"),
            ("services_local", "Services available locally"),
        ),
    ),
    (
        "Referrer",
        (
            ("referrer_name", "Name"),
            ("referrer_role", "Job title"),
            ("referrer_org", "Organisation and team"),
            ("referrer_phone", "Phone"),
            ("referrer_email", "Email"),
            ("relationship", "Relationship to the young person"),
        ),
    ),
    (
        "Young person",
        (
            ("yp_first_name", "First name"),
            ("yp_last_name", "Last name"),
            ("yp_known_as", "Known as"),
            ("yp_gender", "Gender"),
            ("yp_mobile", "Mobile"),
            ("yp_language", "First language"),
        ),
    ),
    (
        "Consent",
        (("consent", "Knows and agrees to the referral and contact"), ("mash", "MASH referral made (under 18)")),
    ),
    (
        "Risks and needs",
        (
            ("risk_history", "History"),
            ("risk_note", "Note on risks"),
            ("needs", "Needs"),
            ("specialist", "Specialist support"),
            ("agencies", "Agencies involved"),
        ),
    ),
    (
        "Contact and urgency",
        (
            ("safe_contact", "Safe to contact by"),
            ("best_times", "Best times"),
            ("urgency", "Urgency"),
            ("notes", "Anything else"),
        ),
    ),
)
