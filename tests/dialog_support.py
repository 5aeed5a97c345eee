"""Driving the pure dialog in tests: a context, and a run of messages through `step`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from support import LONDON, WHOLE_REFERRAL, at

from flows.dialog import step
from flows.model import Context, Draft, Outcome

WEEKDAY_MORNING = at("2026-11-25 10:00")  # a Wednesday, the unit is open
CTX = Context(now=WEEKDAY_MORNING, reference="LGX-7K3Q9")

# Message index in WHOLE_REFERRAL at which each state is asked (the reply to message i asks the next).
ELIGIBLE_UNTIL_DETAILS = WHOLE_REFERRAL[:9]


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
    current = Draft()
    for text in WHOLE_REFERRAL:
        if current.state == state:
            return current
        current = step(current, text, ctx).draft
    if current.state == state:
        return current
    raise LookupError(f"the whole referral never reaches {state}")


def with_now(ctx: Context, when: str) -> Context:
    return replace(ctx, now=at(when))


__all__ = ["CTX", "ELIGIBLE_UNTIL_DETAILS", "LONDON", "WHOLE_REFERRAL", "draft_at", "last", "run", "with_now"]
