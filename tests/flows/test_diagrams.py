"""The committed drawings of the dialog and the process are current, and draw every move the machines make."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from transitions import Machine

from flows import dialog, process
from flows.diagrams import DRAWINGS, REGENERATE, in_readme, with_drawings

FLOWS = Path(dialog.__file__).parent
Move = tuple[str, str, str, tuple[str, ...]]

_BOX_OPENS = re.compile(r"state (\S+) \{")
_STATE = re.compile(r'state "[^"]*" as (\S+)')
_ARROW = re.compile(r"(\S+) --> (\S+): (.+)")
_LABEL = re.compile(r"(\w+)(?: \[(.+)\])?")


@pytest.mark.parametrize("name", sorted(DRAWINGS))
def test_the_committed_drawing_is_current(name: str) -> None:
    committed = (FLOWS / name).read_text(encoding="utf-8")
    assert committed == DRAWINGS[name](), f"flows/{name} is out of date: run `{REGENERATE}` and commit it"


def test_the_readme_shows_every_drawing_as_it_is_now() -> None:
    readme = (FLOWS.parent / "README.md").read_text(encoding="utf-8")
    shown = in_readme(readme)
    assert sorted(shown) == sorted(DRAWINGS)
    assert readme == with_drawings(readme), f"README.md shows an old drawing: run `{REGENERATE}` and commit it"


def _drawn_moves(text: str) -> set[Move]:
    """Every move a mermaid drawing shows, with arrows from or into a box spread over the states in it."""
    boxes: dict[str, set[str]] = {}
    open_boxes: list[str] = []
    for line in (line.strip() for line in text.splitlines()):
        if opened := _BOX_OPENS.fullmatch(line):
            open_boxes.append(opened[1])
            boxes[opened[1]] = set()
        elif line == "}":
            open_boxes.pop()
        elif state := _STATE.fullmatch(line):
            for box in open_boxes:
                boxes[box].add(state[1])

    def states(drawn: str) -> set[str]:
        inside = boxes.get(drawn, {drawn})
        return {name.rsplit("__", 1)[-1] for name in inside if name not in boxes}

    moves = set()
    for line in (line.strip() for line in text.splitlines()):
        if not (arrow := _ARROW.fullmatch(line)) or arrow[1] == "[*]":
            continue
        for label in arrow[3].split(" | "):
            parts = _LABEL.fullmatch(label)
            assert parts, label
            conditions = tuple(parts[2].split(" & ")) if parts[2] else ()
            moves |= {(parts[1], source, dest, conditions) for source in states(arrow[1]) for dest in states(arrow[2])}
    return moves


def _machine_moves(machine: Machine) -> set[Move]:
    """Every move a running machine can make: its transitions, one per source state."""
    return {
        (name, source, str(transition.dest), tuple(f"{'' if c.target else '!'}{c.func}" for c in transition.conditions))
        for name, event in machine.events.items()
        for source, transitions in event.transitions.items()
        for transition in transitions
    }


@pytest.mark.parametrize(("name", "machine"), [("dialog.mmd", dialog.MACHINE), ("process.mmd", process.MACHINE)])
def test_the_drawing_shows_every_move_of_the_running_machine_and_no_other(name: str, machine: Machine) -> None:
    assert _drawn_moves(DRAWINGS[name]()) == _machine_moves(machine)


def test_back_edits_skips_and_carrying_on_are_drawn_as_transitions() -> None:
    drawn = _drawn_moves(DRAWINGS["dialog.mmd"]())
    assert ("back", "borough", "dob", ("last_answered",)) in drawn
    assert ("back", "summary", "urgency_notes", ("last_answered",)) in drawn
    # BACK after a question that was skipped returns past it.
    assert ("back", "history", "consent", ("last_answered",)) in drawn
    assert ("back", "yp_contact", "summary", ("editing",)) in drawn
    assert ("edit", "summary", "yp_name", ("picked",)) in drawn
    assert ("skip", "mash", "history", ("not_applicable",)) in drawn
    assert ("skip", "referrer_phone", "referrer_email", ("known_from_channel",)) in drawn
    assert ("carry_on", "confirm_restart", "summary", ("where_they_were",)) in drawn
    # Kept details stand in for the referrer's questions, and BACK returns to them.
    assert ("answered", "supported_elsewhere", "use_remembered", ("offers_remembered",)) in drawn
    assert ("skip", "referrer_email", "relationship", ("kept",)) in drawn
    assert ("back", "relationship", "use_remembered", ("last_answered",)) in drawn
    assert ("offer", "done", "offer_remember", ()) in drawn
    # Only questions the summary numbers can be edited.
    assert not any(move[0] == "edit" and move[2] == "ready" for move in drawn)
