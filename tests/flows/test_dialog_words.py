"""What the referrer reads: the summary in words, re-asks that name the choices, numbers as people write them."""

from __future__ import annotations

from dataclasses import replace

import pytest
from dialog_support import CTX, REFERRAL_ANSWERS, answering, draft_at, run

from flows.dialog import State, step
from flows.model import Context, Submitted
from flows.parsing import Invalid, parse_full_name
from flows.questions import BY_KEY, MASH_FLAG, MASH_REMINDER, QUESTIONS, current_answers, flags_for
from flows.summary import MAX_SUMMARY_SEGMENTS, summary_items
from flows.text import segment_count

SMS = replace(CTX, sender_phone="+447700900999")
UNDER_18 = {**REFERRAL_ANSWERS, "dob": "01/01/2010"}
# Every question answered, most choices picked, the optional notes filled in: a full referral.
FULL = {**UNDER_18, "gang_risks": "y 1 2 3", "history": "1 2 Threats from older members since he left",
        "needs": "1 2 3 4 5 6 7 8 9 10", "agencies": "1 2 3 4 5", "yp_contact": "07700 900456 1 2 3 weekday afternoons",
        "yp_name": "Jaylen Featherstonehaugh known as Jay", "yp_language": "Somali, interpreter",
        "urgency_notes": "2 Prefers a male worker"}


def _summary(answers: dict[str, str], ctx: Context = CTX) -> str:
    texts = answering(answers, ctx, until=State.SUMMARY)
    return run(texts, ctx)[-1].replies[-1].text


def test_the_summary_reads_in_words_not_codes() -> None:
    text = _summary(REFERRAL_ANSWERS)
    for words in ("Needs: gang activity, housing, education/training/work, mental health",
                  "Risks: harm from gangs, risk to others", "Youth worker, Lambeth YOT",
                  "Past: stabbed or shot", "Mob: 07700 900456; safe: text, call; after 4pm",
                  "Involved: social care, police",
                  "Urgency: soon", "YP: Jaylen Featherstonehaugh"):
        assert words in text, words
    for code in ("Needs 1", "Past 1", "Safe 1", "Risks 1", "Agencies 1"):
        assert code not in text


@pytest.mark.parametrize("answers", [REFERRAL_ANSWERS, UNDER_18, FULL], ids=["whole", "under 18", "full"])
@pytest.mark.parametrize("ctx", [CTX, SMS], ids=["web", "sms"])
def test_a_full_referral_summary_fits_four_segments_untrimmed(answers: dict[str, str], ctx: Context) -> None:
    text = _summary(answers, ctx)
    assert segment_count(text) <= MAX_SUMMARY_SEGMENTS == 4
    assert ".." not in text  # nothing had to be cut to fit


def test_every_summary_number_edits_the_answer_it_shows() -> None:
    summary = draft_at(State.SUMMARY)
    lines = step(summary, "summary", CTX).replies[0].text.splitlines()[1:]
    for number, question in enumerate(summary_items(summary.answers, CTX), start=1):
        assert lines[number - 1].startswith(f"{number} ")
        assert step(summary, str(number), CTX).draft.state == question.key


def test_a_london_landline_reads_as_people_write_it() -> None:
    text = _summary({**REFERRAL_ANSWERS, "referrer_phone": "020 7946 0123"})
    assert "020 7946 0123" in text and "02079 460123" not in text
    assert BY_KEY["referrer_phone"].show("+441619460123") == "0161 946 0123"
    contact = {"mobile": "+447700900456", "safe": {"text": True, "call": False, "voicemail": False}, "times": None}
    assert BY_KEY["yp_contact"].show(contact) == "07700 900456; safe: text"


def test_every_re_ask_with_buttons_names_the_same_choices() -> None:
    for question in QUESTIONS:
        for choice in question.choices:
            assert choice in question.reask, (question.key, choice)
    assert BY_KEY["urgency_notes"].reask == "Please choose 1 urgent, 2 soon or 3 routine."


def test_the_young_persons_name_is_one_answer_kept_as_given_and_split() -> None:
    final = run(answering(REFERRAL_ANSWERS))[-1]
    assert isinstance(final.event, Submitted)
    assert final.event.answers["yp_name"] == {"given": "Jaylen Featherstonehaugh", "first": "Jaylen",
                                              "last": "Featherstonehaugh", "known_as": None}
    assert "yp_first_name" not in final.event.answers and "yp_last_name" not in final.event.answers


@pytest.mark.parametrize(("typed", "first", "last"), [
    ("Jay Smith", "Jay", "Smith"),
    ("  mary   jane  o'neil ", "mary jane", "o'neil"),
    ("Jean-Luc de la Cruz", "Jean-Luc", "de la Cruz"),
    ("Kwame Nkrumah-Acheampong", "Kwame", "Nkrumah-Acheampong"),
    ("Ludwig van Beethoven", "Ludwig", "van Beethoven"),
])
def test_a_full_name_splits_into_first_and_last(typed: str, first: str, last: str) -> None:
    name = parse_full_name(typed)
    assert (name["first"], name["last"]) == (first, last)
    assert name["given"] == " ".join(typed.replace("’", "'").split())


def test_a_single_name_is_asked_again_for_first_and_last() -> None:
    with pytest.raises(Invalid):
        parse_full_name("Jaylen")
    outcome = step(draft_at("yp_name"), "Jaylen", CTX)
    assert outcome.draft.state == "yp_name"
    assert outcome.replies[0].text == "Please send their first and last name, e.g. Jay Smith, or Jay Smith known as JJ."


def test_no_mash_referral_for_an_under_18_is_reminded_once_and_goes_ahead_flagged() -> None:
    texts = answering({**UNDER_18, "mash": "n"}, CTX)
    outcomes = run(texts)
    said = [reply.text for outcome in outcomes for reply in outcome.replies]
    assert said.count(MASH_REMINDER) == 1
    at_mash = next(i for i in range(1, len(outcomes)) if outcomes[i - 1].draft.state == "mash")
    assert outcomes[at_mash].replies[0].text == MASH_REMINDER and len(outcomes[at_mash].replies) == 2
    final = outcomes[-1]
    assert isinstance(final.event, Submitted) and final.event.answers["mash"] is False
    assert flags_for(final.event.answers) == [MASH_FLAG]
    # Changing the answer to N again from the summary does not say it twice.
    summary = outcomes[-2].draft
    number = [q.key for q in summary_items(summary.answers, CTX)].index("mash") + 1
    again = run([str(number), "n"], draft=summary)
    assert MASH_REMINDER not in [reply.text for outcome in again for reply in outcome.replies]


@pytest.mark.parametrize("answer", ["y", "dk"])
def test_a_mash_referral_made_or_not_known_is_neither_reminded_nor_flagged(answer: str) -> None:
    outcomes = run(answering({**UNDER_18, "mash": answer}, CTX))
    assert MASH_REMINDER not in [reply.text for outcome in outcomes for reply in outcome.replies]
    event = outcomes[-1].event
    assert isinstance(event, Submitted) and flags_for(event.answers) == []


def test_a_draft_stored_when_the_name_was_two_answers_carries_on_at_the_one_name_question() -> None:
    at_name = draft_at("yp_name")
    old = replace(at_name, state="yp_last_name", answers={**at_name.answers, "yp_first_name": "Jay"})
    outcome = step(old, "Jay Smith", CTX)
    assert outcome.draft.answers["yp_name"] == {"given": "Jay Smith", "first": "Jay", "last": "Smith", "known_as": None}
    assert "yp_first_name" not in outcome.draft.answers
    assert outcome.draft.state == draft_at("yp_gender").state


def test_a_draft_stopped_between_two_questions_now_asked_as_one_carries_on_at_the_one() -> None:
    at_ready = draft_at("ready")
    old = replace(at_ready, state="willing", answers={**at_ready.answers, "motivated": True})
    outcome = step(old, "help", CTX)
    assert outcome.draft.state == "ready" and outcome.replies[1].text == BY_KEY["ready"].text
    assert "motivated" not in outcome.draft.answers


# A referral as stored before questions were merged: every old key, as the old questions stored them.
OLD_REFERRAL = {
    "gang_involved": True, "risks": ["harm from gangs"], "motivated": True, "willing": True,
    "extensive_support": False, "services_local": False, "referrer_name": "Sam Okafor",
    "referrer_role": "Youth worker", "referrer_org": "Redthread", "referrer_phone": "+447700900123",
    "referrer_email": "sam@example.org", "relationship": "their youth worker",
    "yp_name": {"given": "Jay Smith", "first": "Jay", "last": "Smith"}, "yp_known_as": "JJ", "yp_gender": "male",
    "yp_mobile": "+447700900456", "yp_language": {"language": "English", "interpreter": False},
    "safe_contact": {"text": True, "call": False, "voicemail": False}, "best_times": "after 4pm",
    "risk_history": ["stabbed or shot"], "risk_note": "threats", "needs": ["housing"], "specialist": ["mental health"],
    "urgency": "soon", "notes": "prefers a male worker",
}


def test_a_referral_stored_with_the_old_questions_reads_in_todays_shapes() -> None:
    current = current_answers(OLD_REFERRAL)
    assert current["gang_risks"] == {"involved": True, "risks": ["harm from gangs"]}
    assert current["ready"] is True and current["supported_elsewhere"] is False
    assert current["referrer_job"] == {"role": "Youth worker", "org": "Redthread"}
    assert current["yp_name"]["known_as"] == "JJ"
    assert current["yp_contact"] == {"mobile": "+447700900456", "safe": {"text": True, "call": False,
                                                                         "voicemail": False}, "times": "after 4pm"}
    assert current["history"] == {"items": ["stabbed or shot"], "note": "threats"}
    assert current["needs"] == ["housing", "mental health"]
    assert current["urgency_notes"] == {"level": "soon", "notes": "prefers a male worker"}
    assert not set(current) - {q.key for q in QUESTIONS}
    # Every answer reads back in the summary and on the staff pages, as a referral made today does.
    for question in QUESTIONS:
        if question.key in current:
            assert question.show(current[question.key])
            assert question.staff(current[question.key], CTX.now.tzinfo)


def test_a_referral_stored_with_the_name_in_two_answers_and_needs_as_codes_reads_as_today() -> None:
    old = {"yp_first_name": "Jay", "yp_last_name": "Smith", "needs": ["housing", "EET"], "urgency": "soon"}
    assert current_answers(old) == {"yp_name": {"given": "Jay Smith", "first": "Jay", "last": "Smith"},
                                    "needs": ["housing", "education/training/work"],
                                    "urgency_notes": {"level": "soon", "notes": None}}
    assert current_answers(REFERRAL_ANSWERS) is REFERRAL_ANSWERS
