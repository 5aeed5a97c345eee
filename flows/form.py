"""FORM: every question as a fill-in template, and a filled-in one read back in one message.

A busy referrer sends FORM, copies the template, fills it and sends it back whole. Each line is read
by its question's own parser (`Question.read`), so a form answer means exactly what the same answer
means in the dialog; the dialog then screens what was read and asks only what is still missing.
The template comes from the question table: a question's `form_label` is its line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flows.model import Answers, Context
from flows.parsing import Invalid, is_skip
from flows.questions import BY_KEY, QUESTIONS, Question
from flows.screening import Reason
from flows.text import MAX_SINGLE, gsm_safe, sms_length

__all__ = [
    "HEADER",
    "FormReading",
    "described",
    "first_reason",
    "label_of",
    "looks_like_form",
    "read_form",
    "reading_note",
    "short_label",
    "template",
]

HEADER = "Fill in after each colon and send it all back as one message. Leave blank what you don't know."
# Two label lines make a message a form: one line could be an ordinary answer ("Risks: ..." at the note).
_FORM_LINES = 2
# A shortened label ("MASH") counts when it is at least this long and starts only one question's label.
_SHORTEST_LABEL = 3
_QUOTED = 24


def label_of(question: Question) -> str:
    """The question's line in the template; a question added without one still gets its heading."""
    return question.form_label or question.heading


def short_label(question: Question) -> str:
    """The label as a referrer would name the line: "DOB", "MASH referral made"."""
    return label_of(question).split("(")[0].split(",")[0].strip()


def template(ctx: Context) -> str:
    """The fill-in template: one line per question the channel does not already answer."""
    lines = [f"{label_of(q)}:" for q in QUESTIONS if q.known_answer(ctx) is None]
    return "\n".join([HEADER, *lines])


# --- matching a line to its question ---------------------------------------------------------------


def _norm(text: str) -> str:
    """Lower-case words only, single-spaced: how labels are compared."""
    return " ".join(re.findall(r"[^\W_]+", text.lower()))


def _names() -> dict[str, str]:
    """Every way a line may name its question, each naming only one: label, its short forms, a unique heading."""
    named: dict[str, set[str]] = {}
    headings = [q.heading for q in QUESTIONS]
    for question in QUESTIONS:
        label = label_of(question)
        before_paren = label.split("(")[0]
        forms = {label, before_paren, before_paren.split(",")[0]}
        if headings.count(question.heading) == 1:
            forms.add(question.heading)
        for form in forms:
            if name := _norm(form):
                named.setdefault(name, set()).add(question.key)
    return {name: keys.pop() for name, keys in named.items() if len(keys) == 1}


_BY_NAME = _names()
# A line without its colon ("DOB 14/02/2006"): the label's words at the start, then the answer.
_AFTER_LABEL = r"(?![^\W_])\s*(?:\([^)]*\)?)?\s*[:=\-]?\s*(.*)"
_LEADING = [
    (re.compile(r"\W*" + r"[\W_]+".join(map(re.escape, name.split())) + _AFTER_LABEL, re.IGNORECASE | re.DOTALL), key)
    for name, key in sorted(_BY_NAME.items(), key=lambda item: len(item[0]), reverse=True)
]
_HEADER_NAME = _norm(HEADER)


def _named(label: str) -> str | None:
    """The question a label names: in full, before its "(", or shortened to a start only one label has."""
    name = _norm(label.split("(")[0])
    if not name:
        return None
    if name in _BY_NAME:
        return _BY_NAME[name]
    if len(name) >= _SHORTEST_LABEL:
        starting = {key for other, key in _BY_NAME.items() if other.startswith(name + " ")}
        if len(starting) == 1:
            return starting.pop()
    return None


def _line(line: str) -> tuple[str, str] | None:
    """The question a line answers and what was written for it, or None when it names no question."""
    label, colon, value = line.partition(":")
    if colon and (key := _named(label)):
        return key, value.strip()
    for pattern, key in _LEADING:
        if found := pattern.fullmatch(line):
            return key, found[1].strip()
    return None


@dataclass(frozen=True)
class _Lines:
    written: dict[str, str]
    """What was written after each question's label, in the order the lines came ("" for a blank)."""
    left_out: tuple[str, ...]
    """Lines that named no question, or named one already answered above: never dropped unsaid."""


def _lines(text: str) -> _Lines:
    written: dict[str, str] = {}
    left_out: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        name = _norm(line)
        if not name or (len(name) >= 10 and _HEADER_NAME.startswith(name)):
            continue  # blank, or the template's own first line sent back with it
        matched = _line(line)
        if matched is None:
            left_out.append(line)
            continue
        key, value = matched
        if written.get(key):
            left_out.append(line)  # a second answer to one question: the first stands, and they are told
        else:
            written[key] = value
    return _Lines(written, tuple(left_out))


def looks_like_form(text: str) -> bool:
    """Whether a message is a filled-in form: at least two of its lines name a question."""
    return len(_lines(text).written) >= _FORM_LINES


# --- reading a filled-in form ---------------------------------------------------------------------


@dataclass(frozen=True)
class FormReading:
    """What a filled-in form gave: answers read by each question's own parser, and what could not be used."""

    answers: Answers
    """Answers read, in question order; a blank optional line is its SKIP (None)."""
    unreadable: tuple[str, ...]
    """Keys of the questions whose line had an answer their parser could not read."""
    left_out: tuple[str, ...]
    """Lines that named no question (or one already answered above)."""


def read_form(text: str, ctx: Context) -> FormReading:
    """Every line of a form read as the dialog reads an answer; a blank required line is just missing."""
    lines = _lines(text)
    answers: Answers = {}
    unreadable: list[str] = []
    for question in QUESTIONS:
        if question.key not in lines.written:
            continue
        written = lines.written[question.key]
        if question.optional and (not written or is_skip(written)):
            answers[question.key] = None
            continue
        if not written:
            continue
        try:
            answers[question.key] = question.read(written, ctx)
        except Invalid:  # Ambiguous too: a form line is not the place to guess between two
            unreadable.append(question.key)
    return FormReading(answers, tuple(unreadable), lines.left_out)


def first_reason(answers: Answers, ctx: Context) -> Reason | None:
    """The first screening answer that rules the referral out, in the order the dialog screens."""
    for question in QUESTIONS:
        if question.screen is not None and question.key in answers:
            reason = question.screen(answers[question.key], answers, ctx)
            if reason is not None:
                return reason
    return None


def reading_note(reading: FormReading, more_to_ask: bool) -> str | None:
    """One text on what the form gave: the lines that could not be read or used, and whether more follows.

    Nothing to say when everything was read: the summary that follows shows it all.
    """
    if not reading.unreadable and not reading.left_out and not more_to_ask:
        return None
    names = [short_label(BY_KEY[key]) for key in reading.unreadable]
    quoted = [_quote(line) for line in reading.left_out]
    for shown_names, shown_quotes in _shorter(len(names), len(quoted)):
        text = _note(names, shown_names, quoted, shown_quotes, more_to_ask)
        if sms_length(text) <= MAX_SINGLE:
            return text
    return _note(names, 0, quoted, 0, more_to_ask)


def _quote(line: str) -> str:
    plain = gsm_safe(line).replace('"', "'")
    return f'"{plain[:_QUOTED].rstrip()}.."' if len(plain) > _QUOTED else f'"{plain}"'


def _shorter(names: int, quotes: int) -> list[tuple[int, int]]:
    """How many names and quoted lines to show, most first, until the note fits one SMS."""
    tries = [(names, quotes)]
    while tries[-1] != (0, 0):
        shown_names, shown_quotes = tries[-1]
        tries.append((shown_names, shown_quotes - 1) if shown_quotes else (shown_names - 1, 0))
    return tries


def _listed(items: Sequence[str], shown: int) -> str:
    rest = len(items) - shown
    if shown == 0:
        return f"{len(items)} line{'s' if len(items) > 1 else ''}"
    listed = ", ".join(items[:shown])
    return f"{listed} and {rest} more" if rest else listed


def _note(names: list[str], shown_names: int, quoted: list[str], shown_quotes: int, more_to_ask: bool) -> str:
    parts = ["Thanks, I've read your form."]
    if names:
        parts.append(f"I couldn't read: {_listed(names, shown_names)}.")
    if quoted:
        parts.append(f"Matching no question, so left out: {_listed(quoted, shown_quotes)}.")
    if more_to_ask:
        parts.append("Now the rest, one at a time:")
    return " ".join(parts)


def described(answers: dict[str, Any]) -> str:
    """Answers as the summary words them, short: "date of birth 14/02/2006, Lambeth"."""
    words = []
    for key, value in answers.items():
        question = BY_KEY[key]
        shown = gsm_safe(question.show(value))
        words.append(f"{question.heading.lower()} {shown}" if question.label.strip() else shown)
    return ", ".join(words)
