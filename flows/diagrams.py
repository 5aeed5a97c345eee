"""The referral dialog and the referral unit's process, drawn by `transitions` as mermaid state diagrams.

Each drawing is made from the rows its running machine is built from, so it shows every move the
code can make. They are committed beside the code (`flows/*.mmd`) and shown in the README;
`make diagrams` (`python -m flows.diagrams`) writes both again after a change, and a test fails
while either is out of date.

The dialog has a row per question for each command (BACK, RESTART, an edit from the summary), and
drawn one arrow each they hide the flow. So its questions are drawn in boxes, one per section of
the summary, and rows that differ only in their source are drawn once from each box they fill: an
arrow from a box leaves every question in it. Rows that differ only in their destination are
drawn once into each box they fill: an arrow into a box leads to the one question its condition
picks (no box has a first state, so an arrow never means "enter at the top").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from pathlib import Path
from typing import Any, Literal, NamedTuple

from transitions.extensions.diagrams import HierarchicalGraphMachine
from transitions.extensions.nesting import NestedState

from flows import dialog, process
from flows.questions import sections as question_sections

__all__ = ["DRAWINGS", "REGENERATE", "dialog_diagram", "in_readme", "process_diagram", "with_drawings", "write_all"]

REGENERATE = "make diagrams"
"""The command that writes the drawings again (it runs `python -m flows.diagrams`)."""


class Row(NamedTuple):
    """One transition from one state."""

    trigger: str
    source: str
    dest: str
    conditions: tuple[str, ...]


_SEPARATOR = "__"
_QUESTIONS = "questions"


class _Box(NestedState):
    """A state of a drawing, perhaps a box of others, with the name it is shown by."""

    # The dialog's state names have single underscores, the default separator of nested names.
    separator = _SEPARATOR

    def __init__(self, *args: Any, label: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if label:
            self.label = label


class _Drawing(HierarchicalGraphMachine):
    """Draws, never runs: no model is ever added, so no condition is ever called."""

    state_cls = _Box


def _draw(title: str, states: Sequence[Any], rows: Iterable[Row], initial: Any, direction: str) -> str:
    """One machine as mermaid text, with each transition's conditions on its arrow."""
    machine = _Drawing(
        model=None,
        states=list(states),
        transitions=[
            {"trigger": row.trigger, "source": row.source, "dest": row.dest, "conditions": list(row.conditions)}
            for row in rows
        ],
        initial=initial,
        auto_transitions=False,
        show_conditions=True,
        graph_engine="mermaid",
        title=title,
    )
    machine.machine_attributes = {**machine.machine_attributes, "rankdir": direction}
    # A graph of no model: drawn with no state marked as the current one.
    source = machine.graph_cls(machine).get_graph().draw(None)  # with no file to write, draw() returns the text
    assert source is not None
    # transitions writes the title as a bare front-matter line and pads blank lines; mermaid reads
    # `title:` there, and trailing spaces would only be noise in diffs.
    lines = [line.rstrip() for line in source.splitlines()]
    if lines[:3] == ["---", title, "---"]:
        lines[1] = f"title: {title}"
    return "\n".join(lines) + "\n"


def _name(state: Any) -> str:
    return state.name if isinstance(state, Enum) else str(state)


def _rows(table: Iterable[dict[str, Any]]) -> list[Row]:
    """A transition table as the machine holds it: one row per source state, in the table's order."""
    rows = []
    for row in table:
        sources = row["source"] if isinstance(row["source"], list) else [row["source"]]
        conditions = row.get("conditions", ())
        conditions = (conditions,) if isinstance(conditions, str) else tuple(conditions)
        rows += [Row(str(row["trigger"]), _name(source), _name(row["dest"]), conditions) for source in sources]
    return rows


def _grouped(rows: list[Row], side: Literal["source", "dest"], boxes: dict[str, set[str]]) -> list[Row]:
    """Rows alike but for their source (or destination), drawn once from (or into) each box they fill."""

    def at(row: Row, name: str) -> Row:
        return row._replace(source=name) if side == "source" else row._replace(dest=name)

    alike: dict[Row, list[str]] = {}
    for row in rows:
        alike.setdefault(at(row, ""), []).append(getattr(row, side))
    drawn: list[Row] = []
    for pattern, names in alike.items():
        # An arrow into a box needs a condition to say which question it leads to.
        if side == "dest" and not pattern.conditions:
            drawn += [at(pattern, name) for name in names]
            continue
        box_of: dict[str, str] = {}
        # Largest first: the boxes nest, so each name goes in the outermost box its rows fill.
        for box in sorted(boxes, key=lambda b: (-len(boxes[b]), b)):
            if boxes[box] <= set(names) - box_of.keys():
                box_of |= dict.fromkeys(boxes[box], box)
        # Each box is drawn where its first question's row was.
        drawn += [at(pattern, shown) for shown in dict.fromkeys(box_of.get(name, name) for name in names)]
    return drawn


def _dialog_states() -> tuple[list[Any], dict[str, str], dict[str, set[str]]]:
    """The dialog's states with its questions boxed by section; each question's drawn name; each box's questions."""
    sections = [(title, [q.key for q in questions]) for title, questions in question_sections()]
    # Every question names its section, so none is left loose in the outer box.
    loose: list[str] = []
    path: dict[str, str] = {}
    boxes: dict[str, set[str]] = {_QUESTIONS: set(dialog.QUESTION_KEYS)}
    children: list[Any] = []
    for title, keys in sections:
        box = title.lower().replace(" ", "_")
        children.append({"name": box, "label": title, "children": keys})
        boxes[_SEPARATOR.join([_QUESTIONS, box])] = set(keys)
        path |= {key: _SEPARATOR.join([_QUESTIONS, box, key]) for key in keys}
    children += loose
    path |= {key: _SEPARATOR.join([_QUESTIONS, key]) for key in loose}
    questions = {"name": _QUESTIONS, "label": "Questions", "children": children}
    after = [state for state in dialog.STATES if state not in boxes[_QUESTIONS] and state != dialog.State.NEW]
    return [dialog.State.NEW, questions, *after], path, boxes


def dialog_diagram() -> str:
    """The referral dialog, every question and command: `flows/dialog.py`, built from `flows/questions.py`."""
    states, path, boxes = _dialog_states()
    rows = _grouped(_grouped(_rows(dialog.TRANSITIONS), "source", boxes), "dest", boxes)
    drawn = [row._replace(source=path.get(row.source, row.source), dest=path.get(row.dest, row.dest)) for row in rows]
    # Top to bottom: thirty-one questions side by side are too wide for a page.
    return _draw("Referral dialog", states, drawn, dialog.State.NEW, direction="TB")


def process_diagram() -> str:
    """The referral unit's process, from queued to closed: `flows/process.py`."""
    return _draw("Referral unit process", list(process.Status), _rows(process.TRANSITIONS), process.Status.QUEUED,
                 direction="LR")


DRAWINGS: dict[str, Callable[[], str]] = {
    "dialog.mmd": dialog_diagram,
    "process.mmd": process_diagram,
}
"""Each drawing's file name in `flows/`, and how it is drawn."""

# The README shows each drawing in a mermaid block under a marker naming its file.
_README_BLOCK = re.compile(
    r"(<!-- flows/(?P<name>[\w.]+), written by make diagrams -->\n```mermaid\n)(?P<drawing>.*?)(?=```)", re.DOTALL
)


def in_readme(readme: str) -> dict[str, str]:
    """The drawings a README shows, by file name."""
    return {block["name"]: block["drawing"] for block in _README_BLOCK.finditer(readme)}


def with_drawings(readme: str) -> str:
    """The README with each drawing it shows made current."""
    return _README_BLOCK.sub(lambda block: block[1] + DRAWINGS[block["name"]](), readme)


def write_all(folder: Path = Path(__file__).parent, readme: Path | None = None) -> list[Path]:
    """Write every drawing into `folder`, and into the README beside it when there is one; the paths written."""
    readme = readme or folder.parent / "README.md"
    written = []
    for name, draw in DRAWINGS.items():
        path = folder / name
        path.write_text(draw(), encoding="utf-8")
        written.append(path)
    if readme.exists():
        readme.write_text(with_drawings(readme.read_text(encoding="utf-8")), encoding="utf-8")
        written.append(readme)
    return written


if __name__ == "__main__":
    # The one place in flows/ that writes a file: a developer's command, never part of a dialog step.
    for written in write_all():
        print(f"wrote {written.name}")
