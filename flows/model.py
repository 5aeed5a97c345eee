"""The values a dialog step works on: what it knows, what it keeps, what it says."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

__all__ = [
    "Answers", "Context", "Draft", "ForgetReferrer", "Memory", "Outcome", "RememberReferrer", "RememberedUsed", "Reply",
    "ReplyKind", "ScreenedOut", "Submitted",
]

Answers = dict[str, Any]
"""Answers by question key; values are JSON-ready (dates as ISO text)."""


class ReplyKind(StrEnum):
    TEXT = "text"
    SUMMARY = "summary"
    EMERGENCY = "emergency"
    FORM = "form"
    """The FORM template: the one text a referrer asks to be long."""


@dataclass(frozen=True)
class Reply:
    """One message back to the sender; `choices` lets a channel draw buttons for them."""

    text: str
    choices: tuple[str, ...] = ()
    kind: ReplyKind = ReplyKind.TEXT
    share_phone: bool = False
    """The answer is the sender's own phone number: a channel that can share it offers a button."""


@dataclass(frozen=True)
class Context:
    """What a step may know about the world: the time, the rules in force, the channel's facts."""

    now: datetime
    min_age: int = 16
    max_age: int = 24
    sender_phone: str | None = None
    unit_contact: str = "the referral unit on 020 7946 0000"
    reference: str = ""
    opening_hours: tuple[time, time] = (time(9), time(17))
    opening_days: frozenset[int] = frozenset(range(5))
    remembered: Answers | None = None
    """The referrer's own details they asked us to keep for referrals from this sender, if any."""

    @property
    def today(self) -> date:
        return self.now.date()


@dataclass
class Draft:
    """A conversation's saved progress: the dialog state, the answers so far and how it got here."""

    state: str = "new"
    answers: Answers = field(default_factory=dict)
    history: list[str] = field(default_factory=list)
    bad_tries: int = 0
    editing: bool = False
    resume: str | None = None
    reminded: list[str] = field(default_factory=list)
    """Questions whose reminder has been given: each is said once in a referral."""
    filling: bool = False
    """Answers further on came in one message (a form): each answer given passes them, asking only what is missing."""

    def to_json(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "answers": self.answers,
            "history": self.history,
            "bad_tries": self.bad_tries,
            "editing": self.editing,
            "resume": self.resume,
            "reminded": self.reminded,
            "filling": self.filling,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Draft:
        return cls(
            state=data.get("state", "new"),
            answers=dict(data.get("answers", {})),
            history=list(data.get("history", [])),
            bad_tries=int(data.get("bad_tries", 0)),
            editing=bool(data.get("editing", False)),
            resume=data.get("resume"),
            reminded=list(data.get("reminded", [])),
            filling=bool(data.get("filling", False)),
        )


@dataclass(frozen=True)
class Submitted:
    """The referrer confirmed the summary: these answers become a queued referral."""

    reference: str
    answers: Answers


@dataclass(frozen=True)
class ScreenedOut:
    """Screening stopped: only the reason is kept, for counts."""

    reason: str


@dataclass(frozen=True)
class RememberReferrer:
    """The referrer said yes: keep these details of theirs (in place of any kept before) for their next referral."""

    details: Answers


@dataclass(frozen=True)
class RememberedUsed:
    """The referrer used their kept details: they are in use, so not yet due to be forgotten."""


@dataclass(frozen=True)
class ForgetReferrer:
    """The referrer sent FORGET: delete whatever of theirs is kept."""


Memory = RememberReferrer | RememberedUsed | ForgetReferrer


@dataclass(frozen=True)
class Outcome:
    """What one inbound message led to."""

    replies: list[Reply]
    draft: Draft
    event: Submitted | ScreenedOut | None = None
    danger: bool = False
    memory: Memory | None = None
    """What to do with the referrer's kept details; the caller does it (flows do no I/O)."""
