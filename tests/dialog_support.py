"""Driving the pure dialog in tests: a context, and a run of messages through `step`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from support import LONDON, REFERRAL_ANSWERS, WHOLE_REFERRAL, answering, at

from flows.dialog import step
from flows.model import Context, Draft, Outcome

WEEKDAY_MORNING = at("2026-11-25 10:00")  # a Wednesday, the unit is open
CTX = Context(now=WEEKDAY_MORNING, reference="LGX-7K3Q9")

# The messages of a referral up to the first question after screening.
ELIGIBLE_UNTIL_DETAILS = answering(REFERRAL_ANSWERS, CTX, until="referrer_name")


def run(texts: Sequence[str], ctx: Context = CTX, draft: Draft | None = None) -> list[Outcome]:
    """Each message in turn; the outcome of each."""
    outcomes: list[Outcome] = []
    current = draft or Draft()
    for text in texts:
        outcome = step(current, text, ctx)
        outcomes.append(outcome)
        current = outcome.draft
    return outcomes


def last(texts: Sequence[str], ctx: Context = CTX) -> Outcome:
    return run(texts, ctx)[-1]


def draft_at(state: str, ctx: Context = CTX) -> Draft:
    """The draft as it stands when `state` is being asked in the whole referral."""
    texts = answering(REFERRAL_ANSWERS, ctx, until=state)
    return run(texts, ctx)[-1].draft if texts else Draft()


def with_now(ctx: Context, when: str) -> Context:
    return replace(ctx, now=at(when))


__all__ = ["CTX", "ELIGIBLE_UNTIL_DETAILS", "LONDON", "REFERRAL_ANSWERS", "WHOLE_REFERRAL", "answering", "draft_at",
           "last", "run", "with_now"]
