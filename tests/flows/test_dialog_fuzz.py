"""Arbitrary text at every state: never an exception, always a short reply, nothing lost on bad input."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from dialog_support import CTX, draft_at
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.dialog import STATES, State, command_of, step
from flows.model import Context, Draft, ReplyKind
from flows.parsing import Invalid, is_skip
from flows.questions import BY_KEY, QUESTIONS
from flows.safety import suggests_immediate_danger
from flows.summary import MAX_SUMMARY_SEGMENTS, summary_items
from flows.text import segment_count

SMS = replace(CTX, sender_phone="+447700900999")
REMEMBERING = replace(SMS, remembered={"referrer_name": "Sam Okafor", "referrer_email": "sam@example.org",
                                       "referrer_job": {"role": "Youth worker", "org": "Redthread"}})


def _draft_for(state: str) -> Draft:
    if state == State.CONFIRM_RESTART:
        return step(draft_at("urgency_notes"), "restart", CTX).draft
    if state in (State.NEW, State.DONE, State.SCREENED_OUT):
        return Draft(state=state)
    if state == "mash":
        return _under_18_at_mash()
    if state == State.USE_REMEMBERED:
        return draft_at(state, REMEMBERING)
    return draft_at(state)


def _under_18_at_mash() -> Draft:
    from support import REFERRAL_ANSWERS, answering

    draft = Draft()
    for text in answering({**REFERRAL_ANSWERS, "dob": "01/01/2010"}, CTX, until="mash"):
        draft = step(draft, text, CTX).draft
    return draft


DRAFTS = {state: _draft_for(state) for state in STATES if state != "referrer_phone"}
DRAFTS["referrer_phone"] = draft_at("referrer_phone")

nasty_text = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=1000, max_size=10_000),
    st.sampled_from(["", " ", "\x00", "\n\n", "'; DROP TABLE referrals; --", "<script>alert(1)</script>",
                     "😀😀😀", "\u202e\u200b", "1" * 5000, "00/00/0000", "-1", "99", "Y N", "%s%n"]),
)


@pytest.mark.parametrize("state", sorted(DRAFTS), ids=str)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=nasty_text)
def test_any_text_in_any_state_gets_short_replies_and_bad_input_changes_nothing(state: str, text: str) -> None:
    before = DRAFTS[state]
    outcome = step(before, text, CTX)
    assert outcome.replies, "every message gets a reply"
    for reply in outcome.replies:
        limit = MAX_SUMMARY_SEGMENTS if reply.kind is ReplyKind.SUMMARY else 1
        assert segment_count(reply.text) <= limit, reply.text
    question = BY_KEY.get(state)
    if question is None or command_of(text) is not None or suggests_immediate_danger(text):
        return
    if question.optional and is_skip(text):
        return
    try:
        question.read(text, CTX)
    except Invalid:
        assert outcome.draft.state == before.state
        assert outcome.draft.answers == before.answers


@settings(max_examples=40, deadline=None)
@given(texts=st.lists(st.text(max_size=40), min_size=1, max_size=25))
def test_any_sequence_of_messages_never_raises(texts: list[str]) -> None:
    draft = Draft()
    for text in texts:
        outcome = step(draft, text, SMS)
        assert outcome.replies
        draft = outcome.draft
    assert draft.state in STATES


def _answers_in_the_whole_referral() -> dict[str, str]:
    from support import REFERRAL_ANSWERS

    return {"new": "hi", **REFERRAL_ANSWERS, State.SUMMARY: "YES", State.USE_REMEMBERED: "Y",
            State.OFFER_REMEMBER: "Y"}


ANSWERS = _answers_in_the_whole_referral()


def _form_missing_two() -> str:
    """A filled-in form with two lines left blank: the dialog asks those two, passing the rest."""
    from flows.form import label_of

    blank = ("referrer_email", "needs", "new", State.SUMMARY)
    return "\n".join(f"{label_of(q)}: {'' if q.key in blank else ANSWERS[q.key]}" for q in QUESTIONS)


FORM_TEXT = _form_missing_two()
# What to send, by what the conversation is at: mostly the whole referral's answers, with the moves
# whose destination the conversation decides (BACK, an edit by number, carrying on after RESTART).
MOVES: dict[str, Callable[[str], str]] = {
    "answer": lambda state: ANSWERS.get(state, "hi"),
    "back": lambda state: "back",
    "restart": lambda state: "restart",
    "carry on": lambda state: "no",
    "under 18": lambda state: "01/01/2010" if state == "dob" else ANSWERS.get(state, "hi"),
    "form": lambda state: FORM_TEXT,
    "no mobile": lambda state: "skip" if state == "yp_contact" else ANSWERS.get(state, "hi"),
    "edit kept details": lambda state: "edit" if state == State.USE_REMEMBERED else ANSWERS.get(state, "hi"),
    "forget": lambda state: "forget",
}


@settings(max_examples=200, deadline=None)
@given(start=st.sampled_from(sorted(DRAFTS)), ctx=st.sampled_from([CTX, SMS, REMEMBERING]), moves=st.lists(
    st.one_of(st.sampled_from(["answer"] * 4 + sorted(MOVES)), st.integers(min_value=1, max_value=len(QUESTIONS))),
    max_size=60))
def test_back_edits_and_carrying_on_always_find_their_transition(
    start: str, ctx: Context, moves: list[str | int]
) -> None:
    draft = DRAFTS[start]
    for move in moves:
        if isinstance(move, int):
            text = str(move) if draft.state == State.SUMMARY else ANSWERS.get(draft.state, "hi")
        else:
            text = MOVES[move](draft.state)
        before = draft
        draft = step(before, text, ctx).draft
        if text == "back" and (before.state in BY_KEY or before.state == State.SUMMARY):
            if before.editing:
                assert draft.state == State.SUMMARY and not draft.editing
            elif before.history:
                assert draft.state == before.history[-1] and draft.history == before.history[:-1]
        elif before.state == State.CONFIRM_RESTART and text == "no":
            assert draft.state == (before.resume or "dob")
        elif before.state == State.SUMMARY and text.isdigit():
            items = summary_items(before.answers, ctx)
            if 1 <= int(text) <= len(items):
                assert draft.state == items[int(text) - 1].key and draft.editing
