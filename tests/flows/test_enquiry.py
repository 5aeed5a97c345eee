"""The enquiry path (ME), with no I/O: what it asks, what it never says, and arbitrary text at every state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
from dialog_support import CTX, with_now
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows import enquiry, messages
from flows.discreet import check_discreet
from flows.enquiry import (
    EMERGENCY,
    HELP,
    MAX_MESSAGE,
    STEPS,
    EnquiryOutcome,
    EnquirySent,
    EnquiryState,
    done_text,
    sent_text,
    starts_enquiry,
    step_enquiry,
)
from flows.model import ReplyKind
from flows.parsing import Invalid
from flows.safety import suggests_immediate_danger
from flows.text import segment_count


def run(texts: Sequence[str], ctx: Any = CTX, draft: dict[str, Any] | None = None) -> list[EnquiryOutcome]:
    outcomes: list[EnquiryOutcome] = []
    current = draft
    for text in texts:
        outcome = step_enquiry(current, text, ctx)
        outcomes.append(outcome)
        current = outcome.progress.to_json()
    return outcomes


def draft_at(state: EnquiryState) -> dict[str, Any]:
    path = {EnquiryState.NAME: ["ME"], EnquiryState.SAFE_TO_TEXT: ["ME", "Sam"],
            EnquiryState.MESSAGE: ["ME", "Sam", "Y"], EnquiryState.DONE: ["ME", "Sam", "Y", "Can I talk to someone?"]}
    return run(path[state])[-1].progress.to_json()


def test_me_asks_what_to_call_them_then_safe_to_text_then_their_message() -> None:
    outcomes = run(["ME", "Sam", "y", "Can someone call me about my brother?"])
    assert "What should we call you?" in outcomes[0].replies[0].text
    assert outcomes[1].replies[0].text.startswith("Is it safe for us to send messages to you here?")
    assert outcomes[1].replies[0].choices == ("Y", "N")
    assert "What would you like to ask or tell us?" in outcomes[2].replies[0].text
    assert outcomes[3].event == EnquirySent("Sam", True, "Can someone call me about my brother?")
    assert [o.event for o in outcomes[:3]] == [None, None, None]
    assert outcomes[3].progress.state is EnquiryState.DONE
    assert outcomes[3].progress.answers == {}, "the answers go with the enquiry, not in the draft"


def test_the_receipt_says_when_someone_will_reply_in_and_out_of_office_hours() -> None:
    texts = ["ME", "Sam", "Y", "hello"]
    assert run(texts)[-1].replies[0].text == sent_text(True, "today")
    saturday = with_now(CTX, "2026-11-28 11:00")
    assert "from 9am Monday" in run(texts, saturday)[-1].replies[0].text
    evening = with_now(CTX, "2026-11-25 19:30")
    assert "from 9am tomorrow" in run(texts, evening)[-1].replies[0].text


def test_not_safe_to_text_asks_how_to_reach_them_and_the_receipt_does_not_promise_a_text() -> None:
    outcomes = run(["ME", "Sam", "n", "call my mum's phone after 6"])
    assert "won't text you" in outcomes[2].replies[0].text
    assert "how and when we can reach you safely" in outcomes[2].replies[0].text
    assert outcomes[3].event == EnquirySent("Sam", False, "call my mum's phone after 6")
    assert "text you back" not in outcomes[3].replies[0].text


def test_telegram_me_command_works_like_me() -> None:
    assert starts_enquiry("/me") and starts_enquiry(" Me. ") and starts_enquiry("ME")
    assert not starts_enquiry("me and my son") and not starts_enquiry("help me")


def test_bad_answers_get_a_kind_reask_and_lose_nothing() -> None:
    at_name = draft_at(EnquiryState.NAME)
    empty = step_enquiry(at_name, "   ", CTX)
    assert empty.replies[0].text == STEPS[EnquiryState.NAME].reask
    assert empty.progress.state is EnquiryState.NAME
    at_safe = draft_at(EnquiryState.SAFE_TO_TEXT)
    unclear = step_enquiry(at_safe, "maybe later", CTX)
    assert unclear.replies[0].text == STEPS[EnquiryState.SAFE_TO_TEXT].reask
    assert unclear.progress.answers == {"name": "Sam"} and unclear.progress.state is EnquiryState.SAFE_TO_TEXT
    long = step_enquiry(draft_at(EnquiryState.MESSAGE), "x" * (MAX_MESSAGE + 1), CTX)
    assert "too long" in long.replies[0].text and long.event is None
    assert long.progress.answers == {"name": "Sam", "safe_to_text": True}


def test_back_goes_to_the_last_question_and_keeps_what_was_said() -> None:
    back = step_enquiry(draft_at(EnquiryState.MESSAGE), "BACK", CTX)
    assert back.progress.state is EnquiryState.SAFE_TO_TEXT
    assert back.progress.answers == {"name": "Sam", "safe_to_text": True}
    first = step_enquiry(draft_at(EnquiryState.NAME), "back", CTX)
    assert first.replies[0].text == messages.FIRST_QUESTION and first.progress.state is EnquiryState.NAME


def test_restart_starts_the_enquiry_again_and_help_says_what_to_do() -> None:
    again = step_enquiry(draft_at(EnquiryState.MESSAGE), "restart", CTX)
    assert again.progress.state is EnquiryState.NAME and again.progress.answers == {}
    helped = step_enquiry(draft_at(EnquiryState.SAFE_TO_TEXT), "HELP", CTX)
    assert helped.replies[0].text == HELP and "999" in HELP and "0800 1111" in HELP
    assert helped.progress.state is EnquiryState.SAFE_TO_TEXT


def test_me_part_way_carries_on_and_after_the_end_starts_another() -> None:
    carry_on = step_enquiry(draft_at(EnquiryState.MESSAGE), "ME", CTX)
    assert carry_on.progress.state is EnquiryState.MESSAGE and carry_on.progress.answers["name"] == "Sam"
    later = step_enquiry(draft_at(EnquiryState.DONE), "one more thing", CTX)
    assert later.replies[0].text == done_text("today") and later.event is None
    another = step_enquiry(draft_at(EnquiryState.DONE), "me", CTX)
    assert another.progress.state is EnquiryState.NAME


def test_danger_gets_999_childline_and_shout_at_once_and_the_question_stands() -> None:
    outcome = step_enquiry(draft_at(EnquiryState.NAME), "they are outside my house with a knife", CTX)
    assert outcome.danger
    assert outcome.replies[0].kind is ReplyKind.EMERGENCY and outcome.replies[0].text == EMERGENCY
    assert "999" in EMERGENCY and "0800 1111" in EMERGENCY and "85258" in EMERGENCY
    assert "text 999" not in EMERGENCY.lower()
    assert outcome.progress.state is EnquiryState.NAME and outcome.progress.answers == {}


def test_a_danger_message_as_the_enquiry_is_answered_and_still_sent_to_the_unit() -> None:
    outcome = step_enquiry(draft_at(EnquiryState.MESSAGE), "he is going to stab me tonight", CTX)
    assert outcome.danger and outcome.replies[0].text == EMERGENCY
    assert outcome.event == EnquirySent("Sam", True, "he is going to stab me tonight")


def test_the_enquirer_is_never_asked_the_professionals_questions() -> None:
    from flows.questions import QUESTIONS

    professional = {q.text for q in QUESTIONS}
    for outcome in run(["ME", "back", "Sam", "back", "Sam", "Y", "hello", "more", "help", "me", "restart"]):
        for reply in outcome.replies:
            assert reply.text not in professional


def _every_fixed_text() -> list[str]:
    whens = ("today", "from 12:30pm Wednesday", "from 9am tomorrow", "as soon as it can")
    texts = [EMERGENCY, HELP, messages.FIRST_QUESTION, enquiry._RESTARTED, enquiry._TOO_LONG]
    for row in STEPS.values():
        texts += [row.ask({}), row.ask({"safe_to_text": False}), row.reask]
    for when in whens:
        texts += [sent_text(True, when), sent_text(False, when), done_text(when)]
    return texts


@pytest.mark.parametrize("text", _every_fixed_text())
def test_every_enquiry_text_is_discreet_and_one_segment(text: str) -> None:
    assert check_discreet(text) == []


def test_the_first_reply_offers_me_within_one_segment_and_help_mentions_it() -> None:
    assert messages.WELCOME.endswith("Young person or family? Send ME")
    assert segment_count(messages.WELCOME) == 1
    assert "Send ME" in messages.help_text("x" * 40) and segment_count(messages.help_text("x" * 40)) == 1


STATES_DRAFTS = {state: draft_at(state) for state in EnquiryState}
nasty_text = st.one_of(
    st.text(max_size=300),
    st.text(min_size=900, max_size=3000),
    st.sampled_from(["", " ", "\x00", "\n\n", "😀😀😀", "\u202e\u200b", "1" * 5000, "Y N", "me", "/me", "back",
                     "restart", "help", "/start", "STOP", "yes", "n"]),
)


@pytest.mark.parametrize("state", list(EnquiryState), ids=str)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=nasty_text)
def test_any_text_at_any_state_gets_discreet_replies_and_bad_input_changes_nothing(state: EnquiryState,
                                                                                   text: str) -> None:
    before = STATES_DRAFTS[state]
    outcome = step_enquiry(before, text, CTX)
    assert outcome.replies, "every message gets a reply"
    for reply in outcome.replies:
        assert check_discreet(reply.text) == [], reply.text
    row = STEPS.get(state)
    if row is None or enquiry._command(text) is not None or suggests_immediate_danger(text):
        return
    try:
        row.read(text)
    except Invalid:
        assert outcome.progress.to_json()["state"] == before["state"]
        assert outcome.progress.answers == before["enquiry"]


@settings(max_examples=60, deadline=None)
@given(texts=st.lists(st.text(max_size=40), min_size=1, max_size=20))
def test_any_sequence_of_messages_stays_on_the_path(texts: list[str]) -> None:
    draft = replace(EnquiryOutcome([], step_enquiry(None, "ME", CTX).progress)).progress.to_json()
    for text in texts:
        outcome = step_enquiry(draft, text, CTX)
        assert outcome.replies
        draft = outcome.progress.to_json()
        assert draft["state"] in {s.value for s in EnquiryState}
