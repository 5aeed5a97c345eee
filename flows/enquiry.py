"""The enquiry path: a young person, a parent, a friend or a partner asks the unit something (ME).

An enquiry is not a referral (DOMAIN.md, Enquiries): it asks only what the unit needs to reply
safely (what to call them, whether it is safe to text them, their message) and says when someone
will reply. Every text it sends is discreet: it may be read over the sender's shoulder, so it never
names the service, gangs, risks or the police, and fits one GSM-7 segment (flows/discreet.py checks).

`step_enquiry(progress, text, ctx)` is the whole path, with no I/O. Its progress lives in the
conversation's draft beside the referral dialog's, under states of its own (`EnquiryState`), so the
core knows from the draft which path a message belongs to. The table `STEPS` holds the path as data:
a row per state with its question, its re-ask, how an answer is read and where it leads.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from flows.dialog import command_of
from flows.hours import when_seen
from flows.model import Context, Reply, ReplyKind
from flows.parsing import Invalid, parse_yes_no
from flows.safety import suggests_immediate_danger
from flows.text import gsm_safe

__all__ = [
    "EMERGENCY",
    "ENQUIRY_COMMANDS",
    "HELP",
    "MAX_MESSAGE",
    "MAX_NAME",
    "STEPS",
    "EnquiryOutcome",
    "EnquiryProgress",
    "EnquirySent",
    "EnquiryState",
    "Step",
    "done_text",
    "is_enquiry_state",
    "sent_text",
    "starts_enquiry",
    "step_enquiry",
]

MAX_NAME = 40
MAX_MESSAGE = 1000


class EnquiryState(StrEnum):
    """Where an enquiry is; the values are stored as the conversation's state, so keep them."""

    NAME = "enquiry_name"
    SAFE_TO_TEXT = "enquiry_safe_to_text"
    MESSAGE = "enquiry_message"
    DONE = "enquiry_done"


# The words an enquirer may send instead of an answer. ME is the way in; the rest work as in the dialog.
ENQUIRY_COMMANDS: dict[str, str] = {"me": "me", "help": "help", "back": "back", "restart": "restart",
                                    "resume": "resume"}

# The 999 answer for young people and families: what to do now, and where to talk. Nothing here
# says who we are (the phone may be seen by the people harming them), and never "text 999".
EMERGENCY = ("If you are in danger now, call 999. To talk now: Childline 0800 1111 (free, under 19) "
             "or text SHOUT to 85258.")
HELP = ("Answer each question in turn. BACK: last question. RESTART: start again. In danger now? Call 999. "
        "To talk now: Childline 0800 1111.")
_FIRST = "This is the first question."
_RESTARTED = "OK, starting again."
_TOO_LONG = f"Sorry, that is too long. Please send a shorter message (up to {MAX_MESSAGE} letters)."


@dataclass(frozen=True)
class Step:
    """One row of the path: what to ask, what to say when the answer can't be read, how to read it, what next."""

    ask: Callable[[dict[str, Any]], str]
    reask: str
    read: Callable[[str], Any]
    following: EnquiryState
    choices: tuple[str, ...] = ()


def _read_name(text: str) -> str:
    name = " ".join(gsm_safe(text).split())
    if not name or len(name) > MAX_NAME or not re.search(r"[^\W\d_]", name):
        raise Invalid("no name")
    return name


def _read_safe(text: str) -> bool:
    return parse_yes_no(text)


def _read_message(text: str) -> str:
    message = text.strip()
    if not message:
        raise Invalid("empty")
    if len(message) > MAX_MESSAGE:
        raise Invalid(_TOO_LONG)
    return message


def _ask_message(answers: dict[str, Any]) -> str:
    if answers.get("safe_to_text") is False:
        return ("OK, we won't text you. What would you like to ask or tell us? Say how and when we can "
                "reach you safely. Keep it short.")
    return "What would you like to ask or tell us? Please keep it short."


STEPS: dict[EnquiryState, Step] = {
    EnquiryState.NAME: Step(
        ask=lambda _: ("This is private. In danger now? Call 999. What should we call you? "
                       "A first name or a nickname is fine."),
        reask="Sorry, please send just a name we can call you, like Sam.",
        read=_read_name,
        following=EnquiryState.SAFE_TO_TEXT,
    ),
    EnquiryState.SAFE_TO_TEXT: Step(
        ask=lambda _: "Is it safe for us to send messages to you here? Reply Y or N.",
        reask="Sorry, please reply Y or N: is it safe for us to send messages to you here?",
        read=_read_safe,
        following=EnquiryState.MESSAGE,
        choices=("Y", "N"),
    ),
    EnquiryState.MESSAGE: Step(
        ask=_ask_message,
        reask="Please send your message in a few words.",
        read=_read_message,
        following=EnquiryState.DONE,
    ),
}
_KEYS = {EnquiryState.NAME: "name", EnquiryState.SAFE_TO_TEXT: "safe_to_text", EnquiryState.MESSAGE: "message"}
_ORDER = list(STEPS)


def sent_text(safe_to_text: bool, when: str) -> str:
    """The receipt: when someone will reply, and where to talk now. Nothing that says who we are."""
    how = "text you back" if safe_to_text else "reply the way you said,"
    return (f"Thanks, we have your message. Someone will {how} {when}. "
            "To talk now, text SHOUT to 85258. In danger? Call 999.")


def done_text(when: str) -> str:
    """To a message after the enquiry was sent: it is with us; ME sends another."""
    return f"We have your message and someone will reply {when}. To send another message, send ME."


@dataclass
class EnquiryProgress:
    """An enquiry part-way: its state, the answers so far, and unreadable answers in a row."""

    state: EnquiryState = EnquiryState.NAME
    answers: dict[str, Any] = field(default_factory=dict)
    bad_tries: int = 0

    def to_json(self) -> dict[str, Any]:
        """As the conversation's draft: `state` is where the core looks to route the next message."""
        return {"state": self.state.value, "enquiry": dict(self.answers), "bad_tries": self.bad_tries}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EnquiryProgress:
        """The enquiry from a saved draft; a draft of the referral dialog starts a new one."""
        state = data.get("state")
        if not is_enquiry_state(state):
            return cls()
        return cls(EnquiryState(str(state)), dict(data.get("enquiry") or {}), int(data.get("bad_tries", 0)))


@dataclass(frozen=True)
class EnquirySent:
    """An enquiry is complete: it goes to the unit. A distinct outcome from a submitted referral."""

    name: str
    safe_to_text: bool
    message: str


@dataclass(frozen=True)
class EnquiryOutcome:
    """What one message on the enquiry path led to."""

    replies: list[Reply]
    progress: EnquiryProgress
    event: EnquirySent | None = None
    danger: bool = False


def is_enquiry_state(state: object) -> bool:
    return isinstance(state, str) and state in {s.value for s in EnquiryState}


def _command(text: str) -> str | None:
    """HELP, BACK, RESTART, ME and Telegram's /start, read as the dialog reads its commands (/me works too)."""
    word = re.sub(r"[\s.!]+$", "", text.strip().lower())
    if word in ("me", "/me"):
        return "me"
    command = command_of(text)
    return command if command in ENQUIRY_COMMANDS else None


def starts_enquiry(text: str) -> bool:
    """The whole message is ME (any case; /me on Telegram): the way into the enquiry path."""
    return _command(text) == "me"


def _when(ctx: Context) -> str:
    return when_seen(ctx.now, ctx.opening_hours, ctx.opening_days)


class _Walk:
    """One message's walk along the path; `progress` is a copy it may change."""

    def __init__(self, progress: EnquiryProgress, ctx: Context) -> None:
        self.progress = progress
        self.ctx = ctx

    def prompt(self) -> list[Reply]:
        if self.progress.state is EnquiryState.DONE:
            return [Reply(done_text(_when(self.ctx)))]
        row = STEPS[self.progress.state]
        return [Reply(row.ask(self.progress.answers), row.choices)]

    def respond(self, text: str, danger: bool, fresh: bool) -> tuple[list[Reply], EnquirySent | None]:
        command = _command(text)
        if fresh or (command == "me" and self.progress.state is EnquiryState.DONE):
            self.progress = EnquiryProgress()
            return self.prompt(), None
        if command in ("me", "resume"):  # mid-way, ME carries on: nothing typed so far is lost
            return self.prompt(), None
        if command == "help":
            return [Reply(HELP), *self.prompt()], None
        if command == "restart":
            self.progress = EnquiryProgress()
            return [Reply(_RESTARTED), *self.prompt()], None
        if command == "back":
            return self.back(), None
        if self.progress.state is EnquiryState.DONE:
            return ([] if danger else self.prompt()), None
        if danger and self.progress.state is not EnquiryState.MESSAGE:
            # The danger answer goes first; the question stands (a cry for help is not a name).
            return self.prompt(), None
        return self.answer(text)

    def back(self) -> list[Reply]:
        state = self.progress.state
        self.progress.bad_tries = 0
        if state is EnquiryState.NAME:
            return [Reply(_FIRST), *self.prompt()]
        if state is EnquiryState.DONE:
            return self.prompt()
        self.progress.state = _ORDER[_ORDER.index(state) - 1]
        return self.prompt()

    def answer(self, text: str) -> tuple[list[Reply], EnquirySent | None]:
        state = self.progress.state
        row = STEPS[state]
        try:
            value = row.read(text)
        except Invalid as bad:
            self.progress.bad_tries += 1
            said = bad.hint if bad.hint == _TOO_LONG else row.reask
            return [Reply(said, row.choices)], None
        self.progress.bad_tries = 0
        self.progress.answers[_KEYS[state]] = value
        self.progress.state = row.following
        if self.progress.state is not EnquiryState.DONE:
            return self.prompt(), None
        answers = self.progress.answers
        sent = EnquirySent(str(answers["name"]), bool(answers["safe_to_text"]), str(answers["message"]))
        # Only the state stays in the draft: the answers are in the enquiry now.
        self.progress.answers = {}
        return [Reply(sent_text(sent.safe_to_text, _when(self.ctx)))], sent


def step_enquiry(draft: dict[str, Any] | None, text: str, ctx: Context) -> EnquiryOutcome:
    """Take one message on the enquiry path: the replies, the new progress, and an enquiry if it is complete.

    A draft that is not on the path yet (the sender just sent ME) starts it.
    """
    saved = draft or {}
    fresh = not is_enquiry_state(saved.get("state"))
    walk = _Walk(EnquiryProgress.from_json(saved), ctx)
    danger = suggests_immediate_danger(text)
    replies, event = walk.respond(text, danger, fresh)
    if danger:
        replies = [Reply(EMERGENCY, (), ReplyKind.EMERGENCY), *replies]
    return EnquiryOutcome(replies=replies, progress=walk.progress, event=event, danger=danger)
