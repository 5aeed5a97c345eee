"""Tests for flows.boroughs: canonical names, forgiving matches, ambiguity, outside London."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.boroughs import BOROUGHS, OUTSIDE_LONDON, match_borough
from flows.parsing import Ambiguous, Invalid

ANY_CHAR = st.characters(exclude_categories=())
ANY_TEXT = st.one_of(
    st.text(ANY_CHAR),
    st.text(ANY_CHAR, min_size=1_000, max_size=10_000),
    st.text(st.sampled_from("abcdefghiklmnorstuwy &-'."), max_size=30),
)


def test_there_are_32_boroughs_and_the_city_of_london() -> None:
    assert len(BOROUGHS) == 33
    assert len(set(BOROUGHS)) == 33
    assert "City of London" in BOROUGHS
    assert OUTSIDE_LONDON not in BOROUGHS


@pytest.mark.parametrize("name", BOROUGHS)
def test_every_canonical_name_matches_itself_in_any_case(name: str) -> None:
    assert match_borough(name) == name
    assert match_borough(name.upper()) == name
    assert match_borough(f"  {name.lower()}  ") == name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hammersmith & Fulham", "Hammersmith and Fulham"),
        ("Barking & Dagenham", "Barking and Dagenham"),
        ("Kensington & Chelsea", "Kensington and Chelsea"),
        ("LB of Hackney", "Hackney"),
        ("London Borough of Tower Hamlets", "Tower Hamlets"),
        ("the London Borough of Lambeth", "Lambeth"),
        ("Royal Borough of Kensington and Chelsea", "Kensington and Chelsea"),
        ("Royal Borough of Greenwich", "Greenwich"),
        ("RBKC", "Kensington and Chelsea"),
        ("Hackney Council", "Hackney"),
        ("Westminster City Council", "Westminster"),
        ("City of Westminster", "Westminster"),
        ("Lambeth, London", "Lambeth"),
        ("Lambeth.", "Lambeth"),
        ("the City", "City of London"),
        ("The City of London", "City of London"),
        ("Kensington", "Kensington and Chelsea"),
        ("Chelsea", "Kensington and Chelsea"),
        ("Kingston", "Kingston upon Thames"),
        ("Kingston on Thames", "Kingston upon Thames"),
        ("Richmond", "Richmond upon Thames"),
        ("Hammersmith", "Hammersmith and Fulham"),
        ("Fulham", "Hammersmith and Fulham"),
        ("Barking", "Barking and Dagenham"),
        ("Dagenham", "Barking and Dagenham"),
        ("Waltham", "Waltham Forest"),
        ("Tower Hamlet", "Tower Hamlets"),
        ("towerhamlets", "Tower Hamlets"),
        ("lives in Lambeth", "Lambeth"),
        ("Brentford", "Hounslow"),
        ("Walthamstow", "Waltham Forest"),
    ],
)
def test_match_borough_forgives_case_punctuation_prefixes_and_short_forms(
    text: str, expected: str
) -> None:
    assert match_borough(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lamberth", "Lambeth"),
        ("Southwalk", "Southwark"),
        ("Southwork", "Southwark"),
        ("Harringey", "Haringey"),
        ("Hackny", "Hackney"),
        ("Greenwhich", "Greenwich"),
        ("Isslington", "Islington"),
        ("Islinton", "Islington"),
        ("Wandsworh", "Wandsworth"),
        ("Newhem", "Newham"),
        ("Lewishem", "Lewisham"),
        ("Croyden", "Croydon"),
        ("Enfeild", "Enfield"),
        ("Barnett", "Barnet"),
        ("Bromly", "Bromley"),
        ("Hillingdom", "Hillingdon"),
        ("Redbrige", "Redbridge"),
        ("Waltham Forrest", "Waltham Forest"),
        ("Westminister", "Westminster"),
        ("Kensignton", "Kensington and Chelsea"),
    ],
)
def test_match_borough_corrects_common_misspellings(text: str, expected: str) -> None:
    assert match_borough(text) == expected


def test_city_alone_is_ambiguous_between_the_city_of_london_and_westminster() -> None:
    with pytest.raises(Ambiguous) as caught:
        match_borough("City")
    assert set(caught.value.options) == {"City of London", "Westminster"}


def test_a_misspelling_equally_close_to_two_boroughs_is_ambiguous() -> None:
    with pytest.raises(Ambiguous) as caught:
        match_borough("Newisham")
    assert set(caught.value.options) == {"Lewisham", "Newham"}


def test_a_misspelling_equally_close_to_a_borough_and_a_place_outside_is_ambiguous() -> None:
    # "Harow" is one letter from Harrow and one from Harlow, in Essex.
    with pytest.raises(Ambiguous) as caught:
        match_borough("Harow")
    assert set(caught.value.options) == {"Harrow", OUTSIDE_LONDON}


def test_two_boroughs_named_in_one_answer_are_ambiguous() -> None:
    with pytest.raises(Ambiguous) as caught:
        match_borough("Lambeth or Southwark")
    assert set(caught.value.options) == {"Lambeth", "Southwark"}


@pytest.mark.parametrize(
    "text",
    [
        "outside", "Outside London", "not London", "not in London", "none", "out of London",
        "Kent", "Essex", "Surrey", "Hertfordshire", "Berkshire", "Buckinghamshire",
        "Birmingham", "Manchester", "Liverpool", "Leeds", "Bristol", "Luton", "Slough",
        "Watford", "Dartford", "Reading", "Brentwood", "Brentwod", "kent.",
    ],
)
def test_match_borough_recognises_answers_outside_london(text: str) -> None:
    assert match_borough(text) == OUTSIDE_LONDON


def test_kent_is_outside_london_not_a_misspelt_brent() -> None:
    assert match_borough("Kent") == OUTSIDE_LONDON
    assert match_borough("Brent") == "Brent"


@pytest.mark.parametrize(
    "text", ["asdf", "idk", "", "   ", "London", "east London", "Brnt", "SE5 8AB", "12", "?"]
)
def test_match_borough_refuses_text_that_names_no_borough(text: str) -> None:
    with pytest.raises(Invalid) as caught:
        match_borough(text)
    assert not isinstance(caught.value, Ambiguous)


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT)
def test_match_borough_returns_a_borough_or_raises_invalid_for_any_text(text: str) -> None:
    try:
        result = match_borough(text)
    except Ambiguous as error:
        assert len(error.options) >= 2
        assert set(error.options) <= set(BOROUGHS) | {OUTSIDE_LONDON}
    except Invalid:
        pass
    else:
        assert result in BOROUGHS or result == OUTSIDE_LONDON
