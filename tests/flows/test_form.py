"""FORM: the whole referral in one fill-in message, read with the dialog's own parsers and screening."""

from __future__ import annotations

from dataclasses import replace

import pytest
from dialog_support import CTX, REFERRAL_ANSWERS, WHOLE_REFERRAL, last, run
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows import messages
from flows.dialog import STATES, State, command_of, step
from flows.form import HEADER, label_of, looks_like_form, read_form, short_label, template
from flows.model import Context, Draft, ReplyKind, ScreenedOut, Submitted
from flows.questions import BY_KEY, QUESTIONS
from flows.screening import Reason, explanation
from flows.text import is_gsm7, segment_count

SMS = replace(CTX, sender_phone="+447700900123")
# Twilio joins a long text into one webhook up to 1,600 characters, and the simulator takes as much.
LONGEST_INBOUND = 1600


def filled(answers: dict[str, str], ctx: Context = SMS, *, drop: tuple[str, ...] = ()) -> str:
    """The template as a referrer sends it back: each line's answer after its colon ("skip" left blank)."""
    lines = template(ctx).splitlines()
    out = [lines[0]]
    for question in QUESTIONS:
        if question.known_answer(ctx) is not None or question.key in drop:
            continue
        value = answers.get(question.key, "")
        out.append(f"{label_of(question)}: {'' if value.lower() == 'skip' else value}")
    return "\n".join(out)


FORM = filled(REFERRAL_ANSWERS)


# --- the template -------------------------------------------------------------------------------


def test_the_template_has_a_line_per_question_and_none_the_channel_answers() -> None:
    over_sms = template(SMS).splitlines()
    assert over_sms[0] == HEADER
    assert over_sms[1:] == [f"{label_of(q)}:" for q in QUESTIONS if q.key != "referrer_phone"]
    assert "Your phone:" not in over_sms
    assert "Your phone:" in template(CTX).splitlines()  # no number from the channel: asked for


def test_every_question_has_its_own_form_label_which_says_when_it_applies() -> None:
    assert all(q.form_label for q in QUESTIONS)
    shorts = [short_label(q).lower() for q in QUESTIONS]
    assert len(set(shorts)) == len(shorts)
    assert all(":" not in q.form_label for q in QUESTIONS)
    for question in QUESTIONS:
        if question.ask_if is not None:
            assert ", if " in question.form_label, question.form_label
    assert BY_KEY["mash"].form_label.startswith("MASH referral made, if under 18")
    assert BY_KEY["dob"].form_label == "DOB (dd/mm/yyyy)"


def test_the_template_and_a_filled_form_fit_what_the_channels_take() -> None:
    text = template(CTX)
    assert is_gsm7(text)
    assert len(text) <= 1100  # room for the answers within one long text
    assert len(FORM) <= LONGEST_INBOUND
    assert len(filled(REFERRAL_ANSWERS, CTX)) <= LONGEST_INBOUND


def test_form_is_a_command_like_help_and_help_mentions_it() -> None:
    assert command_of("FORM") == command_of("form.") == command_of("/form") == "form"
    assert "FORM" in messages.help_text("x")
    outcome = last(["hi", "14/02/2006", "form"])
    assert outcome.replies[0].kind is ReplyKind.FORM
    assert outcome.replies[0].text == template(CTX)
    assert outcome.draft.state == "borough"  # nothing lost: the question stands


def test_form_as_the_first_message_says_the_welcome_first() -> None:
    outcome = last(["FORM"], SMS)
    assert [r.text for r in outcome.replies] == [messages.WELCOME, template(SMS)]


# --- reading it back ----------------------------------------------------------------------------


def test_a_filled_form_reaches_the_summary_and_sends_what_the_dialog_would() -> None:
    outcomes = run(["FORM", FORM, "YES"], SMS)
    summary = outcomes[1].replies
    assert [r.kind for r in summary] == [ReplyKind.SUMMARY]  # nothing to say but the summary
    assert "14/02/2006" in summary[0].text and "Lambeth" in summary[0].text
    assert isinstance(outcomes[2].event, Submitted)
    typed = [t for t in WHOLE_REFERRAL if t != "07700 900123"]
    dialog = run(typed, SMS)[-1].event
    assert isinstance(dialog, Submitted)
    assert outcomes[2].event.answers == dialog.answers


def test_the_form_path_is_at_most_six_texts_even_with_a_few_lines_left_blank() -> None:
    texts = ["FORM", filled({**REFERRAL_ANSWERS, "referrer_email": "", "needs": ""})]
    draft = Draft()
    for text in texts:
        draft = step(draft, text, SMS).draft
    event = None
    # Sent at YES; the offer to keep the referrer's details that may follow needs no answer.
    while not isinstance(event, Submitted):
        assert draft.state in ("referrer_email", "needs", State.SUMMARY), draft.state
        text = "YES" if draft.state == State.SUMMARY else REFERRAL_ANSWERS[draft.state]
        texts.append(text)
        outcome = step(draft, text, SMS)
        draft, event = outcome.draft, outcome.event
    assert draft.state in (State.DONE, State.OFFER_REMEMBER)
    assert len(texts) == 5 <= 6


SCREENING = {
    Reason.TOO_YOUNG: ("dob", "26/11/2010"),
    Reason.TOO_OLD: ("dob", "25/11/2001"),
    Reason.NOT_LONDON: ("borough", "outside"),
    Reason.NOT_GANG_INVOLVED: ("gang_risks", "n"),
    Reason.NO_SIGNIFICANT_RISK: ("gang_risks", "y none"),
    Reason.NOT_READY: ("ready", "nope"),
    Reason.SUPPORTED_ELSEWHERE: ("supported_elsewhere", "yes"),
}
# Kept only for the counts made before these questions were merged: no question gives them now.
RETIRED = {Reason.NOT_MOTIVATED, Reason.NOT_WILLING, Reason.EXTENSIVE_SUPPORT, Reason.SERVICES_LOCAL}


def test_every_reason_a_question_can_give_is_screened_by_a_form_below() -> None:
    assert set(SCREENING) == set(Reason) - RETIRED
    for reason, (key, answer) in SCREENING.items():
        question = BY_KEY[key]
        assert question.screen is not None
        assert question.screen(question.read(answer, SMS), {}, SMS) == reason  # the dialog's own rule says so


@pytest.mark.parametrize("reason", list(SCREENING), ids=str)
def test_a_form_with_a_disqualifying_answer_screens_out_as_the_dialog_does(reason: Reason) -> None:
    key, answer = SCREENING[reason]
    outcome = last(["FORM", filled({**REFERRAL_ANSWERS, key: answer})], SMS)
    assert outcome.event == ScreenedOut(reason.value)
    assert [r.text for r in outcome.replies] == [explanation(reason, 16, 24)]
    assert outcome.draft.state == State.SCREENED_OUT
    assert outcome.draft.answers == {} and outcome.draft.history == []  # nobody's details kept


def test_screening_goes_in_the_dialogs_order() -> None:
    form = filled({**REFERRAL_ANSWERS, "gang_risks": "n", "ready": "n", "supported_elsewhere": "y"})
    assert last(["FORM", form], SMS).event == ScreenedOut(Reason.NOT_GANG_INVOLVED.value)


def test_missing_and_unreadable_lines_are_asked_one_by_one_saying_which_could_not_be_read() -> None:
    form = filled({**REFERRAL_ANSWERS, "dob": "31/02/2006", "needs": ""}, drop=("referrer_email",))
    outcomes = run(["FORM", form, "14/02/2006", REFERRAL_ANSWERS["referrer_email"], "1 4 7"], SMS)
    read = outcomes[1]
    note = read.replies[0].text
    assert "couldn't read: DOB." in note and "Now the rest" in note
    assert read.replies[-1].text == BY_KEY["dob"].text and read.draft.state == "dob"
    assert [o.draft.state for o in outcomes[2:]] == ["referrer_email", "needs", State.SUMMARY]
    assert outcomes[-1].replies[-1].kind is ReplyKind.SUMMARY


def test_back_after_a_form_goes_through_its_answers_one_by_one() -> None:
    form = filled(REFERRAL_ANSWERS, drop=("referrer_email",))
    outcome = last(["FORM", form], SMS)
    assert outcome.draft.state == "referrer_email"
    back = step(outcome.draft, "back", SMS)
    assert back.draft.state == "referrer_job"  # the phone came from the channel: passed, as in the dialog
    again = step(back.draft, "Youth worker, Lambeth YOT", SMS)
    assert again.draft.state == "referrer_email"


def test_lines_matching_no_question_are_reported_not_dropped() -> None:
    outcome = last(["FORM", FORM + "\nLives with his nan"], SMS)
    note = outcome.replies[0].text
    assert '"Lives with his nan"' in note and "left out" in note
    assert outcome.replies[-1].kind is ReplyKind.SUMMARY
    assert segment_count(note) == 1


def test_labels_are_matched_tolerantly() -> None:
    text = "\n".join([
        "dob 14/02/2006",                 # no colon
        "  London Borough :   Lambeth ",   # spacing, case
        "IN A GANG (whatever they wrote): yes 1 3",  # case, and whatever is in brackets
        "Motivated and willing: y",        # the label before its comma is enough
        "MASH: dk",                        # the start of a label is enough when only one starts so
        "Date of birth: 15/02/2006",       # a heading names it too; a second answer is left out, and said
        "Their mobile:",                   # blank optional: none
        "Your work email:",                # blank required: missing
    ])
    reading = read_form(text, CTX)
    assert reading.answers == {"dob": "2006-02-14", "borough": "Lambeth", "ready": True,
                               "gang_risks": {"involved": True, "risks": ["harm from gangs", "risk to others"]},
                               "yp_contact": None, "mash": None}
    assert reading.left_out == ("Date of birth: 15/02/2006",)
    assert reading.unreadable == ()


def test_one_labelled_line_is_an_answer_not_a_form() -> None:
    assert not looks_like_form("Risks: knife crime in the area")
    outcome = step(run(["hi"])[-1].draft, "DOB: 14/02/2006", CTX)
    assert outcome.draft.state == "dob"  # read as the answer to the question it is at: not a date


def test_a_form_during_an_edit_or_at_the_summary_is_read_too() -> None:
    at_summary = run(["FORM", FORM], SMS)[-1].draft
    assert at_summary.state == State.SUMMARY
    changed = step(at_summary, "Urgency (1 urgent 2 soon 3 routine): 1 call after 4\n"
                               "Relationship to them: their probation officer", SMS)
    assert changed.draft.state == State.SUMMARY
    assert changed.draft.answers["urgency_notes"] == {"level": "urgent", "notes": "call after 4"}
    assert changed.draft.answers["relationship"] == "their probation officer"


def test_a_line_that_cannot_be_read_is_asked_again_even_when_it_had_an_answer() -> None:
    at_summary = run(["FORM", FORM], SMS)[-1].draft
    outcome = step(at_summary, "DOB: 14/02/2036\nUrgency: 1\nYour phone: not a phone", SMS)
    assert "couldn't read: DOB, Your phone." in outcome.replies[0].text
    assert outcome.draft.state == "dob" and "dob" not in outcome.draft.answers
    assert outcome.draft.answers["referrer_phone"] == "+447700900123"  # the channel's number stands
    assert step(outcome.draft, "14/02/2006", SMS).draft.state == State.SUMMARY


def test_the_mash_reminder_is_given_for_an_under_18s_form() -> None:
    outcome = last(["FORM", filled({**REFERRAL_ANSWERS, "dob": "01/01/2010", "mash": "n"})], SMS)
    texts = [r.text for r in outcome.replies]
    assert any("MASH" in t and "please also make" in t for t in texts)
    assert outcome.replies[-1].kind is ReplyKind.SUMMARY


def test_a_form_suggesting_danger_gets_the_999_answer_first_and_is_still_read() -> None:
    outcome = last(["FORM", filled({**REFERRAL_ANSWERS, "urgency_notes": "1 he has a knife and is outside now"})], SMS)
    assert outcome.danger
    assert outcome.replies[0].kind is ReplyKind.EMERGENCY
    assert outcome.replies[-1].kind is ReplyKind.SUMMARY


def test_danger_at_the_end_of_a_long_form_is_still_noticed() -> None:
    padding = "\n".join(f"Line {n} of things to say" for n in range(90))
    outcome = last(["FORM", FORM + "\n" + padding + "\nUrgency: he has a knife and is outside now"], SMS)
    assert outcome.danger and outcome.replies[0].kind is ReplyKind.EMERGENCY


label_lines = st.lists(
    st.tuples(st.sampled_from([label_of(q) for q in QUESTIONS] + ["dob", "MASH", "Your", "Needs"]),
              st.sampled_from([":", " ", ": ", "::", " - "]), st.text(max_size=60)),
    min_size=0, max_size=40,
).map(lambda lines: "\n".join(f"{label}{sep}{value}" for label, sep, value in lines))


# Where a form may arrive: as the first message, just after FORM, with a line still to answer, at the summary.
FORM_DRAFTS = {
    "first message": Draft(),
    "after FORM": run(["FORM"], SMS)[-1].draft,
    "a line missing": run(["FORM", filled(REFERRAL_ANSWERS, drop=("referrer_email",))], SMS)[-1].draft,
    "at the summary": run(["FORM", FORM], SMS)[-1].draft,
}


@pytest.mark.parametrize("where", sorted(FORM_DRAFTS))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(label_lines, st.text(max_size=400), label_lines.map(lambda t: HEADER + "\n" + t)))
def test_any_text_sent_as_a_form_never_raises_and_always_gets_a_reply(where: str, text: str) -> None:
    outcome = step(FORM_DRAFTS[where], text, SMS)
    assert outcome.replies
    assert outcome.draft.state in STATES
    for reply in outcome.replies:
        if reply.kind not in (ReplyKind.SUMMARY, ReplyKind.FORM):
            assert segment_count(reply.text) == 1, reply.text


# --- a first message with details ----------------------------------------------------------------


def test_a_first_message_with_a_dob_and_borough_takes_them_and_asks_the_next_question() -> None:
    outcome = last(["I want to refer Jordan, DOB 14/02/2006, lives in Lambeth"])
    assert [r.text for r in outcome.replies] == [
        messages.WELCOME, "Got it: date of birth 14/02/2006, Lambeth.", BY_KEY["gang_risks"].text]
    assert outcome.draft.state == "gang_risks"
    assert outcome.draft.answers == {"dob": "2006-02-14", "borough": "Lambeth"}
    assert step(outcome.draft, "back", CTX).draft.state == "borough"


def test_a_first_message_with_only_a_borough_asks_the_date_of_birth_then_passes_the_borough() -> None:
    outcomes = run(["Referral for a young man living in Tower Hamlets", "14/02/2006"])
    assert outcomes[0].replies[1].text == "Got it: Tower Hamlets."
    assert outcomes[0].draft.state == "dob"
    assert outcomes[1].draft.state == "gang_risks"


def test_a_first_message_with_an_out_of_range_age_ends_kindly_as_usual() -> None:
    outcome = last(["Can I refer someone, d.o.b. 01/01/2012"])
    assert outcome.event == ScreenedOut(Reason.TOO_YOUNG.value)
    assert [r.text for r in outcome.replies] == [messages.WELCOME, explanation(Reason.TOO_YOUNG, 16, 24)]
    assert outcome.draft.answers == {}


@pytest.mark.parametrize("text", [
    "hi",
    "Hello, I'd like to make a referral",
    "Jordan 14/02/2006 Lambeth",                     # a date with no word saying it is the birth date
    "Seen in A&E on 20/11/2026, from Lambeth YOT",   # a date and a borough that are not theirs
    "DOB 14/02/2006 or 15/02/2006",                  # two dates of birth
    "lives in Lambeth or Croydon",                   # two boroughs
    "lives in Lambeht",                              # a near miss: the question asks, nothing guessed
    "lives in Kent",                                 # outside London, but they may be linked to a borough
    "DOB 31/02/2006",                                # not a date
])
def test_nothing_ambiguous_is_guessed_and_hi_is_as_before(text: str) -> None:
    outcome = last([text])
    assert [r.text for r in outcome.replies] == [messages.WELCOME, BY_KEY["dob"].text]
    assert outcome.draft.answers == {} and outcome.draft.state == "dob"


def test_a_first_message_that_suggests_danger_is_answered_not_mined_for_details() -> None:
    outcome = last(["DOB 14/02/2006 lives in Lambeth, he has a knife and is outside now"])
    assert outcome.danger and outcome.replies[0].kind is ReplyKind.EMERGENCY
    assert outcome.draft.answers == {}


def test_a_whole_form_as_the_very_first_message_is_read() -> None:
    outcome = last([FORM], SMS)
    assert outcome.replies[0].text == messages.WELCOME
    assert outcome.replies[-1].kind is ReplyKind.SUMMARY


# --- a form from a referrer whose details are kept ------------------------------------------------

KEPT = {"referrer_name": "Sam Okafor", "referrer_job": {"role": "Youth worker", "org": "Redthread"},
        "referrer_email": "sam@redthread.example.org"}
RETURNING = replace(SMS, remembered=KEPT)
REFERRER_LINES = ("referrer_name", "referrer_job", "referrer_email")
REFERRING_AS = "Good, they can be referred. Referring as Sam Okafor, Youth worker, Redthread. Y to use, or EDIT"


def test_a_form_with_the_referrer_lines_blank_offers_the_kept_details_then_goes_to_the_summary() -> None:
    outcomes = run(["FORM", filled({**REFERRAL_ANSWERS, **dict.fromkeys(REFERRER_LINES, "")}, RETURNING), "Y",
                    "YES"], RETURNING)
    assert outcomes[1].replies[-1].text == REFERRING_AS and outcomes[1].draft.state == State.USE_REMEMBERED
    assert all(segment_count(r.text) == 1 for r in outcomes[1].replies)
    # Y: nothing the form answered is asked again.
    assert [r.kind for r in outcomes[2].replies] == [ReplyKind.SUMMARY]
    sent = outcomes[3].event
    assert isinstance(sent, Submitted)
    assert {key: sent.answers[key] for key in REFERRER_LINES} == KEPT
    assert sent.answers["relationship"] == "their youth worker"
    assert step(outcomes[2].draft, "back", RETURNING).draft.state == "urgency_notes"  # BACK through the answers


def test_edit_to_the_kept_details_after_a_form_asks_only_the_referrers_questions() -> None:
    form = filled({**REFERRAL_ANSWERS, **dict.fromkeys(REFERRER_LINES, "")}, RETURNING)
    outcomes = run(["FORM", form, "EDIT", *(REFERRAL_ANSWERS[key] for key in REFERRER_LINES)], RETURNING)
    assert [o.draft.state for o in outcomes[2:]] == ["referrer_name", "referrer_job", "referrer_email", State.SUMMARY]
    assert outcomes[-1].draft.answers["referrer_name"] == REFERRAL_ANSWERS["referrer_name"]


def test_a_form_giving_some_of_the_referrers_details_keeps_them_and_asks_the_rest() -> None:
    # Someone else may share the phone: their name is never put beside the kept job and email.
    form = filled({**REFERRAL_ANSWERS, "referrer_job": ""}, RETURNING)
    outcome = last(["FORM", form], RETURNING)
    assert outcome.draft.state == "referrer_job"
    assert outcome.replies[-1].text == BY_KEY["referrer_job"].text
    assert outcome.draft.answers["referrer_name"] == REFERRAL_ANSWERS["referrer_name"]
    assert step(outcome.draft, REFERRAL_ANSWERS["referrer_job"], RETURNING).draft.state == State.SUMMARY


def test_a_whole_form_from_a_returning_referrer_goes_straight_to_the_summary() -> None:
    outcome = last(["FORM", filled(REFERRAL_ANSWERS, RETURNING)], RETURNING)
    assert [r.kind for r in outcome.replies] == [ReplyKind.SUMMARY]
    assert outcome.draft.answers["referrer_name"] == REFERRAL_ANSWERS["referrer_name"]
