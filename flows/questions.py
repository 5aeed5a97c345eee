"""Every question of the referral, declared once: its text, its parser, when it is asked, how it screens and reads.

Adding a question is one `Question(...)` in QUESTIONS (plus its test); the dialog machine, the
summary, the edit-by-number, the staff page (section, heading, wording) and the drawing all follow
from this table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any

from flows.boroughs import OUTSIDE_LONDON, match_borough
from flows.model import Answers, Context
from flows.parsing import (
    Invalid,
    age_on,
    parse_choice,
    parse_date,
    parse_email,
    parse_full_name,
    parse_name,
    parse_numbers,
    parse_short_text,
    parse_uk_mobile,
    parse_uk_phone,
    parse_yes_no,
    parse_yes_no_unknown,
)
from flows.reading import (
    picked_of,
    show_consent,
    show_date,
    show_flags,
    show_language,
    show_name,
    show_optional,
    show_phone,
    show_yes_no,
    staff_consent,
    staff_date,
    staff_language,
    staff_name,
    staff_phone,
    staff_plain,
    staff_yes_no_unknown,
)
from flows.screening import Reason, age_reason

__all__ = [
    "BY_KEY", "QUESTIONS", "SCREENING_KEYS", "Question", "age_of", "applicable", "choose", "flags_for", "sections",
]

Condition = Callable[[Answers, Context], bool]
Screen = Callable[[Any, Answers, Context], Reason | None]

YES_NO = ("Y", "N")
YES_NO_DK = ("Y", "N", "DK")


@dataclass(frozen=True)
class Question:
    """One question: what is asked, how the answer is read, when it applies, what it rules out, how it reads back."""

    key: str
    text: str
    reask: str
    section: str
    """The part of the referral it belongs to, as the staff page and the drawing group it."""
    heading: str
    """What the answer is headed on the staff page."""
    parse: Callable[[str], Any] | None = None
    """Reads the answer as a JSON-ready value, or raises Invalid; for parsers that need no context."""
    parse_in_context: Callable[[str, Context], Any] | None = None
    """For the few parsers that need the day or the time (a date of birth, when consent was given)."""
    label: str = ""
    """The summary's label: "" leaves the answer out of the summary, " " shows the value alone."""
    show: Callable[[Any], str] = str
    staff: Callable[[Any, tzinfo], str] = staff_plain
    ask_if: Condition | None = None
    screen: Screen | None = None
    optional: bool = False
    choices: tuple[str, ...] = ()
    share_phone: bool = False
    known: Callable[[Context], Any] | None = None
    """The answer when the channel already gives it (the referrer's number over SMS): not asked then."""
    remind: Callable[[Any], str | None] | None = None
    """A kind word to the referrer after some answers (no MASH referral yet): said once in a referral."""
    flag: Callable[[Any], str | None] | None = None
    """What the referral unit is shown about some answers, on the referral's page and in its notice."""
    form_label: str = ""
    """Its line in the FORM template, fillable without the dialog: "DOB (dd/mm/yyyy)". The part before
    "(" is what a filled-in line is matched by; a question asked only sometimes says when ("if under 18")."""

    def read(self, text: str, ctx: Context) -> Any:
        """The answer in `text`, or Invalid."""
        if self.parse_in_context is not None:
            return self.parse_in_context(text, ctx)
        assert self.parse is not None, f"question {self.key} has no parser"
        return self.parse(text)

    def reminder(self, value: Any) -> str | None:
        return None if self.remind is None else self.remind(value)

    def flagged(self, value: Any) -> str | None:
        return None if self.flag is None else self.flag(value)

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


# Questions whose answer changed shape: each old key and the question that asks it now. Referrals
# and drafts stored before the change are read through `current_answers`, so nothing they hold is lost.
RENAMED_QUESTIONS = {"yp_first_name": "yp_name", "yp_last_name": "yp_name"}


OLD_NEEDS = {"EET": "education/training/work"}


def current_answers(answers: Answers) -> Answers:
    """The answers in the shape today's questions give them (the name was two answers; a need was a code)."""
    old_name = "yp_name" not in answers and "yp_first_name" in answers
    old_needs = any(need in OLD_NEEDS for need in answers.get("needs") or ())
    if not (old_name or old_needs):
        return answers
    current = {key: value for key, value in answers.items() if key not in RENAMED_QUESTIONS}
    if old_name:
        first, last = answers.get("yp_first_name") or "", answers.get("yp_last_name") or ""
        current["yp_name"] = {"given": f"{first} {last}".strip(), "first": first, "last": last}
    if old_needs:
        current["needs"] = [OLD_NEEDS.get(need, need) for need in answers["needs"]]
    return current


def flags_for(answers: Answers) -> list[str]:
    """What the unit should see flagged about these answers (a referral's details), in question order."""
    found = (q.flagged(answers[q.key]) for q in QUESTIONS if q.key in answers)
    return [flag for flag in found if flag]


def sections(questions: Sequence[Question] | None = None) -> list[tuple[str, list[Question]]]:
    """The questions grouped by section, in the order they are asked."""
    grouped: dict[str, list[Question]] = {}
    for question in QUESTIONS if questions is None else questions:
        grouped.setdefault(question.section, []).append(question)
    return list(grouped.items())


def choose(names: Sequence[str], *, own_words: str = "") -> str:
    """A re-ask that names the choices as the buttons do: "Please choose 1 urgent, 2 soon or 3 routine."."""
    numbered = [f"{n} {name}" for n, name in enumerate(names, start=1)]
    listed = ", ".join(numbered[:-1]) + f" or {numbered[-1]}" if len(numbered) > 1 else numbered[0]
    return f"Please choose {listed}{own_words}."


# --- parsers that build on the plain ones in flows.parsing ------------------------------------


def _dob(text: str, ctx: Context) -> str:
    return parse_date(text, ctx.today).isoformat()


def _short(limit: int) -> Callable[[str], str]:
    def parse(text: str) -> str:
        return parse_short_text(text, limit)

    return parse


def _picked(names: Sequence[str], *, none_ok: bool = True) -> Callable[[str], list[str]]:
    """Numbered multiple choice stored as the chosen names."""

    def parse(text: str) -> list[str]:
        numbers = parse_numbers(text, len(names))
        if not numbers and not none_ok:
            raise Invalid("Please pick at least one number.")
        return [names[n - 1] for n in numbers]

    return parse


def _one_of(names: Sequence[str]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        return names[parse_choice(text, names) - 1]

    return parse


def _gender(text: str) -> str:
    """One of the numbered choices, or their own words (letters, not just numbers)."""
    try:
        return GENDERS[parse_choice(text, GENDERS) - 1]
    except Invalid:
        described = parse_short_text(text, 40)
    if not any(ch.isalpha() for ch in described):
        raise Invalid()
    return described


def _language(text: str) -> dict[str, Any]:
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


def _agencies(text: str) -> dict[str, bool | None]:
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


def _safe_contact(text: str) -> dict[str, bool]:
    numbers = parse_numbers(text, len(CONTACT_WAYS))
    return {name: i + 1 in numbers for i, name in enumerate(CONTACT_WAYS)}


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


# --- what the referrer is reminded of, and the unit shown ------------------------------------

MASH_REMINDER = (
    "Thank you. As they are under 18, please also make a children's social care (MASH) referral. "
    "This referral still goes ahead, and we'll let the unit know."
)
MASH_FLAG = "No children's social care (MASH) referral made yet"


def _no_mash(value: bool | None, text: str) -> str | None:
    # Only a plain no: "don't know" is not a reason to tell a professional what to do.
    return text if value is False else None


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
NEEDS = ("gang activity", "harm from gangs", "offending", "housing", "health", "family", "education/training/work")
SPECIALIST = ("mental health", "employment", "young women's support")
AGENCIES = ("social care", "youth justice/probation", "police", "housing", "mental health")
CONTACT_WAYS = ("text", "call", "voicemail")
GENDERS = ("female", "male", "non-binary")
URGENCY = ("urgent", "soon", "routine")

YN = "Please reply Y or N."

ELIGIBILITY = "Eligibility"
REFERRER = "Referrer"
YOUNG_PERSON = "Young person"
CONSENT = "Consent"
RISKS_AND_NEEDS = "Risks and needs"
CONTACT = "Contact and urgency"

QUESTIONS: tuple[Question, ...] = (
    # Screening first: nothing identifying is asked until the young person is eligible.
    Question("dob", "What is the young person's date of birth? e.g. 14/02/2006",
             "Please send their date of birth day first, like 14/02/2006.", ELIGIBILITY, "Date of birth",
             parse_in_context=_dob, label="DOB", show=show_date, staff=staff_date, screen=_screen_age,
             form_label="DOB (dd/mm/yyyy)"),
    Question("borough", "Which London borough do they live in or have links to? e.g. Lambeth. "
             "Send OUTSIDE if none.",
             "I didn't recognise that borough. Please send its name, e.g. Lambeth, or OUTSIDE.",
             ELIGIBILITY, "London borough", parse=match_borough, label=" ", screen=_screen_borough,
             form_label="London borough (or OUTSIDE)"),
    Question("gang_involved", "Are they involved in, or linked to, a gang? Reply Y or N", YN,
             ELIGIBILITY, "Involved in gangs", parse=parse_yes_no,
             screen=_must_be(True, Reason.NOT_GANG_INVOLVED), choices=YES_NO,
             form_label="In or linked to a gang (Y/N)"),
    Question("risks", "Which apply? 1 at risk of harm from gangs (incl. exploitation) 2 risk to "
             "themselves 3 risk of harm to others. e.g. 1 3, or NONE",
             "Please send the numbers that apply, e.g. 1 3, or NONE.", ELIGIBILITY, "Risks",
             parse=_picked(RISKS), label="Risks", show=picked_of(RISKS), screen=_screen_risks,
             form_label="Risks (1 harm from gangs 2 to self 3 to others)"),
    Question("motivated", "Do they show some motivation to end their gang involvement? Y or N", YN,
             ELIGIBILITY, "Motivated to leave", parse=parse_yes_no,
             screen=_must_be(True, Reason.NOT_MOTIVATED), choices=YES_NO,
             form_label="Motivated to leave (Y/N)"),
    Question("willing", "Are they willing to work with a caseworker from our service? Y or N", YN,
             ELIGIBILITY, "Willing to work with us", parse=parse_yes_no,
             screen=_must_be(True, Reason.NOT_WILLING), choices=YES_NO,
             form_label="Willing to work with us (Y/N)"),
    Question("extensive_support", "Do they already get extensive support from their borough or "
             "other statutory services? Y or N", YN, ELIGIBILITY, "Extensive existing support",
             parse=parse_yes_no, screen=_must_be(False, Reason.EXTENSIVE_SUPPORT), choices=YES_NO,
             form_label="Already extensive support (Y/N)"),
    Question("services_local", "Is the help they need already available to them locally? Y or N", YN,
             ELIGIBILITY, "Services available locally", parse=parse_yes_no,
             screen=_must_be(False, Reason.SERVICES_LOCAL), choices=YES_NO,
             form_label="Help available locally (Y/N)"),
    # Eligible: now the referrer.
    Question("referrer_name", "Good, they can be referred. Now about you. Your full name?",
             "Please send your name, e.g. Sam Jones.", REFERRER, "Name", parse=parse_name, label="By",
             form_label="Your name"),
    Question("referrer_role", "Your job title?", "Please send your job title, e.g. Youth worker.",
             REFERRER, "Job title", parse=_short(60), label=" ",
             form_label="Your job title"),
    Question("referrer_org", "Your organisation and team? e.g. Lambeth YOT",
             "Please send your organisation, e.g. St Thomas' A&E youth team.", REFERRER,
             "Organisation and team", parse=_short(80), label=" ",
             form_label="Your org and team"),
    Question("referrer_phone", "Your phone number? e.g. 07700 900123",
             "Please send a UK phone number, e.g. 07700 900123.", REFERRER, "Phone", parse=parse_uk_phone,
             label=" ", show=show_phone, staff=staff_phone, known=_phone_from_channel, share_phone=True,
             form_label="Your phone"),
    Question("referrer_email", "Your work email?", "Please send an email address like name@example.org.",
             REFERRER, "Email", parse=parse_email, label=" ",
             form_label="Your work email"),
    Question("relationship", "Your relationship to the young person? e.g. their youth worker",
             "Please say how you know them, e.g. their probation officer.", REFERRER,
             "Relationship to the young person", parse=_short(60), label=" ",
             form_label="Relationship to them"),
    # The young person.
    Question("yp_name", "Now the young person. Their first and last name? e.g. Jay Smith",
             "Please send their first and last name, e.g. Jay Smith.", YOUNG_PERSON, "Name",
             parse=parse_full_name, label="YP", show=show_name, staff=staff_name,
             form_label="Their first and last name"),
    Question("yp_known_as", "What do they like to be called, if different? Or SKIP",
             "Please send the name they use, or SKIP.", YOUNG_PERSON, "Known as", parse=parse_name,
             label="Known as", show=show_optional, optional=True,
             form_label="Known as"),
    Question("yp_gender", "Their gender? 1 female 2 male 3 non-binary, or in their own words",
             choose(GENDERS, own_words=", or their own words"), YOUNG_PERSON, "Gender", parse=_gender,
             label=" ", choices=GENDERS,
             form_label="Gender"),
    Question("yp_mobile", "Their mobile number? e.g. 07700 900123, or SKIP if none",
             "Please send a UK mobile number like 07700 900123, or SKIP.", YOUNG_PERSON, "Mobile",
             parse=parse_uk_mobile, label="Mob", show=show_phone, staff=staff_phone, optional=True,
             form_label="Their mobile"),
    Question("yp_language", "Their first language? Add 'interpreter' if they need one, e.g. Somali, "
             "interpreter", "Please name the language, e.g. English.", YOUNG_PERSON, "First language",
             parse=_language, label=" ", show=show_language, staff=staff_language,
             form_label="First language (+ interpreter if needed)"),
    Question("consent", "Do they know about this referral and agree to it, and to us contacting "
             "them? Y or N", YN, CONSENT, "Knows and agrees to the referral and contact",
             parse_in_context=_consent, label="Consent", show=show_consent, staff=staff_consent, choices=YES_NO,
             form_label="Knows and agrees to referral and contact (Y/N)"),
    Question("mash", "As they are under 18: has a children's social care (MASH) referral been made? "
             "Y, N or DK", "Please reply Y, N or DK (don't know).", CONSENT, "MASH referral made (under 18)",
             parse=parse_yes_no_unknown, label="MASH", show=show_yes_no, staff=staff_yes_no_unknown,
             ask_if=_under_18, choices=YES_NO_DK, remind=lambda value: _no_mash(value, MASH_REMINDER),
             flag=lambda value: _no_mash(value, MASH_FLAG),
             form_label="MASH referral made, if under 18 (Y/N/DK)"),
    # Risks, needs, agencies.
    Question("risk_history", "Do these apply? 1 victim of a stabbing or shooting 2 on probation or "
             "a court order. e.g. 1 2, or NONE", "Please send the numbers that apply, e.g. 1, or NONE.",
             RISKS_AND_NEEDS, "History", parse=_picked(RISK_HISTORY), label="Past", show=picked_of(RISK_HISTORY),
             form_label="Past (1 stabbed/shot 2 on probation/court order)"),
    Question("risk_note", "A short note on the risks for the referral unit? No detail of "
             "incidents. Or SKIP", "Please keep it under 200 characters, or SKIP.", RISKS_AND_NEEDS,
             "Note on risks", parse=_short(200), label="Note", show=show_optional, optional=True,
             form_label="Risk note, no incident detail"),
    Question("needs", "Needs? 1 gang activity 2 harm from gangs 3 offending 4 housing 5 health "
             "6 family 7 education/training/work. e.g. 1 4 7", "Please send the numbers of their needs, e.g. 1 4 7.",
             RISKS_AND_NEEDS, "Needs", parse=_picked(NEEDS, none_ok=False), label="Needs", show=picked_of(NEEDS),
             form_label="Needs (1 gang activity 2 harm from gangs 3 offending 4 housing 5 health 6 family 7 EET)"),
    Question("specialist", "Specialist support? 1 mental health 2 employment 3 young women's "
             "support. e.g. 1, or NONE", "Please send the numbers, e.g. 1 3, or NONE.", RISKS_AND_NEEDS,
             "Specialist support", parse=_picked(SPECIALIST), label="Specialist", show=picked_of(SPECIALIST),
             form_label="Specialist (1 mental health 2 employment 3 young women)"),
    Question("agencies", "Who is involved? 1 social care 2 youth justice/probation 3 police "
             "4 housing 5 mental health. e.g. 1 3, NONE, or add DK",
             "Please send numbers, e.g. 1 3, or NONE. Add DK if you don't know the rest.", RISKS_AND_NEEDS,
             "Agencies involved", parse=_agencies, label="Involved", show=show_flags,
             form_label="Agencies involved (1 social care 2 YJ/probation 3 police 4 housing 5 mental health; DK)"),
    # Contact and urgency.
    Question("safe_contact", "Is it safe to 1 text 2 call 3 leave voicemail on their mobile? "
             "Send what is safe, e.g. 1 2, or NONE", "Please send the numbers that are safe, e.g. 1 2, or NONE.",
             CONTACT, "Safe to contact by", parse=_safe_contact, label="Safe to", show=show_flags,
             ask_if=_has_mobile,
             form_label="Safe to, if mobile given (1 text 2 call 3 voicemail)"),
    Question("best_times", "Best times to contact them? e.g. weekday afternoons, or SKIP",
             "Please keep it short, e.g. after 4pm, or SKIP.", CONTACT, "Best times", parse=_short(80),
             label="Times", show=show_optional, optional=True,
             form_label="Best times"),
    Question("urgency", "How urgent is it? 1 urgent (risk this week) 2 soon 3 routine", choose(URGENCY),
             CONTACT, "Urgency", parse=_one_of(URGENCY), label="Urgency", choices=URGENCY,
             form_label="Urgency (1 urgent 2 soon 3 routine)"),
    Question("notes", "Anything else the referral unit should know? Short please, or SKIP",
             "Please keep it under 300 characters, or SKIP.", CONTACT, "Anything else", parse=_short(300),
             label="Notes", show=show_optional, optional=True,
             form_label="Anything else"),
)

BY_KEY: dict[str, Question] = {q.key: q for q in QUESTIONS}
SCREENING_KEYS: frozenset[str] = frozenset(q.key for q in QUESTIONS if q.screen is not None)
