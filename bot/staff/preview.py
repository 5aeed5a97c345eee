"""The confirmation step for texts staff write: the exact text the referrer will get, before it is sent."""

from __future__ import annotations

from dataclasses import dataclass

from bot.actions import written_text
from bot.settings import Settings
from flows.process import Action, Refused
from flows.text import plain, segment_count, sms_length

__all__ = ["WRITTEN", "Preview", "preview_of", "reason_of"]

# The actions whose text to the referrer carries words staff wrote, and the form fields those words come from.
WRITTEN = {Action.DECLINE: ("reason", "other_reason"), Action.REQUEST_INFO: ("question",)}


@dataclass(frozen=True)
class Preview:
    """A text as it will be sent, its length and segments, and the form fields that send exactly it."""

    action: str
    text: str
    characters: int
    segments: int
    fields: dict[str, str]


def reason_of(form: dict[str, str]) -> str | None:
    """The decline reason the form gives: a listed reason's key, or the words typed for "Other"."""
    return form.get("reason") if form.get("reason") != "other" else form.get("other_reason")


def preview_of(settings: Settings, reference: str, action: Action, form: dict[str, str]) -> Preview:
    """The text this form would send the referrer, or Refused as sending it would be (empty, too long)."""
    if action not in WRITTEN:
        raise Refused("Only a question or a decline sends a text you write, so only those have a preview.")
    words = ((reason_of(form) if action is Action.DECLINE else form.get("question")) or "").strip()
    # The outbox sends plain() of what it is given: show that, so the preview is the text that goes.
    text = plain(written_text(settings, reference, action, words))
    return Preview(action=action.value, text=text, characters=sms_length(text), segments=segment_count(text),
                   fields={name: form.get(name, "") for name in WRITTEN[action]})
