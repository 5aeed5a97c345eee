"""The danger detector against a corpus: ordinary referral and enquiry messages never alert, danger always does.

The corpus is in tests/data: safety_ordinary.txt (must raise no alert) and safety_danger.txt (must
all raise one). A false alarm trains people to ignore alerts; a miss leaves someone without the 999
answer. Run with -s to see precision and recall.
"""

from __future__ import annotations

from pathlib import Path

from flows.safety import suggests_immediate_danger

DATA = Path(__file__).parent.parent / "data"


def _messages(name: str) -> list[str]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


ORDINARY = _messages("safety_ordinary.txt")
DANGER = _messages("safety_danger.txt")


def test_the_corpus_is_big_enough_and_has_no_repeats() -> None:
    assert len(ORDINARY) >= 200 and len(DANGER) >= 100
    assert len(set(ORDINARY)) == len(ORDINARY) and len(set(DANGER)) == len(DANGER)
    assert not set(ORDINARY) & set(DANGER)


def test_no_ordinary_message_raises_an_alert_and_no_danger_message_is_missed() -> None:
    false_alarms = [text for text in ORDINARY if suggests_immediate_danger(text)]
    misses = [text for text in DANGER if not suggests_immediate_danger(text)]
    caught = len(DANGER) - len(misses)
    precision = caught / (caught + len(false_alarms)) if caught + len(false_alarms) else 1.0
    recall = caught / len(DANGER)
    print(f"\nsafety corpus: {len(ORDINARY)} ordinary, {len(DANGER)} danger; "
          f"precision {precision:.3f}, recall {recall:.3f}")
    assert false_alarms == [], f"false alarms (precision {precision:.3f})"
    assert misses == [], f"missed danger (recall {recall:.3f})"
