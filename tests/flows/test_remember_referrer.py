"""Remembering the referrer, at their choice: the offer after the receipt, Y to use next time, EDIT, FORGET."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from dialog_support import CTX, REFERRAL_ANSWERS, answering, draft_at, run

from flows import messages
from flows.dialog import State, step
from flows.model import Context, Draft, ForgetReferrer, RememberedUsed, RememberReferrer, ScreenedOut, Submitted
from flows.screening import Reason, explanation

SMS = replace(CTX, sender_phone="+447700900123")
KEPT: dict[str, Any] = {"referrer_name": "Sam Okafor", "referrer_job": {"role": "Youth worker", "org": "Redthread"},
                        "referrer_email": "sam@redthread.example.org"}
RETURNING = replace(SMS, remembered=KEPT)
REFERRING_AS = "Good, they can be referred. Referring as Sam Okafor, Youth worker, Redthread. Y to use, or EDIT"


def _sent(ctx: Context = SMS) -> Draft:
    """The draft just after a whole referral is sent."""
    return run(answering(REFERRAL_ANSWERS, ctx), ctx)[-1].draft


def test_after_the_receipt_the_referrer_is_offered_to_keep_their_details_once() -> None:
    final = run(answering(REFERRAL_ANSWERS, SMS), SMS)[-1]
    assert isinstance(final.event, Submitted)
    assert final.replies[1].text == messages.remember_offer_text(True, replacing=False)
    assert final.replies[1].choices == ("Y", "N")
    # Over SMS the phone comes from the number itself: it is not what is kept.
    assert final.draft.state == State.OFFER_REMEMBER and final.draft.answers == {
        "referrer_name": "Samira Okonkwo-Bright", "referrer_job": {"role": "Youth worker", "org": "Lambeth YOT"},
        "referrer_email": "samira.ob@lambeth-yot.example.org"}


def test_y_to_the_offer_keeps_the_details_and_says_how_to_forget_them() -> None:
    kept = step(_sent(), "Y", SMS)
    assert isinstance(kept.memory, RememberReferrer)
    assert kept.memory.details["referrer_name"] == "Samira Okonkwo-Bright"
    assert [r.text for r in kept.replies] == [messages.kept_text(True)]
    assert "FORGET" in kept.replies[0].text
    assert kept.draft.state == State.DONE and kept.draft.answers == {}


def test_over_a_channel_without_a_number_the_typed_phone_is_kept_too_and_the_offer_says_account() -> None:
    final = run(answering(REFERRAL_ANSWERS, CTX), CTX)[-1]
    assert "this account" in final.replies[1].text
    kept = step(final.draft, "yes", CTX)
    assert isinstance(kept.memory, RememberReferrer) and kept.memory.details["referrer_phone"] == "+447700900123"


def test_n_to_the_offer_keeps_nothing() -> None:
    declined = step(_sent(), "N", SMS)
    assert declined.memory is None
    assert [r.text for r in declined.replies] == [messages.NOT_KEPT]
    assert declined.draft.state == State.DONE and declined.draft.answers == {}


def test_anything_else_after_the_offer_starts_a_new_referral_and_keeps_nothing() -> None:
    ignored = step(_sent(), "hi", SMS)
    assert ignored.memory is None
    assert ignored.replies[0].text == messages.WELCOME
    assert ignored.draft.state == "dob" and ignored.draft.answers == {"referrer_phone": "+447700900123"}


def test_the_offer_is_not_made_when_the_same_details_are_already_kept() -> None:
    final = run(answering(REFERRAL_ANSWERS, RETURNING), RETURNING)[-1]
    assert isinstance(final.event, Submitted)
    assert len(final.replies) == 1 and final.draft.state == State.DONE


def test_next_time_the_kept_details_are_offered_after_screening_and_y_uses_them() -> None:
    outcomes = run(answering(REFERRAL_ANSWERS, RETURNING, until=State.USE_REMEMBERED), RETURNING)
    at_offer = outcomes[-1]
    assert [r.text for r in at_offer.replies] == [REFERRING_AS]
    assert at_offer.replies[0].choices == ("Y", "EDIT")
    # Screening came first, unchanged: nothing about the referrer before it.
    assert [o.draft.state for o in outcomes[:-1]] == ["dob", "borough", "gang_risks", "ready", "supported_elsewhere"]
    used = step(at_offer.draft, "Y", RETURNING)
    assert isinstance(used.memory, RememberedUsed)
    assert used.draft.state == "relationship"
    assert used.draft.answers["referrer_name"] == "Sam Okafor"
    assert used.draft.answers["referrer_phone"] == "+447700900123"


def test_the_summary_still_shows_the_kept_details_for_checking() -> None:
    texts = answering({**REFERRAL_ANSWERS, "use_remembered": "Y"}, RETURNING, until=State.SUMMARY)
    summary = run(texts, RETURNING)[-1].replies[-1].text
    for shown in ("By: Sam Okafor", "Youth worker, Redthread", "sam@redthread.example.org"):
        assert shown in summary


def test_edit_asks_the_referrer_questions_and_then_offers_to_keep_the_new_details_instead() -> None:
    answers = {**REFERRAL_ANSWERS, "use_remembered": "EDIT", "referrer_job": "Team leader, Redthread"}
    outcomes = run(answering(answers, RETURNING), RETURNING)
    states = [o.draft.state for o in outcomes]
    assert states[states.index(State.USE_REMEMBERED) + 1] == "referrer_name"
    final = outcomes[-1]
    assert isinstance(final.event, Submitted)
    assert final.event.answers["referrer_job"] == {"role": "Team leader", "org": "Redthread"}
    assert final.replies[1].text == messages.remember_offer_text(True, replacing=True)
    kept = step(final.draft, "y", RETURNING)
    assert isinstance(kept.memory, RememberReferrer)
    assert kept.memory.details["referrer_job"] == {"role": "Team leader", "org": "Redthread"}


def test_anything_but_y_or_edit_at_the_kept_details_is_asked_again() -> None:
    at_offer = draft_at(State.USE_REMEMBERED, RETURNING)
    outcome = step(at_offer, "maybe", RETURNING)
    assert outcome.draft.state == State.USE_REMEMBERED
    assert [r.text for r in outcome.replies] == [messages.USE_REMEMBERED_REASK]


def test_back_after_using_the_kept_details_returns_to_them_and_then_to_screening() -> None:
    used = step(draft_at(State.USE_REMEMBERED, RETURNING), "Y", RETURNING)
    back = step(used.draft, "back", RETURNING)
    assert back.draft.state == State.USE_REMEMBERED and back.replies[0].text == REFERRING_AS
    assert step(back.draft, "back", RETURNING).draft.state == "supported_elsewhere"


@pytest.mark.parametrize("state", ["dob", "relationship", State.SUMMARY, State.DONE, State.NEW])
def test_forget_at_any_point_forgets_and_says_so_and_the_question_stands(state: str) -> None:
    before = Draft(state=state) if state in (State.DONE, State.NEW) else draft_at(state, RETURNING)
    outcome = step(before, "FORGET", RETURNING)
    assert isinstance(outcome.memory, ForgetReferrer)
    assert outcome.replies[0].text == messages.FORGOTTEN
    assert outcome.draft.state == before.state
    if state not in (State.DONE, State.NEW):
        assert len(outcome.replies) == 2


def test_forget_at_the_kept_details_asks_the_referrer_questions_instead() -> None:
    outcome = step(draft_at(State.USE_REMEMBERED, RETURNING), "forget", RETURNING)
    assert isinstance(outcome.memory, ForgetReferrer)
    assert outcome.draft.state == "referrer_name"
    assert "referrer_name" not in outcome.draft.answers


def test_forget_with_nothing_kept_says_there_was_nothing() -> None:
    outcome = step(Draft(), "forget", SMS)
    assert isinstance(outcome.memory, ForgetReferrer)
    assert [r.text for r in outcome.replies] == [messages.NOTHING_KEPT]


def test_forget_at_the_offer_keeps_nothing() -> None:
    outcome = step(_sent(), "forget", SMS)
    assert isinstance(outcome.memory, ForgetReferrer)
    assert outcome.draft.state == State.DONE and outcome.draft.answers == {}


def test_help_mentions_forget() -> None:
    assert "FORGET" in messages.help_text(CTX.unit_contact)


def test_screening_still_comes_first_and_screens_out_a_returning_referrer() -> None:
    outcome = run(["hi", "14/02/2006", "Lambeth", "n"], RETURNING)[-1]
    assert outcome.event == ScreenedOut(Reason.NOT_GANG_INVOLVED.value)
    assert [r.text for r in outcome.replies] == [explanation(Reason.NOT_GANG_INVOLVED, 16, 24)]
    assert outcome.memory is None


def test_a_returning_referral_over_sms_takes_at_most_18_texts_and_a_first_one_25() -> None:
    first = [*answering(REFERRAL_ANSWERS, SMS), "Y"]
    assert len(first) <= 25
    again = answering(REFERRAL_ANSWERS, RETURNING)
    assert len(again) <= 18
