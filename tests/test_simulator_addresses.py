"""The simulator's address convention: a session playing a young person is known by their number."""

from __future__ import annotations

from flows.simulator_addresses import simulated_young_person, simulated_young_person_sender, simulator_sender


def test_a_young_persons_number_comes_back_from_the_simulator_session_that_plays_them() -> None:
    sender = simulated_young_person_sender("+447700900456")
    assert sender == simulator_sender("young_person", "447700900456")
    assert simulated_young_person(sender) == "+447700900456"


def test_a_simulated_referrer_is_not_taken_for_a_young_person() -> None:
    assert simulated_young_person(simulator_sender("referrer", "447700900456")) is None
