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
from flows.combined import (
    CONTACT_WAYS,
    OLD_KEYS,
    from_old_keys,
    parse_contact,
    parse_gang_risks,
    parse_job,
    parse_name_known_as,
    parse_numbers_then_note,
    parse_urgency_notes,
    show_contact,
    show_gang_risks,
    show_job,
    show_numbers_note,
    show_urgency_notes,
    staff_contact,
    staff_gang_risks,
    staff_job,
    staff_numbers_note,
    staff_urgency_notes,
)
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
    "BY_KEY", "CONTACT_WAYS", "QUESTIONS", "REMEMBERED_KEYS", "SCREENING_KEYS", "Question", "age_of", "applicable",
    "choose", "current_answers", "flags_for", "sections",
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
    remember: bool = False
    """The referrer's own details, which they may ask us to keep for their next referral from the same sender."""

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
RENAMED_QUESTIONS = {"yp_first_name": "yp_name", "yp_last_name": "yp_name", **OLD_KEYS}


OLD_NEEDS = {"EET": "education/training/work"}


def current_answers(answers: Answers) -> Answers:
    """The answers in the shape today's questions give them (several answers became one; a need was a code)."""
    old_name = "yp_name" not in answers and "yp_first_name" in answers
    old_keys = any(key in OLD_KEYS for key in answers)
    old_needs = any(need in OLD_NEEDS for need in answers.get("needs") or ())
    if not (old_name or old_keys or old_needs):
        return answers
    current = {key: value for key, value in answers.items() if key not in RENAMED_QUESTIONS}
    if old_name:
        first, last = answers.get("yp_first_name") or "", answers.get("yp_last_name") or ""
        current["yp_name"] = {"given": f"{first} {last}".strip(), "first": first, "last": last}
    if old_keys:
        current.update(from_old_keys({**answers, **current}))
    if any(need in OLD_NEEDS for need in current.get("needs") or ()):
        current["needs"] = [OLD_NEEDS.get(need, need) for need in current["needs"]]
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


def _numbers_note(names: Sequence[str], limit: int) -> Callable[[str], dict[str, Any]]:
    def parse(text: str) -> dict[str, Any]:
        return parse_numbers_then_note(text, names, limit)

    return parse


def _urgency_notes(text: str) -> dict[str, Any]:
    return parse_urgency_notes(text, URGENCY)


# --- screening rules --------------------------------------------------------------------


def _screen_age(value: str, answers: Answers, ctx: Context) -> Reason | None:
    return age_reason(age_on(date.fromisoformat(value), ctx.today), ctx.min_age, ctx.max_age)


def _screen_borough(value: str, answers: Answers, ctx: Context) -> Reason | None:
    return Reason.NOT_LONDON if value == OUTSIDE_LONDON else None


def _must_be(expected: bool, reason: Reason) -> Screen:
    def screen(value: bool, answers: Answers, ctx: Context) -> Reason | None:
        return None if value is expected else reason

    return screen


def _screen_gang_risks(value: dict[str, Any], answers: Answers, ctx: Context) -> Reason | None:
    if not value["involved"]:
        return Reason.NOT_GANG_INVOLVED
    return None if value["risks"] else Reason.NO_SIGNIFICANT_RISK


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


RISK_HISTORY = ("stabbed or shot", "on probation/court order")
NEEDS = ("gang activity", "harm from gangs", "offending", "housing", "health", "family", "education/training/work")
SPECIALIST = ("mental health", "employment", "young women's support")
# Specialist support is numbered on from the seven areas: one list, one answer.
ALL_NEEDS = (*NEEDS, *SPECIALIST)
AGENCIES = ("social care", "youth justice/probation", "police", "housing", "mental health")
GENDERS = ("female", "male", "non-binary")
URGENCY = ("urgent", "soon", "routine")

YN = "Please reply Y or N."

ELIGIBILITY = "Eligibility"
REFERRER = "Referrer"
YOUNG_PERSON = "Young person"
CONSENT = "Consent"
RISKS_AND_NEEDS = "Risks and needs"
CONTACT = "Urgency"

QUESTIONS: tuple[Question, ...] = (
    # Screening first: nothing identifying is asked until the young person is eligible. Questions a
    # referrer answers in one breath are one question: every text they send counts (DOMAIN.md).
    Question("dob", "What is the young person's date of birth? e.g. 14/02/2006",
             "Please send their date of birth day first, like 14/02/2006.", ELIGIBILITY, "Date of birth",
             parse_in_context=_dob, label="DOB", show=show_date, staff=staff_date, screen=_screen_age,
             form_label="DOB (dd/mm/yyyy)"),
    Question("borough", "Which London borough do they live in or have links to? e.g. Lambeth. "
             "Send OUTSIDE if none.",
             "I didn't recognise that borough. Please send its name, e.g. Lambeth, or OUTSIDE.",
             ELIGIBILITY, "London borough", parse=match_borough, label=" ", screen=_screen_borough,
             form_label="London borough (or OUTSIDE)"),
    Question("gang_risks", "Are they in or linked to a gang? If so, which apply: 1 at risk of harm from "
             "gangs (incl. exploitation) 2 risk to self 3 risk to others? e.g. Y 1 3, or N",
             "Please send Y and the numbers that apply, e.g. Y 1 3, or N.", ELIGIBILITY,
             "Involved in gangs, and risks", parse=parse_gang_risks, label="Risks", show=show_gang_risks,
             staff=staff_gang_risks, screen=_screen_gang_risks,
             form_label="In a gang (N, or Y + 1 harm from gangs 2 to self 3 to others)"),
    Question("ready", "Do they show some motivation to end their gang involvement, and are they willing to "
             "work with a caseworker from our service? Y or N", YN, ELIGIBILITY,
             "Motivated to leave and willing to work with us", parse=parse_yes_no,
             screen=_must_be(True, Reason.NOT_READY), choices=YES_NO,
             form_label="Motivated and willing to work with us (Y/N)"),
    Question("supported_elsewhere", "Do they already get extensive support from their borough or other "
             "statutory services, or is the help they need available locally? Y or N", YN, ELIGIBILITY,
             "Extensive existing support, or services available locally", parse=parse_yes_no,
             screen=_must_be(False, Reason.SUPPORTED_ELSEWHERE), choices=YES_NO,
             form_label="Extensive support, or help available locally (Y/N)"),
    # Eligible: now the referrer. What they may ask us to remember for their next referral is marked.
    Question("referrer_name", "Good, they can be referred. Now about you. Your full name?",
             "Please send your name, e.g. Sam Jones.", REFERRER, "Name", parse=parse_name, label="By",
             remember=True,
             form_label="Your name"),
    Question("referrer_job", "Your job title and organisation? e.g. Youth worker, Lambeth YOT",
             "Please send your job title, a comma, then your organisation, e.g. Youth worker, Lambeth YOT.",
             REFERRER, "Job title and organisation", parse=parse_job, label=" ", show=show_job, staff=staff_job,
             remember=True,
             form_label="Your job title, organisation"),
    Question("referrer_phone", "Your phone number? e.g. 07700 900123",
             "Please send a UK phone number, e.g. 07700 900123.", REFERRER, "Phone", parse=parse_uk_phone,
             label=" ", show=show_phone, staff=staff_phone, known=_phone_from_channel, share_phone=True,
             remember=True,
             form_label="Your phone"),
    Question("referrer_email", "Your work email?", "Please send an email address like name@example.org.",
             REFERRER, "Email", parse=parse_email, label=" ", remember=True,
             form_label="Your work email"),
    Question("relationship", "Your relationship to the young person? e.g. their youth worker",
             "Please say how you know them, e.g. their probation officer.", REFERRER,
             "Relationship to the young person", parse=_short(60), label=" ",
             form_label="Relationship to them"),
    # The young person.
    Question("yp_name", "Now the young person. Their full name, and what they like to be called if "
             "different? e.g. Jay Smith, or Jay Smith known as JJ",
             "Please send their first and last name, e.g. Jay Smith, or Jay Smith known as JJ.", YOUNG_PERSON,
             "Name", parse=parse_name_known_as, label="YP", show=show_name, staff=staff_name,
             form_label="Their full name (+ known as, if different)"),
    Question("yp_gender", "Their gender? 1 female 2 male 3 non-binary, or in their own words",
             choose(GENDERS, own_words=", or their own words"), YOUNG_PERSON, "Gender", parse=_gender,
             label=" ", choices=GENDERS,
             form_label="Gender"),
    Question("yp_contact", "Their mobile, and is it safe to 1 text 2 call 3 leave voicemail? Add best times "
             "if any. e.g. 07700 900123 1 2 after 4pm, or NONE if no mobile",
             "Please send the mobile and what is safe, e.g. 07700 900123 1 2, or NONE if no mobile.",
             YOUNG_PERSON, "Mobile, safe to contact by, best times", parse=parse_contact, label="Mob",
             show=show_contact, staff=staff_contact, optional=True,
             form_label="Their mobile (+ safe to 1 text 2 call 3 voicemail; best times; or NONE)"),
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
    Question("history", "Do these apply? 1 victim of a stabbing or shooting 2 on probation or a court order. "
             "Add a short note on risks if useful. e.g. 1 2, or NONE",
             "Please send the numbers that apply and any short note, e.g. 1 threats since he left, or NONE.",
             RISKS_AND_NEEDS, "History, and note on risks", parse=_numbers_note(RISK_HISTORY, 200), label="Past",
             show=show_numbers_note, staff=staff_numbers_note,
             form_label="Past (1 stabbed/shot 2 probation/court order; + short note)"),
    Question("needs", "Needs: 1 gang activity 2 harm from gangs 3 offending 4 housing 5 health 6 family "
             "7 education 8 mental health 9 employment 10 young women's support. e.g. 1 4",
             "Please send the numbers of their needs, e.g. 1 4 8.", RISKS_AND_NEEDS, "Needs and specialist support",
             parse=_picked(ALL_NEEDS, none_ok=False), label="Needs", show=picked_of(ALL_NEEDS),
             form_label="Needs (1 gang activity 2 harm from gangs 3 offending 4 housing 5 healt"
                        "h 6 family 7 EET 8 mental health 9 employment 10 young women)"),
    Question("agencies", "Who is involved? 1 social care 2 youth justice/probation 3 police "
             "4 housing 5 mental health. e.g. 1 3, NONE, or add DK",
             "Please send numbers, e.g. 1 3, or NONE. Add DK if you don't know the rest.", RISKS_AND_NEEDS,
             "Agencies involved", parse=_agencies, label="Involved", show=show_flags,
             form_label="Agencies involved (1 social care 2 YJ/probation 3 police 4 housing 5 mental health; DK)"),
    # Urgency, and anything else.
    Question("urgency_notes", "How urgent? 1 urgent (risk this week) 2 soon 3 routine. Add anything else the "
             "unit should know, short, e.g. 2 prefers a female worker", choose(URGENCY), CONTACT,
             "Urgency, and anything else", parse=_urgency_notes, label="Urgency", show=show_urgency_notes,
             staff=staff_urgency_notes, choices=URGENCY,
             form_label="Urgency (1 urgent 2 soon 3 routine; + anything else)"),
)

BY_KEY: dict[str, Question] = {q.key: q for q in QUESTIONS}
SCREENING_KEYS: frozenset[str] = frozenset(q.key for q in QUESTIONS if q.screen is not None)
REMEMBERED_KEYS: tuple[str, ...] = tuple(q.key for q in QUESTIONS if q.remember)
