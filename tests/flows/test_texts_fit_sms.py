"""Every text the bot can send fits one GSM-7 segment; the summary fits four, whatever was typed."""

from __future__ import annotations

from dataclasses import replace

import pytest
from dialog_support import CTX, draft_at

from flows import messages
from flows.boroughs import BOROUGHS
from flows.dialog import COMMANDS, State, _did_you_mean, _reask, command_of, step
from flows.first_message import got_it_text
from flows.form import FormReading, described, reading_note, template
from flows.model import ReplyKind
from flows.notices import allocated_text
from flows.questions import MASH_REMINDER, QUESTIONS
from flows.screening import Reason, explanation
from flows.summary import HEADER, MAX_SUMMARY_SEGMENTS, render_summary, summary_items
from flows.text import is_gsm7, segment_count

LONGEST_CONTACT = "x" * 40  # UNIT_CONTACT's limit
OPT_OUT = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
OPT_IN = {"START", "YES", "UNSTOP"}


def _fixed_texts() -> list[str]:
    texts = [messages.WELCOME, messages.EMERGENCY, messages.CONFIRM_RESTART, messages.RESTARTED,
             messages.CARRY_ON, messages.FIRST_QUESTION, messages.SUMMARY_PROMPT, messages.NOT_SAVED,
             messages.help_text(LONGEST_CONTACT), messages.stuck_text(LONGEST_CONTACT),
             messages.submitted_text("ABCDE-XXXXXXXXXX", "from 12:30pm Wednesday"),
             messages.pick_number_text(9999), MASH_REMINDER, allocated_text("LGX-XXXXX"),
             messages.NOT_KEPT, messages.FORGOTTEN, messages.NOTHING_KEPT, messages.USE_REMEMBERED_REASK,
             messages.referring_as_text({"referrer_name": "n" * 60,
                                         "referrer_job": {"role": "r" * 60, "org": "o" * 80}})]
    for by_phone in (True, False):
        texts += [messages.kept_text(by_phone), messages.remember_offer_text(by_phone, replacing=False),
                  messages.remember_offer_text(by_phone, replacing=True)]
    for question in QUESTIONS:
        texts += [question.text, question.reask, _reask(question.reask, "x" * 80)]
    for reason in Reason:
        texts.append(explanation(reason, 15, 25))
    longest = tuple(sorted(BOROUGHS, key=len, reverse=True)[:3])
    texts.append(_did_you_mean(longest))
    texts.append(got_it_text(described({"dob": "2006-02-14", "borough": longest[0]})))
    # What a form could not use, at its longest: every line unreadable, long lines left out.
    everything = FormReading({}, tuple(q.key for q in QUESTIONS), tuple("z" * 300 for _ in range(40)))
    for more in (True, False):
        texts += [reading_note(everything, more), reading_note(FormReading({}, ("dob",), ()), more)]
        texts += [reading_note(FormReading({}, (), ("\u201cLives with nan\u201d \U0001f600",)), more)]
    return [text for text in texts if text is not None]


@pytest.mark.parametrize("text", _fixed_texts())
def test_every_text_fits_one_plain_sms_segment(text: str) -> None:
    assert is_gsm7(text), f"not GSM-7: {text!r}"
    assert segment_count(text) == 1, f"{len(text)} characters: {text!r}"


@pytest.mark.parametrize("word", sorted(OPT_OUT | OPT_IN))
def test_no_command_is_a_carrier_opt_out_or_opt_in_word(word: str) -> None:
    # Telegram's /start is a command, but a bare START (what an SMS carrier acts on) is not.
    assert command_of(word) is None
    assert command_of(word.lower()) is None
    assert word.lower() not in COMMANDS


def test_no_text_asks_anyone_to_reply_with_an_opt_out_word() -> None:
    for text in _fixed_texts():
        for word in OPT_OUT:
            assert f"send {word}" not in text.lower() and f"reply {word}" not in text.lower()


def test_the_summary_fits_four_segments_with_the_longest_answers() -> None:
    draft = draft_at(State.SUMMARY)
    answers = dict(draft.answers)
    longest_name = "Alexandrina-Wilhelmina " * 2 + "Featherstonehaugh"[:14]
    answers["referrer_name"] = longest_name
    answers["yp_name"] = {"given": longest_name + " " + longest_name[:19], "first": "a", "last": "b",
                          "known_as": longest_name}
    answers["referrer_job"] = {"role": "w" * 60, "org": "w" * 80}
    answers["relationship"] = "w" * 60
    answers["history"] = {"items": ["stabbed or shot", "on probation/court order"], "note": "w" * 200}
    answers["yp_contact"] = {"mobile": "+447700900456", "safe": {"text": True, "call": True, "voicemail": True},
                             "times": "w" * 80}
    # A line break typed into an answer stays inside its item (even trimmed).
    answers["urgency_notes"] = {"level": "urgent", "notes": "w\n" + "w" * 298}
    answers["referrer_email"] = "a" * 60 + "@" + "b" * 60 + ".example.org"
    answers["yp_gender"] = "z" * 40
    answers["yp_language"] = {"language": "q" * 55, "interpreter": True}
    text = render_summary(answers, CTX)
    assert is_gsm7(text)
    assert segment_count(text) <= MAX_SUMMARY_SEGMENTS
    header, *lines = text.splitlines()
    assert header == HEADER
    numbers = [str(number) for number in range(1, len(summary_items(answers, CTX)) + 1)]
    assert [line.split(" ", 1)[0] for line in lines] == numbers  # one line per item, numbered in order


def test_the_summary_stays_gsm7_when_answers_have_emoji_and_accents() -> None:
    draft = draft_at(State.SUMMARY)
    answers = {**draft.answers, "yp_name": {"given": "Zoë 😀 Li", "first": "Zoë 😀", "last": "Li"},
               "urgency_notes": {"level": "soon", "notes": "“quoted” — naïve"}}
    text = render_summary(answers, CTX)
    assert is_gsm7(text)
    assert segment_count(text) <= MAX_SUMMARY_SEGMENTS
    assert "Zoe" in text or "Zoë" in text


def test_the_summary_with_ordinary_answers_is_not_trimmed() -> None:
    text = step(draft_at("urgency_notes"), "2", CTX).replies[0].text
    assert ".." not in text
    assert "14/02/2006" in text and "Lambeth" in text


def test_the_summary_over_sms_still_fits() -> None:
    sms = replace(CTX, sender_phone="+447700900999")
    text = render_summary({**draft_at(State.SUMMARY).answers, "referrer_phone": "+447700900999"}, sms)
    assert segment_count(text) <= MAX_SUMMARY_SEGMENTS


def test_the_form_template_is_the_one_text_allowed_over_three_segments_because_it_was_asked_for() -> None:
    # FORM is sent only to a referrer who asked for it: it is exempt from the limits above, and only it.
    sms = replace(CTX, sender_phone="+447700900999")
    reply = step(draft_at("borough"), "FORM", sms).replies[0]
    assert reply.kind is ReplyKind.FORM and reply.text == template(sms)
    assert is_gsm7(reply.text)
    assert 3 < segment_count(reply.text) <= 8
    assert len(template(CTX)) < 4096 // 3  # Telegram takes 4,096 characters: well within, answers and all
