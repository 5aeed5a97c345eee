"""The shared vocabularies: every status carries its words, and no module spells a status as a string."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from flows.channels import PHONE_CHANNELS, REPLYABLE_CHANNELS, Channel
from flows.process import Status
from flows.statuses import AppointmentStatus, InboundStatus, OutboundStatus, ReplyKind

ROOT = Path(__file__).resolve().parent.parent
# Where the statuses are declared, and migrations, which must keep the strings they were written with.
DECLARING = {ROOT / "flows" / "process.py", ROOT / "flows" / "statuses.py"}
Labelled = Status | InboundStatus | OutboundStatus | AppointmentStatus | ReplyKind
LABELLED: list[Labelled] = [*Status, *InboundStatus, *OutboundStatus, *AppointmentStatus, *ReplyKind]


def _modules() -> list[Path]:
    found = [path for package in ("bot", "store", "flows") for path in sorted((ROOT / package).rglob("*.py"))]
    return [path for path in found if path not in DECLARING and "migrations" not in path.parts]


def _string_constants(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)]


@pytest.mark.parametrize("member", LABELLED, ids=repr)
def test_every_status_carries_a_label(member: Labelled) -> None:
    assert isinstance(member.label, str) and member.label.strip()


@pytest.mark.parametrize("status", list(Status), ids=str)
def test_every_referral_status_has_a_colour_and_words_for_the_referrer(status: Status) -> None:
    assert re.fullmatch(r"#[0-9a-f]{6}", status.colour)
    assert status.words.strip()


def test_a_status_is_its_stored_value_and_carries_its_label() -> None:
    assert Status.MORE_INFO == "more_info_requested" and Status("more_info_requested") is Status.MORE_INFO
    assert Status.MORE_INFO.label == "Awaiting info"
    assert OutboundStatus.PENDING == "pending" and f"{AppointmentStatus.DECLINED}" == "declined"


def test_the_channel_sets_hold_channels() -> None:
    assert PHONE_CHANNELS < REPLYABLE_CHANNELS < set(Channel)
    assert Channel.EMAIL not in REPLYABLE_CHANNELS


def test_the_scan_below_sees_the_modules_and_the_literals_it_looks_for() -> None:
    # Guards the guard: a scan that found no files, or no strings, would pass whatever they held.
    modules = _modules()
    assert ROOT / "bot" / "core.py" in modules and ROOT / "store" / "queue.py" in modules
    assert "queued" in {value for _, value in _string_constants(ROOT / "flows" / "process.py")}


def test_no_module_spells_a_referral_status_as_a_string() -> None:
    values = {status.value for status in Status}
    found = [f"{path.relative_to(ROOT)}:{line}: {value!r}" for path in _modules()
             for line, value in _string_constants(path) if value in values]
    assert found == [], "use flows.process.Status instead of its value"


def test_no_template_compares_a_status_with_a_string() -> None:
    values = {status.value for status in Status} | {status.value for status in AppointmentStatus}
    alternatives = "|".join(map(re.escape, sorted(values)))
    quoted = re.compile(rf"""["']({alternatives})["']""")
    templates = sorted((ROOT / "bot" / "templates").rglob("*.html"))
    assert templates
    found = [f"{path.relative_to(ROOT)}: {match.group(0)}" for path in templates
             for match in quoted.finditer(path.read_text(encoding="utf-8"))]
    assert found == [], "pass the enum to the template (or use a property) instead of its value"
