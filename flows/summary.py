"""The summary a referrer checks before sending: in words, numbered so any one answer can be changed."""

from __future__ import annotations

from flows.model import Answers, Context
from flows.questions import Question, applicable
from flows.text import gsm_safe, segment_count

__all__ = ["HEADER", "MAX_SUMMARY_SEGMENTS", "SO_FAR", "render_summary", "summary_items"]

# A whole referral in words fits four segments; a professional can take that many (DOMAIN.md).
MAX_SUMMARY_SEGMENTS = 4
HEADER = "Check, then YES to send, or a number to change it:"
SO_FAR = "Your answers so far:"
_SHORTEST = 4


def summary_items(answers: Answers, ctx: Context) -> list[Question]:
    """The answered questions shown in the summary, in order; item N is the Nth of these."""
    return [q for q in applicable(answers, ctx) if q.label and q.key in answers]


# A label of " " means: shown in the summary, but the value speaks for itself.


def render_summary(answers: Answers, ctx: Context, header: str = HEADER) -> str:
    """The numbered summary; the longest values are trimmed until it fits four SMS segments."""
    items = summary_items(answers, ctx)
    labels = [q.label for q in items]
    values = [gsm_safe(q.show(answers[q.key])) or "-" for q in items]
    text = _render(header, labels, values)
    while segment_count(text) > MAX_SUMMARY_SEGMENTS:
        longest = max(range(len(values)), key=lambda i: len(values[i]), default=None)
        if longest is None or len(values[longest]) <= _SHORTEST:
            # Even trimmed to the bone it won't fit: drop labels, the numbers still work.
            labels = [""] * len(labels)
            text = _render(header, labels, values)
            break
        value = values[longest].removesuffix("..")
        cut = max(_SHORTEST - 2, len(value) - max(2, len(value) // 4))
        values[longest] = value[:cut].rstrip() + ".."
        text = _render(header, labels, values)
    return text


def _render(header: str, labels: list[str], values: list[str]) -> str:
    lines = [header]
    for number, (label, value) in enumerate(zip(labels, values, strict=True), start=1):
        lines.append(f"{number} {label}: {value}" if label.strip() else f"{number} {value}")
    return "\n".join(lines)
