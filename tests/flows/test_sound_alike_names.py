"""Names as they sound: the spellings of one young person agree, another young person's name does not."""

from __future__ import annotations

import pytest

from flows.same_person import Decision, name_key, sound_of, young_person_name

DOB = "2006-02-14"


def details(first: str, last: str, dob: str = DOB) -> dict[str, str]:
    return {"yp_first_name": first, "yp_last_name": last, "dob": dob}


@pytest.mark.parametrize(("one", "other"), [
    (("Jordan", "Smith-Jones"), ("Jordon", "Smith Jones")),
    (("JORDAN", "smith-jones"), ("jordan", "SMITH JONES")),
    (("Mohammed", "O'Neill"), ("Muhammad", "ONeill")),
    (("Stephen", "Okonkwo"), ("Steven", "Okonkwo")),
    (("Zoë", "Brontë"), ("Zoe", "Bronte")),
    (("Jean-Paul", "Mbappé"), ("Jean Paul", "Mbappe")),
    # The name is one answer now: where the first name ends doesn't matter.
    (("Ann", "Marie-Lee"), ("Ann-Marie", "Lee")),
    (("Мария", "Иванова"), ("мария", "иванова")),  # outside the Latin alphabet: its own letters, any case
])
def test_spellings_of_one_name_share_a_key(one: tuple[str, str], other: tuple[str, str]) -> None:
    assert name_key(details(*one)) == name_key(details(*other)) is not None


@pytest.mark.parametrize(("one", "other"), [
    (("Jordan", "Smith"), ("Kwame", "Smith")),
    (("Jordan", "Smith"), ("Jordan", "Mensah")),
    (("Мария", "Иванова"), ("Ольга", "Иванова")),
    (("محمد", "علي"), ("أحمد", "علي")),
])
def test_another_young_person_with_the_same_birthday_has_another_key(one: tuple[str, str],
                                                                     other: tuple[str, str]) -> None:
    assert name_key(details(*one)) != name_key(details(*other))


def test_the_same_name_born_another_day_has_another_key() -> None:
    assert name_key(details("Jordan", "Smith")) != name_key(details("Jordan", "Smith", "2006-02-15"))


def test_first_and_last_names_are_not_mixed_up() -> None:
    assert name_key(details("Jordan", "Smith")) != name_key(details("Smith", "Jordan"))


def test_without_a_name_part_or_a_birth_date_there_is_no_key() -> None:
    assert name_key({"yp_first_name": "Jordan", "dob": DOB}) is None
    assert name_key({"yp_first_name": "Jordan", "yp_last_name": "Smith"}) is None
    assert name_key(details("-", "Smith")) is None
    assert young_person_name(details("Jordan", "Smith-Jones")) == ["Jordan", "Smith", "Jones"]


def test_a_name_sounds_like_its_metaphone() -> None:
    assert sound_of("Jordan") == sound_of("Jordon") == "JRTN"


def test_the_decisions_carry_their_words() -> None:
    assert Decision("same") is Decision.SAME and Decision.SAME.label == "Same person"
    assert Decision.DIFFERENT.label == "Different person"
