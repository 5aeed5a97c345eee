"""Every path of the referral dialog, with no database and no network."""

from __future__ import annotations

from dataclasses import replace

import pytest
from dialog_support import (
    CTX,
    ELIGIBLE_UNTIL_DETAILS,
    REFERRAL_ANSWERS,
    WHOLE_REFERRAL,
    answering,
    draft_at,
    last,
    run,
    with_now,
)

from flows import messages
from flows.dialog import State, step
from flows.model import Draft, ReplyKind, ScreenedOut, Submitted
from flows.questions import BY_KEY
from flows.screening import Reason, explanation
from flows.summary import summary_items


def test_an_eligible_referral_is_submitted_with_every_answer_and_a_receipt() -> None:
    outcomes = run(WHOLE_REFERRAL)
    final = outcomes[-1]
    assert isinstance(final.event, Submitted)
    assert final.event.reference == "LGX-7K3Q9"
    answers = final.event.answers
    assert answers["dob"] == "2006-02-14"
    assert answers["borough"] == "Lambeth"
    assert answers["gang_risks"] == {"involved": True, "risks": ["harm from gangs", "risk to others"]}
    assert answers["ready"] is True and answers["supported_elsewhere"] is False
    assert answers["referrer_job"] == {"role": "Youth worker", "org": "Lambeth YOT"}
    assert answers["referrer_phone"] == "+447700900123"
    assert answers["yp_name"]["known_as"] is None
    assert answers["yp_gender"] == "male"
    assert answers["consent"]["agreed"] is True and answers["consent"]["at"].startswith("2026-11-25")
    assert answers["agencies"] == {"social care": True, "youth justice/probation": False, "police": True,
                                   "housing": False, "mental health": False}
    assert answers["yp_contact"] == {"mobile": "+447700900456", "safe": {"text": True, "call": True,
                                                                         "voicemail": False}, "times": "after 4pm"}
    assert answers["needs"] == ["gang activity", "housing", "education/training/work", "mental health"]
    assert answers["history"] == {"items": ["stabbed or shot"], "note": None}
    assert answers["urgency_notes"] == {"level": "soon", "notes": None}
    assert "mash" not in answers  # 20 years old: the MASH question does not apply
    assert final.replies[0].text.startswith("Thank you. Referral LGX-7K3Q9 is received and queued.")
    assert "today" in final.replies[0].text
    # The referrer is then offered to keep their own details; nothing of the referral stays in the draft.
    assert final.draft.state == State.OFFER_REMEMBER
    assert set(final.draft.answers) == {"referrer_name", "referrer_job", "referrer_phone", "referrer_email"}


def test_the_first_message_warns_it_is_not_an_emergency_service() -> None:
    first = last(["hello"])
    assert "999" in first.replies[0].text and "Not an emergency service" in first.replies[0].text
    assert first.draft.state == "dob"


SCREENING = {
    Reason.TOO_YOUNG: ["hi", "26/11/2010"],  # 16 tomorrow
    Reason.TOO_OLD: ["hi", "25/11/2001"],  # 25 today
    Reason.NOT_LONDON: ["hi", "14/02/2006", "outside"],
    Reason.NOT_GANG_INVOLVED: ["hi", "14/02/2006", "Lambeth", "n"],
    Reason.NO_SIGNIFICANT_RISK: ["hi", "14/02/2006", "Lambeth", "y none"],
    Reason.NOT_READY: ["hi", "14/02/2006", "Lambeth", "y 1", "no"],
    Reason.SUPPORTED_ELSEWHERE: ["hi", "14/02/2006", "Lambeth", "yes, 1 and 3", "y", "yes"],
}


@pytest.mark.parametrize(("text", "expected"), [
    ("Y 1 3", {"involved": True, "risks": ["harm from gangs", "risk to others"]}),
    ("yes, 1 and 3", {"involved": True, "risks": ["harm from gangs", "risk to others"]}),
    ("1 3", {"involved": True, "risks": ["harm from gangs", "risk to others"]}),
    ("y 2", {"involved": True, "risks": ["risk to self"]}),
    ("N", {"involved": False, "risks": []}),
    ("no", {"involved": False, "risks": []}),
])
def test_gang_involvement_and_risks_are_one_answer(text: str, expected: dict[str, object]) -> None:
    assert BY_KEY["gang_risks"].read(text, CTX) == expected


def test_a_yes_to_the_gang_question_without_the_risks_asks_for_them() -> None:
    outcome = step(draft_at("gang_risks"), "Y", CTX)
    assert outcome.draft.state == "gang_risks"
    assert [r.text for r in outcome.replies] == ["Please send Y and the numbers that apply, e.g. Y 1 3, or N."]


@pytest.mark.parametrize("reason", list(SCREENING), ids=str)
def test_screening_stops_at_the_first_disqualifying_answer(reason: Reason) -> None:
    outcome = last(SCREENING[reason])
    assert outcome.event == ScreenedOut(reason.value)
    assert [r.text for r in outcome.replies] == [explanation(reason, 16, 24)]
    assert outcome.draft.state == State.SCREENED_OUT
    assert outcome.draft.answers == {} and outcome.draft.history == []


def test_screening_explanations_say_why_and_what_to_do_instead() -> None:
    for reason in Reason:
        text = explanation(reason, 16, 24)
        assert "can't take this" in text
        assert any(word in text for word in ("help", "refer again", "Refer again", "local", "advise", "best placed"))


def test_age_is_counted_on_the_day_of_referral_at_both_edges() -> None:
    assert last(["hi", "25/11/2010"]).draft.state == "borough"  # 16 today
    assert last(["hi", "26/11/2001"]).draft.state == "borough"  # 24, 25 tomorrow


def test_the_age_range_comes_from_the_context() -> None:
    wider = replace(CTX, min_age=15, max_age=25)
    assert last(["hi", "26/11/2010"], wider).draft.state == "borough"
    assert last(["hi", "25/11/2001"], wider).draft.state == "borough"
    assert last(["hi", "25/11/2000"], wider).event == ScreenedOut("too_old")


def test_back_returns_to_the_previous_question_and_keeps_the_answer_until_replaced() -> None:
    outcome = last(["hi", "14/02/2006", "Lambeth", "back"])
    assert outcome.draft.state == "borough"
    assert outcome.replies[0].text.startswith("Which London borough")
    again = last(["hi", "14/02/2006", "Lambeth", "back", "back"])
    assert again.draft.state == "dob"


def test_back_at_the_first_question_says_so() -> None:
    outcome = last(["hi", "BACK"])
    assert outcome.replies[0].text == messages.FIRST_QUESTION
    assert outcome.draft.state == "dob"


def test_back_from_the_summary_returns_to_the_last_question() -> None:
    outcome = step(draft_at(State.SUMMARY), "back", CTX)
    assert outcome.draft.state == "urgency_notes"


def test_restart_needs_confirming_and_then_discards_the_draft() -> None:
    asked = last([*ELIGIBLE_UNTIL_DETAILS, "restart"])
    assert asked.draft.state == State.CONFIRM_RESTART
    assert asked.replies[0].text == messages.CONFIRM_RESTART
    done = step(asked.draft, "RESTART", CTX)
    assert done.draft.state == "dob"
    assert done.draft.answers == {} and done.draft.history == []
    assert done.replies[0].text == messages.RESTARTED


def test_anything_but_restart_at_the_confirmation_carries_on_where_it_was() -> None:
    asked = last([*ELIGIBLE_UNTIL_DETAILS, "restart"])
    kept = step(asked.draft, "no, carry on", CTX)
    assert kept.draft.state == "referrer_name"
    assert kept.draft.answers == asked.draft.answers
    assert kept.replies[0].text == messages.CARRY_ON


def test_help_explains_and_repeats_the_question_without_moving() -> None:
    before = last(["hi", "14/02/2006"])
    outcome = step(before.draft, "help", CTX)
    assert outcome.replies[0].text == messages.help_text(CTX.unit_contact)
    assert outcome.replies[1].text.startswith("Which London borough")
    assert outcome.draft == before.draft


def test_summary_mid_flow_shows_the_answers_so_far_and_the_question() -> None:
    before = last(["hi", "14/02/2006", "Lambeth"])
    outcome = step(before.draft, "SUMMARY", CTX)
    assert outcome.replies[0].kind is ReplyKind.SUMMARY
    assert "14/02/2006" in outcome.replies[0].text and "Lambeth" in outcome.replies[0].text
    assert outcome.draft.state == before.draft.state == "gang_risks"


def test_one_answer_is_changed_from_the_summary_without_starting_again() -> None:
    summary = draft_at(State.SUMMARY)
    number = [q.key for q in summary_items(summary.answers, CTX)].index("yp_name") + 1
    assert f"\n{number} YP: Jaylen Featherstonehaugh\n" in step(summary, "summary", CTX).replies[0].text
    picked = step(summary, str(number), CTX)
    assert picked.draft.state == "yp_name"
    changed = step(picked.draft, "Jaylen Smythe", CTX)
    assert changed.draft.state == State.SUMMARY
    assert "Jaylen Smythe" in changed.replies[0].text
    sent = step(changed.draft, "yes", CTX)
    assert isinstance(sent.event, Submitted)
    assert sent.event.answers["yp_name"] == {"given": "Jaylen Smythe", "first": "Jaylen", "last": "Smythe",
                                             "known_as": None}


def test_changing_the_date_of_birth_to_under_18_asks_the_mash_question_then_returns() -> None:
    summary = draft_at(State.SUMMARY)
    asked = step(step(summary, "1", CTX).draft, "01/01/2010", CTX)
    assert asked.draft.state == "mash"
    back = step(asked.draft, "dk", CTX)
    assert back.draft.state == State.SUMMARY
    sent = step(back.draft, "YES", CTX)
    assert isinstance(sent.event, Submitted)
    assert sent.event.answers["mash"] is None


def test_an_edit_that_makes_them_ineligible_screens_out() -> None:
    summary = draft_at(State.SUMMARY)
    outcome = step(step(summary, "1", CTX).draft, "01/01/1990", CTX)
    assert outcome.event == ScreenedOut("too_old")
    assert outcome.draft.answers == {}


def test_an_edit_dropped_by_back_returns_to_the_summary_unchanged() -> None:
    summary = draft_at(State.SUMMARY)
    outcome = step(step(summary, "4", CTX).draft, "back", CTX)
    assert outcome.draft.state == State.SUMMARY
    assert outcome.draft.answers == summary.answers


def test_a_number_outside_the_summary_is_explained() -> None:
    outcome = step(draft_at(State.SUMMARY), "99", CTX)
    assert outcome.draft.state == State.SUMMARY
    assert "from 1 to" in outcome.replies[0].text


def test_unclear_text_at_the_summary_explains_how_to_send() -> None:
    outcome = step(draft_at(State.SUMMARY), "what now", CTX)
    assert outcome.replies[0].text == messages.SUMMARY_PROMPT
    assert outcome.event is None


def test_a_bad_answer_is_re_asked_with_an_example_and_nothing_is_lost() -> None:
    before = last(["hi", "14/02/2006"])
    outcome = step(before.draft, "the moon", CTX)
    assert outcome.draft.state == "borough"
    assert outcome.draft.answers == before.draft.answers
    assert "e.g. Lambeth" in outcome.replies[0].text


def test_help_is_offered_after_three_bad_tries() -> None:
    outcomes = run(["hi", "not a date", "still not", "nope"])
    assert all(messages.stuck_text(CTX.unit_contact) not in [r.text for r in o.replies] for o in outcomes[:3])
    assert outcomes[-1].replies[-1].text == messages.stuck_text(CTX.unit_contact)


def test_us_order_dates_are_refused() -> None:
    outcome = last(["hi", "02/14/2006"])
    assert outcome.draft.state == "dob"
    assert outcome.event is None


def test_an_ambiguous_borough_is_asked_back() -> None:
    outcome = last(["hi", "14/02/2006", "City"])
    assert outcome.draft.state == "borough"
    assert "City of London" in outcome.replies[0].text and "Westminster" in outcome.replies[0].text


def test_over_sms_the_referrers_number_is_not_asked_again() -> None:
    sms = replace(CTX, sender_phone="+447700900999")
    texts = [t for t in WHOLE_REFERRAL if t != "07700 900123"]
    assert texts == answering(REFERRAL_ANSWERS, sms)
    states = [o.draft.state for o in run(texts, sms)]
    assert "referrer_phone" not in states
    final = run(texts, sms)[-1]
    assert isinstance(final.event, Submitted)
    assert final.event.answers["referrer_phone"] == "+447700900999"


def test_the_mash_question_is_asked_only_for_under_18s() -> None:
    young = answering({**REFERRAL_ANSWERS, "dob": "01/01/2010"})
    states = [o.draft.state for o in run(young)]
    assert "mash" in states
    assert "mash" not in [o.draft.state for o in run(WHOLE_REFERRAL)]


def test_no_mobile_is_one_answer_and_the_referral_goes_ahead() -> None:
    outcomes = run(answering({**REFERRAL_ANSWERS, "yp_contact": "none"}))
    assert isinstance(outcomes[-1].event, Submitted)
    assert outcomes[-1].event.answers["yp_contact"] is None


@pytest.mark.parametrize(("text", "expected"), [
    ("07700 900456 1 2 after 4pm", ("+447700900456", (True, True, False), "after 4pm")),
    ("07700900456, text only", ("+447700900456", (True, False, False), None)),
    ("+44 7700 900456 none", ("+447700900456", (False, False, False), None)),
    ("07700 900456 1 3, weekends", ("+447700900456", (True, False, True), "weekends")),
])
def test_the_mobile_what_is_safe_and_best_times_are_one_answer(text: str, expected: tuple[object, ...]) -> None:
    contact = step(draft_at("yp_contact"), text, CTX).draft.answers["yp_contact"]
    assert (contact["mobile"], tuple(contact["safe"].values()), contact["times"]) == expected


def test_a_mobile_without_saying_what_is_safe_is_asked_again_never_assumed_safe() -> None:
    outcome = step(draft_at("yp_contact"), "07700 900456", CTX)
    assert outcome.draft.state == "yp_contact" and "yp_contact" not in outcome.draft.answers
    assert "what is safe" in outcome.replies[0].text


@pytest.mark.parametrize(("text", "expected"), [
    ("Youth worker, Lambeth YOT", {"role": "Youth worker", "org": "Lambeth YOT"}),
    ("Probation officer at London Probation, Lambeth", {"role": "Probation officer",
                                                         "org": "London Probation, Lambeth"}),
])
def test_job_title_and_organisation_are_one_answer(text: str, expected: dict[str, str]) -> None:
    assert step(draft_at("referrer_job"), text, CTX).draft.answers["referrer_job"] == expected


@pytest.mark.parametrize(("text", "known_as"), [
    ("Jay Smith", None), ("Jay Smith known as JJ", "JJ"), ("Jay Smith (JJ)", "JJ"), ("Jay Smith, JJ", "JJ"),
])
def test_the_name_and_what_they_are_called_are_one_answer(text: str, known_as: str | None) -> None:
    name = step(draft_at("yp_name"), text, CTX).draft.answers["yp_name"]
    assert (name["first"], name["last"], name["known_as"]) == ("Jay", "Smith", known_as)


def test_history_and_a_note_urgency_and_notes_are_one_answer_each() -> None:
    history = step(draft_at("history"), "1 2 threats since he left", CTX).draft.answers["history"]
    assert history == {"items": ["stabbed or shot", "on probation/court order"], "note": "threats since he left"}
    assert step(draft_at("history"), "none", CTX).draft.answers["history"] == {"items": [], "note": None}
    urgency = step(draft_at("urgency_notes"), "2 prefers a female worker", CTX).draft.answers["urgency_notes"]
    assert urgency == {"level": "soon", "notes": "prefers a female worker"}
    assert step(draft_at("urgency_notes"), "urgent", CTX).draft.answers["urgency_notes"] == {"level": "urgent",
                                                                                              "notes": None}


def test_agencies_accept_numbers_with_the_rest_not_known() -> None:
    before = draft_at("agencies")
    outcome = step(before, "1 3 dk", CTX)
    assert outcome.draft.answers["agencies"] == {"social care": True, "youth justice/probation": None,
                                                 "police": True, "housing": None, "mental health": None}


def test_telegram_style_commands_work_like_typed_ones() -> None:
    before = last(["hi", "14/02/2006"])
    assert step(before.draft, "/help", CTX).replies[0].text == messages.help_text(CTX.unit_contact)
    assert step(before.draft, "/start", CTX).replies[0].text.startswith("Which London borough")


@pytest.mark.parametrize("state", ["dob", "borough", "gang_risks", "referrer_name", "yp_name", "urgency_notes",
                                   State.SUMMARY, State.CONFIRM_RESTART])
def test_a_message_suggesting_immediate_danger_gets_the_emergency_answer_and_the_question_stands(state: str) -> None:
    before = draft_at(state) if state != State.CONFIRM_RESTART else step(draft_at("urgency_notes"), "restart",
                                                                         CTX).draft
    outcome = step(before, "he's just been stabbed and is bleeding", CTX)
    assert outcome.danger
    assert outcome.replies[0].text == messages.EMERGENCY
    assert outcome.draft == before
    assert len(outcome.replies) >= 2  # the question is asked again


@pytest.mark.parametrize("state", [State.NEW, State.DONE, State.SCREENED_OUT])
def test_danger_in_a_first_message_is_answered_before_the_welcome(state: str) -> None:
    outcome = step(Draft(state=state), "someone has a knife, help me", CTX)
    assert outcome.danger
    assert outcome.replies[0].kind is ReplyKind.EMERGENCY
    assert outcome.replies[1].text == messages.WELCOME


def test_after_submitting_the_next_message_starts_a_new_referral() -> None:
    final = run(WHOLE_REFERRAL)[-1]
    again = step(final.draft, "hi", CTX)
    assert again.replies[0].text == messages.WELCOME
    assert again.draft.state == "dob"


@pytest.mark.parametrize(("when", "expected"), [
    ("2026-11-25 10:00", "today"),
    ("2026-11-25 07:30", "from 9am today"),
    ("2026-11-25 18:00", "from 9am tomorrow"),
    ("2026-11-27 17:30", "from 9am Monday"),
    ("2026-11-28 12:00", "from 9am Monday"),
])
def test_the_receipt_says_when_the_unit_will_look(when: str, expected: str) -> None:
    final = last(WHOLE_REFERRAL, with_now(CTX, when))
    assert f"look at it {expected} and" in final.replies[0].text


@pytest.mark.parametrize(
    ("state", "text", "expected"),
    [
        (
            "dob",
            "14/02/2030",
            "That date is in the future. Please send their date of birth day first, like 14/02/2006.",
        ),
        ("dob", "02/14/2006", "Please send their date of birth day first, like 14/02/2006."),
        (
            "yp_contact",
            "020 7946 0000 1 2",
            "That looks like a landline. Please send the mobile and what is safe, e.g. 07700 900123 1 2, or NONE "
            "if no mobile.",
        ),
        ("ready", "maybe", "Please reply Y or N."),
        ("yp_gender", "1 2", "Please choose 1 female, 2 male or 3 non-binary, or their own words."),
        ("urgency_notes", "4", "Please choose 1 urgent, 2 soon or 3 routine."),
        ("urgency_notes", "very", "Please choose 1 urgent, 2 soon or 3 routine."),
    ],
)
def test_a_re_ask_says_what_was_wrong_once_and_gives_an_example(state: str, text: str, expected: str) -> None:
    outcome = step(draft_at(state), text, CTX)
    assert [r.text for r in outcome.replies] == [expected]
    assert outcome.draft.state == state


def test_gender_can_be_given_in_their_own_words() -> None:
    outcome = step(draft_at("yp_gender"), "they/them, agender", CTX)
    assert outcome.draft.answers["yp_gender"] == "they/them, agender"


def test_the_999_answer_to_a_professional_says_what_to_do_and_that_the_unit_is_flagged() -> None:
    outcome = step(draft_at("needs"), "he's been stabbed and is bleeding now", CTX)
    answer = outcome.replies[0].text
    assert outcome.replies[0].kind is ReplyKind.EMERGENCY
    assert "call 999 now" in answer and "flagged" in answer and "referral unit" in answer
    # Numbers for young people and families are not the professional's answer.
    for number in ("0800 1111", "Childline", "Samaritans", "SHOUT", "85258", "116 123"):
        assert number not in answer
