"""Who a simulator session plays, written into its sender id, so the core can tell a young person from a referrer.

A simulator session's sender id is `<role>:<session>`. A session playing a young person is named by
their mobile number without the +, e.g. `young_person:447700900456`: texts the bot sends that number
(a booked session's reminders) wait in that session's inbox, and what the session sends finds the
young person's referral by that number, as a reply by SMS does, but only among referrals made in the
simulator: a real young person's number is, to the simulator, a number it has never seen.
"""

from __future__ import annotations

from typing import Literal

__all__ = [
    "SIMULATED_YOUNG_PERSON",
    "SimulatorRole",
    "simulated_young_person",
    "simulated_young_person_sender",
    "simulator_sender",
]

SimulatorRole = Literal["referrer", "young_person"]

SIMULATED_YOUNG_PERSON = "young_person:"


def simulator_sender(role: SimulatorRole, session: str) -> str:
    """The sender id of a simulator session playing `role`."""
    return f"{role}:{session}"


def simulated_young_person_sender(number: str) -> str:
    """The simulator session that plays the young person with this mobile number."""
    return SIMULATED_YOUNG_PERSON + number.lstrip("+")


def simulated_young_person(sender: str) -> str | None:
    """The mobile number a simulator sender plays, if it plays a young person; None for a referrer."""
    if not sender.startswith(SIMULATED_YOUNG_PERSON):
        return None
    return "+" + sender.removeprefix(SIMULATED_YOUNG_PERSON)
