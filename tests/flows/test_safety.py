"""Tests for flows.safety: immediate danger fires on live danger, not on referral answers."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.safety import suggests_immediate_danger

ANY_CHAR = st.characters(exclude_categories=())


@pytest.mark.parametrize(
    "text",
    [
        "he's been stabbed",
        "He\u2019s been stabbed",
        "hes been shot",
        "someone is bleeding",
        "they have a knife",
        "they have a gun",
        "he's got a knife",
        "they're going to kill him",
        "I'm going to kill myself",
        "i want to kill myself",
        "I feel suicidal",
        "he's overdosed",
        "she took an overdose",
        "I'm being chased",
        "we are being attacked",
        "he is in danger now",
        "she's in danger right now",
        "immediate danger",
        "help me",
        "HELP ME PLEASE",
        "it's an emergency",
        "call 999",
        "please call an ambulance",
        "they're outside with a knife",
        "they're outside my house",
        "he is threatening to kill her",
        "he has just been stabbed",
        "my mate just got stabbed",
        "he was just stabbed",
        "he was stabbed tonight",
        "he's been stabbed today, he was also stabbed in 2022",
        "she's not breathing",
        "I want to die",
    ],
)
def test_messages_suggesting_danger_right_now_fire(text: str) -> None:
    assert suggests_immediate_danger(text)


@pytest.mark.parametrize(
    "text",
    [
        "yes",
        "no",
        "Y",
        "Lambeth",
        "14/02/2006",
        "07700 900123",
        "07999 999999",
        "Jay Smith",
        "1 4 7",
        "gang involvement",
        "victim of stabbing last year",
        "victim of stabbing",
        "was stabbed in 2024",
        "he was stabbed",
        "stabbed in March",
        "was stabbed 3 months ago",
        "got stabbed last year",
        "was stabbed in 2024, he is currently on probation",
        "risk of harm to others",
        "at risk of exploitation",
        "at risk of being stabbed",
        "knife crime awareness course",
        "has a knife crime conviction",
        "has a history of carrying a knife",
        "threatened to kill him last year",
        "was suicidal in 2023",
        "history of overdose",
        "not in immediate danger",
        "needs emergency accommodation",
        "HELP",
        "help",
        "can you help me with the referral",
        "he is outside London",
        "mental health support",
        "Harm from gangs, housing",
    ],
)
def test_ordinary_referral_answers_and_past_events_do_not_fire(text: str) -> None:
    assert not suggests_immediate_danger(text)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(ANY_CHAR), st.text(ANY_CHAR, min_size=1_000, max_size=10_000)))
def test_suggests_immediate_danger_answers_a_bool_for_any_text(text: str) -> None:
    assert suggests_immediate_danger(text) in (True, False)


@settings(max_examples=100, deadline=None)
@given(st.text(ANY_CHAR, max_size=500), st.text(ANY_CHAR, max_size=500))
def test_a_call_for_help_fires_wherever_it_sits_in_a_message(before: str, after: str) -> None:
    assert suggests_immediate_danger(f"{before}. Help me! {after}")
