"""Tests for flows.parsing: every answer parser, good and bad inputs, and arbitrary text."""

from collections.abc import Callable
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.parsing import (
    Ambiguous,
    Invalid,
    age_on,
    is_skip,
    parse_choice,
    parse_date,
    parse_email,
    parse_name,
    parse_numbers,
    parse_short_text,
    parse_uk_mobile,
    parse_uk_phone,
    parse_yes_no,
    parse_yes_no_unknown,
)
from flows.text import is_gsm7

TODAY = date(2026, 3, 1)

ANY_CHAR = st.characters(exclude_categories=())
ANY_TEXT = st.one_of(
    st.text(ANY_CHAR),
    st.text(ANY_CHAR, min_size=1_000, max_size=10_000),
    # Near misses: the characters real answers are made of, in random order.
    st.text(st.sampled_from("0123456789 /-.,+()&@'yesnoYNdkFebMarthst\u2019👍\n"), max_size=40),
)


# --- exceptions -------------------------------------------------------------------------------


def test_invalid_is_a_value_error_carrying_its_hint() -> None:
    error = Invalid("That date is in the future.")
    assert isinstance(error, ValueError)
    assert error.hint == "That date is in the future."


def test_invalid_hint_is_optional() -> None:
    assert Invalid().hint is None


def test_ambiguous_is_invalid_and_lists_its_options() -> None:
    error = Ambiguous(["City of London", "Westminster"])
    assert isinstance(error, Invalid)
    assert error.options == ("City of London", "Westminster")


# --- dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "14/02/2006",
        "14-2-06",
        "14.02.2006",
        "14 2 2006",
        "14 Feb 2006",
        "14 February 2006",
        "14th Feb 06",
        "14th of February, 2006",
        "14 feb. 2006",
        "14-Feb-2006",
        "14 FEBRUARY 2006",
        "14 febuary 2006",
        "2006-02-14",
        "14022006",
        "  14/02/2006 \n",
    ],
)
def test_parse_date_reads_uk_day_first_forms(text: str) -> None:
    assert parse_date(text, TODAY) == date(2006, 2, 14)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1/3/10", date(2010, 3, 1)),
        ("3rd March 2010", date(2010, 3, 3)),
        ("2nd sept 2009", date(2009, 9, 2)),
        ("21st Dec 2001", date(2001, 12, 21)),
        ("1 may 2008", date(2008, 5, 1)),
        ("29/02/2008", date(2008, 2, 29)),
    ],
)
def test_parse_date_reads_other_valid_dates(text: str, expected: date) -> None:
    assert parse_date(text, TODAY) == expected


def test_parse_date_refuses_us_order_and_says_day_first() -> None:
    with pytest.raises(Invalid) as caught:
        parse_date("02/14/2006", TODAY)
    assert "day first" in (caught.value.hint or "")


def test_parse_date_reads_ambiguous_numbers_day_first_never_us() -> None:
    assert parse_date("03/04/2006", TODAY) == date(2006, 4, 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14/02/06", date(2006, 2, 14)),
        ("14/02/98", date(1998, 2, 14)),
        ("28/02/26", date(2026, 2, 28)),  # yesterday: still this century
        ("01/03/26", date(2026, 3, 1)),  # today itself is not in the future
        ("02/03/26", date(1926, 3, 2)),  # tomorrow in 2026, so the century before
        ("14/02/00", date(2000, 2, 14)),
    ],
)
def test_parse_date_picks_the_century_that_keeps_two_digit_years_in_the_past(
    text: str, expected: date
) -> None:
    assert parse_date(text, TODAY) == expected


def test_parse_date_refuses_the_future() -> None:
    with pytest.raises(Invalid) as caught:
        parse_date("02/03/2026", TODAY)
    assert caught.value.hint == "That date is in the future."


def test_parse_date_accepts_today() -> None:
    assert parse_date("01/03/2026", TODAY) == TODAY


def test_parse_date_refuses_more_than_a_hundred_years_ago() -> None:
    assert parse_date("01/03/1926", TODAY) == date(1926, 3, 1)
    with pytest.raises(Invalid):
        parse_date("28/02/1926", TODAY)


@pytest.mark.parametrize(
    "text",
    [
        "31/02/2006",
        "29/02/2007",
        "31/04/2006",
        "00/01/2006",
        "14/00/2006",
        "14/13/2006",
        "14/02/206",
        "14/02/6",
        "14/02",
        "14 Feb",
        "Feb 14 2006",
        "14 Fe 2006",
        "14 Blah 2006",
        "tomorrow",
        "",
        "   ",
        "2006",
        "140206",
        "14/02/2006 or 15/02/2006",
    ],
)
def test_parse_date_refuses_non_dates_and_impossible_dates(text: str) -> None:
    with pytest.raises(Invalid):
        parse_date(text, TODAY)


def test_parse_date_asks_for_the_year_when_it_is_missing() -> None:
    with pytest.raises(Invalid) as caught:
        parse_date("14 Feb", TODAY)
    assert "year" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("born", "day", "age"),
    [
        (date(2008, 2, 14), date(2024, 2, 13), 15),
        (date(2008, 2, 14), date(2024, 2, 14), 16),
        (date(2000, 12, 31), date(2025, 1, 1), 24),
        (date(2008, 2, 29), date(2024, 2, 28), 15),
        (date(2008, 2, 29), date(2024, 2, 29), 16),
        (date(2008, 2, 29), date(2025, 2, 28), 16),
        (date(2008, 2, 29), date(2025, 3, 1), 17),
        (date(2008, 2, 29), date(2026, 2, 28), 17),
        (date(2008, 2, 29), date(2026, 3, 1), 18),
        (date(2010, 6, 1), date(2010, 6, 1), 0),
    ],
)
def test_age_on_counts_full_years_and_leap_day_birthdays_on_1_march(
    born: date, day: date, age: int
) -> None:
    assert age_on(born, day) == age


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 1, 1)), st.integers(0, 120))
def test_age_on_never_decreases_as_days_pass(born: date, years: int) -> None:
    day = born + timedelta(days=years * 365)
    assert age_on(born, day) <= age_on(born, day + timedelta(days=1))
    assert age_on(born, day) >= 0


# --- phone numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "07700 900123",  # Ofcom drama range: phonenumbers calls it invalid, we accept it
        "07700900123",
        "+44 7700 900123",
        "+447700900123",
        "0044 7700 900123",
        "+44 (0)7700 900123",
        "(07700) 900-123",
        "07700-900-123",
        "07700.900.123",
        "  07700 900 123  ",
    ],
)
def test_parse_uk_mobile_accepts_the_drama_range_in_every_format(text: str) -> None:
    assert parse_uk_mobile(text) == "+447700900123"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("07400 123456", "+447400123456"),
        ("07911 123456", "+447911123456"),  # Guernsey-allocated, still +44
        ("07624 123456", "+447624123456"),  # Isle of Man
        ("+44 7981 555 555", "+447981555555"),
    ],
)
def test_parse_uk_mobile_accepts_real_mobile_ranges(text: str, expected: str) -> None:
    assert parse_uk_mobile(text) == expected


@pytest.mark.parametrize("text", ["020 7946 0000", "0161 496 0000", "+44 20 7946 0000"])
def test_parse_uk_mobile_refuses_landlines_with_a_hint(text: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_uk_mobile(text)
    assert caught.value.hint == "That looks like a landline. Please send a mobile number."


@pytest.mark.parametrize(
    "text",
    [
        "07700 90012a",
        "O7700 900123",
        "call me on 07700 900123",
        "0800 FLOWERS",
        "07700 90012",
        "07700 9001234",
        "+33 6 12 34 56 78",
        "+1 212 555 1234",
        "0800 111 1111",
        "07000 123456",
        "999",
        "",
        "+",
        "07700 900123 ext 2",
        "07700@900123",
    ],
)
def test_parse_uk_mobile_refuses_letters_foreign_short_and_non_mobile_numbers(text: str) -> None:
    with pytest.raises(Invalid):
        parse_uk_mobile(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("020 7946 0000", "+442079460000"),
        ("0207 946 0000", "+442079460000"),
        ("(020) 7946-0000", "+442079460000"),
        ("+44 (0)20 7946 0000", "+442079460000"),
        ("0161 496 0000", "+441614960000"),
        ("07700 900123", "+447700900123"),
        ("0044 7700 900123", "+447700900123"),
        ("0300 123 4567", "+443001234567"),
    ],
)
def test_parse_uk_phone_accepts_landlines_and_mobiles(text: str, expected: str) -> None:
    assert parse_uk_phone(text) == expected


@pytest.mark.parametrize("text", ["020 7946 000", "+33 1 23 45 67 89", "phone 0207", "abc", ""])
def test_parse_uk_phone_refuses_non_uk_and_non_numbers(text: str) -> None:
    with pytest.raises(Invalid):
        parse_uk_phone(text)


# --- yes / no ---------------------------------------------------------------------------------

YES = [
    "yes", "Yes", "YES", "y", "Y", "yeah", "yep", "yup", "ya", "ok", "OK", "okay", "sure",
    "correct", "true", "aye", "👍", "👍🏽", "✅", "yes please", "Yes they do", "yes!", "Yes.",
    "of course", "yh",
]
NO = [
    "no", "No", "NO", "n", "N", "nope", "nah", "no they don't", "no they don\u2019t", "not really",
    "false", "👎", "❌", "never", "no.", "No!!", "of course not", "not at all",
]
UNKNOWN = [
    "not known", "don't know", "dont know", "don\u2019t know", "I don't know", "dk", "DK",
    "unknown", "not sure", "unsure", "?", "idk", "no idea", "dunno",
]
NEITHER = [
    "maybe", "", "   ", "yes no", "y/n", "no, yes", "perhaps", "stop", "1", "Lambeth", "k no",
]


@pytest.mark.parametrize("text", YES)
def test_parse_yes_no_understands_yes(text: str) -> None:
    assert parse_yes_no(text) is True


@pytest.mark.parametrize("text", NO)
def test_parse_yes_no_understands_no(text: str) -> None:
    assert parse_yes_no(text) is False


@pytest.mark.parametrize("text", UNKNOWN + NEITHER)
def test_parse_yes_no_refuses_anything_else_including_dont_know(text: str) -> None:
    with pytest.raises(Invalid):
        parse_yes_no(text)


@pytest.mark.parametrize("text", UNKNOWN)
def test_parse_yes_no_unknown_returns_none_for_dont_know(text: str) -> None:
    assert parse_yes_no_unknown(text) is None


@pytest.mark.parametrize(("text", "expected"), [(t, True) for t in YES] + [(t, False) for t in NO])
def test_parse_yes_no_unknown_still_understands_yes_and_no(text: str, expected: bool) -> None:
    assert parse_yes_no_unknown(text) is expected


@pytest.mark.parametrize("text", NEITHER)
def test_parse_yes_no_unknown_refuses_anything_else(text: str) -> None:
    with pytest.raises(Invalid):
        parse_yes_no_unknown(text)


# --- numbered choices -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "highest", "expected"),
    [
        ("1 4 7", 7, (1, 4, 7)),
        ("1,4,7", 7, (1, 4, 7)),
        ("1, 4 and 7", 7, (1, 4, 7)),
        ("1&4", 7, (1, 4)),
        ("147", 7, (1, 4, 7)),
        ("741", 7, (1, 4, 7)),
        ("4 4 1", 7, (1, 4)),
        ("7", 7, (7,)),
        ("10", 10, (10,)),
        ("1 10 3", 12, (1, 3, 10)),
        ("2-4", 7, (2, 3, 4)),
        ("2 to 4", 7, (2, 3, 4)),
        ("1, 2.", 7, (1, 2)),
        ("1; 2 + 3 / 5", 7, (1, 2, 3, 5)),
        ("none", 7, ()),
        ("None", 7, ()),
        ("0", 7, ()),
        ("no", 7, ()),
        ("nil", 7, ()),
        ("n/a", 7, ()),
        ("N/A", 7, ()),
    ],
)
def test_parse_numbers_reads_choices_the_ways_people_type_them(
    text: str, highest: int, expected: tuple[int, ...]
) -> None:
    assert parse_numbers(text, highest) == expected


@pytest.mark.parametrize(
    ("text", "highest"),
    [
        ("8", 7),
        ("1 8", 7),
        ("108", 7),
        ("147", 12),
        ("13", 12),
        ("0 1", 7),
        ("4-2", 7),
        ("1-99", 12),
        ("", 7),
        ("   ", 7),
        ("one", 7),
        ("1 or 2", 7),
        ("9" * 5000, 12),
    ],
)
def test_parse_numbers_refuses_out_of_range_and_non_numbers(text: str, highest: int) -> None:
    with pytest.raises(Invalid):
        parse_numbers(text, highest)


def test_parse_numbers_hint_names_the_range() -> None:
    with pytest.raises(Invalid) as caught:
        parse_numbers("8", 7)
    assert "1 to 7" in (caught.value.hint or "")


OPTIONS = ["Support worker", "Volunteer mentor", "Not sure"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("2", 2),
        (" 3. ", 3),
        ("support worker", 1),
        ("SUPPORT WORKER", 1),
        ("Volunteer", 2),
        ("vol", 2),
        ("mentor", 2),
        ("sure", 3),
        ("not sure", 3),
    ],
)
def test_parse_choice_reads_a_number_or_a_unique_option_prefix(text: str, expected: int) -> None:
    assert parse_choice(text, OPTIONS) == expected


def test_parse_choice_prefers_an_exact_option_over_prefixes() -> None:
    assert parse_choice("male", ["Male", "Female", "Non-binary"]) == 1
    assert parse_choice("non binary", ["Male", "Female", "Non-binary"]) == 3


def test_parse_choice_reports_a_prefix_shared_by_two_options_as_ambiguous() -> None:
    with pytest.raises(Ambiguous) as caught:
        parse_choice("s", OPTIONS)
    assert caught.value.options == ("Support worker", "Not sure")


@pytest.mark.parametrize("text", ["0", "4", "12", "", "banana", "ork", "1 2", "١"])
def test_parse_choice_refuses_out_of_range_and_unknown_answers(text: str) -> None:
    with pytest.raises(Invalid):
        parse_choice(text, OPTIONS)


# --- email, names, short text, skip -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name@example.org", "name@example.org"),
        ("  Sam.Jones@Example.ORG ", "Sam.Jones@example.org"),
        ("sam+referrals@lambeth.gov.uk", "sam+referrals@lambeth.gov.uk"),
        ("o'neil@nhs.net.", "o'neil@nhs.net"),
        ("mailto:sam@example.org", "sam@example.org"),
    ],
)
def test_parse_email_trims_and_lower_cases_the_domain(text: str, expected: str) -> None:
    assert parse_email(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "sam",
        "sam@",
        "@example.org",
        "sam@example",
        "sam@@example.org",
        "sam@exa@mple.org",
        "sam @example.org",
        "sam@exa mple.org",
        "sam@example..org",
        "sam..jones@example.org",
        ".sam@example.org",
        "sam@-example.org",
        "a" * 250 + "@example.org",
    ],
)
def test_parse_email_refuses_malformed_addresses_with_the_example_hint(text: str) -> None:
    with pytest.raises(Invalid) as caught:
        parse_email(text)
    assert caught.value.hint == "Please send an email address like name@example.org."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jay", "Jay"),
        ("  Jay   Smith ", "Jay Smith"),
        ("O'Neil", "O'Neil"),
        ("O\u2019Neil", "O'Neil"),
        ("Mary-Jane", "Mary-Jane"),
        ("St. John", "St. John"),
        ("Zoë", "Zoë"),
        ("Zoe\u0308", "Zoë"),
        ("Łukasz", "Łukasz"),
        ("محمد", "محمد"),
        ("李小龍", "李小龍"),
        ("Adébáyọ̀", "Adébáyọ̀"),
    ],
)
def test_parse_name_accepts_names_in_any_script(text: str, expected: str) -> None:
    assert parse_name(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "   ", "-", "'.", "Jay2", "jay@example.org", "Jay 😀", "Jay_Smith", "Jay, Sam", "123"],
)
def test_parse_name_refuses_digits_symbols_and_empty_answers(text: str) -> None:
    with pytest.raises(Invalid):
        parse_name(text)


def test_parse_name_refuses_names_over_the_limit() -> None:
    assert parse_name("A" * 60) == "A" * 60
    with pytest.raises(Invalid):
        parse_name("A" * 61)
    with pytest.raises(Invalid):
        parse_name("Jay Smith", max_len=5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  Needs support with housing  ", "Needs support with housing"),
        ("line one\nline two", "line one line two"),
        ("tab\there", "tab here"),
        ("bell\x07 gone", "bell gone"),
        ("keeps émoji 👍", "keeps émoji 👍"),
    ],
)
def test_parse_short_text_trims_collapses_and_drops_control_characters(
    text: str, expected: str
) -> None:
    assert parse_short_text(text, 100) == expected


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "\x00\x07"])
def test_parse_short_text_refuses_empty_answers(text: str) -> None:
    with pytest.raises(Invalid):
        parse_short_text(text, 100)


def test_parse_short_text_refuses_long_answers_saying_the_limit() -> None:
    assert parse_short_text("a" * 100, 100) == "a" * 100
    with pytest.raises(Invalid) as caught:
        parse_short_text("a" * 101, 100)
    assert caught.value.hint == "Please keep it under 100 characters."


@pytest.mark.parametrize(
    "text", ["SKIP", "skip", "Skip.", "-", "\u2013", "n/a", "N/A", "na", "NA", "none", "nothing"]
)
def test_is_skip_recognises_skip_words(text: str) -> None:
    assert is_skip(text)


@pytest.mark.parametrize("text", ["no", "No", "n", "yes", "", "skipping school", "none yet", "1"])
def test_is_skip_does_not_treat_no_or_real_answers_as_skip(text: str) -> None:
    assert not is_skip(text)


# --- every parser, arbitrary text ---------------------------------------------------------------

PARSERS: dict[str, Callable[[str], object]] = {
    "parse_date": lambda t: parse_date(t, TODAY),
    "parse_uk_mobile": parse_uk_mobile,
    "parse_uk_phone": parse_uk_phone,
    "parse_yes_no": parse_yes_no,
    "parse_yes_no_unknown": parse_yes_no_unknown,
    "parse_numbers_small": lambda t: parse_numbers(t, 7),
    "parse_numbers_large": lambda t: parse_numbers(t, 12),
    "parse_choice": lambda t: parse_choice(t, OPTIONS),
    "parse_email": parse_email,
    "parse_name": parse_name,
    "parse_short_text": lambda t: parse_short_text(t, 200),
    "is_skip": is_skip,
}


@pytest.mark.parametrize("name", PARSERS)
@settings(max_examples=150, deadline=None)
@given(text=ANY_TEXT)
def test_every_parser_returns_or_raises_invalid_for_any_text(name: str, text: str) -> None:
    try:
        PARSERS[name](text)
    except Invalid as error:
        if error.hint is not None:
            assert len(error.hint) < 80
            assert is_gsm7(error.hint)


HINT_CASES = [
    (lambda: parse_date("02/14/2006", TODAY)),
    (lambda: parse_date("01/01/2099", TODAY)),
    (lambda: parse_date("31/02/2006", TODAY)),
    (lambda: parse_date("01/01/1900", TODAY)),
    (lambda: parse_date("14 Feb", TODAY)),
    (lambda: parse_uk_mobile("020 7946 0000")),
    (lambda: parse_uk_mobile("abc")),
    (lambda: parse_uk_phone("abc")),
    (lambda: parse_yes_no("maybe")),
    (lambda: parse_yes_no_unknown("maybe")),
    (lambda: parse_numbers("99", 12)),
    (lambda: parse_choice("x", OPTIONS)),
    (lambda: parse_email("x")),
    (lambda: parse_name("x1")),
    (lambda: parse_name("x" * 99)),
    (lambda: parse_short_text("", 10)),
    (lambda: parse_short_text("x" * 99, 10)),
]


@pytest.mark.parametrize("call", HINT_CASES)
def test_every_refusal_has_a_short_gsm7_hint(call: Callable[[], object]) -> None:
    with pytest.raises(Invalid) as caught:
        call()
    hint = caught.value.hint
    assert hint and len(hint) < 80 and is_gsm7(hint)


@given(st.dates(min_value=date(1927, 1, 1), max_value=TODAY))
def test_parse_date_reads_back_any_past_date_written_day_first(day: date) -> None:
    assert parse_date(day.strftime("%d/%m/%Y"), TODAY) == day
    assert parse_date(day.strftime("%-d %B %Y"), TODAY) == day
    assert parse_date(day.isoformat(), TODAY) == day
