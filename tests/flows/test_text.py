"""Tests for flows.text: GSM-7 membership, segment counts, and GSM-safe echoing."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.text import MAX_SINGLE, gsm_safe, is_gsm7, plain, segment_count

# Every code point, surrogates and control characters included, short and huge.
ANY_CHAR = st.characters(exclude_categories=())
ANY_TEXT = st.one_of(
    st.text(ANY_CHAR),
    st.text(ANY_CHAR, min_size=1_000, max_size=10_000),
)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Hi Jay, it's Sam. See you Tue 4 Mar at 3:00pm, the usual place.",
        "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ!\"#¤%&'()*+,-./:;<=>?¡ÄÖÑÜ§¿äöñüà",
        "line one\nline two\r",
        "^{}\\[~]|€",
        "\f",
    ],
)
def test_is_gsm7_accepts_the_basic_set_and_extension_table(text: str) -> None:
    assert is_gsm7(text)


@pytest.mark.parametrize(
    "text",
    [
        "\u2019", "\u201chi\u201d", "\u2014", "\u2026", "😀", "ç", "ë", "中", "\t", "\x1b", "`",
        "\u00a0",
    ],
)
def test_is_gsm7_refuses_characters_that_force_ucs2(text: str) -> None:
    assert not is_gsm7(text)


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 1),
        ("a", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("a" * 459, 3),
        ("a" * 460, 4),
        ("€" * 80, 1),
        ("€" * 80 + "a", 2),
        ("a" * 159 + "€", 2),
        ("a" * 159 + "^", 2),
        ("é" * 160, 1),
        ("ç" * 70, 1),
        ("ç" * 71, 2),
        ("ç" * 134, 2),
        ("ç" * 135, 3),
        ("😀" * 35, 1),
        ("😀" * 35 + "a", 2),
        ("a" * 69 + "\u2019", 1),
        ("a" * 70 + "\u2019", 2),
    ],
)
def test_segment_count_matches_hand_computed_examples(text: str, segments: int) -> None:
    assert segment_count(text) == segments


def test_an_emoji_counts_as_two_ucs2_units() -> None:
    assert segment_count("a" * 68 + "😀") == 1
    assert segment_count("a" * 69 + "😀") == 2


def test_a_euro_sign_counts_as_two_gsm7_characters() -> None:
    assert segment_count("a" * 158 + "€") == 1
    assert segment_count("a" * 159 + "€") == 2


def test_max_single_is_one_gsm7_segment() -> None:
    assert MAX_SINGLE == 160
    assert segment_count("a" * MAX_SINGLE) == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("it\u2019s", "it's"),
        ("\u2018quoted\u2019", "'quoted'"),
        ("\u201cquoted\u201d", '"quoted"'),
        ("3\u20135", "3-5"),
        ("wait \u2014 what", "wait - what"),
        ("and so\u2026", "and so..."),
        ("\u2022 item", "- item"),
        ("no\u00a0break", "no break"),
        ("thin\u2009space", "thin space"),
        ("zero\u200bwidth", "zerowidth"),
        ("plain text", "plain text"),
    ],
)
def test_plain_replaces_typographic_characters_with_ascii(text: str, expected: str) -> None:
    assert plain(text) == expected
    assert is_gsm7(plain(text))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Zoë", "Zoe"),
        ("José", "José"),
        ("Müller", "Müller"),
        ("Ñoño", "Ñoño"),
        ("Ägypten", "Ägypten"),
        ("François", "Francois"),
        ("Łukasz", "Lukasz"),
        ("Ærøskøbing", "Ærøskøbing"),
        ("  Jay \n\n Smith\t ", "Jay Smith"),
        ("it\u2019s \u201cfine\u201d", 'it\'s "fine"'),
        ("hi 😀", "hi ?"),
        ("李", "?"),
        ("a\x00b\x1bc", "a b c"),
        ("ﬁne", "fine"),
        ("", ""),
    ],
)
def test_gsm_safe_transliterates_and_collapses(text: str, expected: str) -> None:
    assert gsm_safe(text) == expected


def test_gsm_safe_keeps_the_message_in_one_gsm7_segment_budget() -> None:
    echoed = f"Thanks. You said the name is {gsm_safe('Zoë “Jay” O’Neil')}."
    assert is_gsm7(echoed)
    assert segment_count(echoed) == 1


@settings(max_examples=300)
@given(ANY_TEXT)
def test_gsm_safe_output_is_always_gsm7(text: str) -> None:
    assert is_gsm7(gsm_safe(text))


@settings(max_examples=200)
@given(ANY_TEXT)
def test_gsm_safe_output_is_one_line_without_edge_spaces(text: str) -> None:
    out = gsm_safe(text)
    assert out == out.strip()
    assert "  " not in out
    assert not any(c in out for c in "\n\r\f")


@settings(max_examples=200)
@given(ANY_TEXT)
def test_segment_count_is_at_least_one_and_never_raises(text: str) -> None:
    assert segment_count(text) >= 1


@given(st.text(st.sampled_from("abc XYZ019.,!?@£$"), max_size=500))
def test_segment_count_of_gsm7_text_follows_160_and_153(text: str) -> None:
    expected = 1 if len(text) <= 160 else -(-len(text) // 153)
    assert segment_count(text) == expected
