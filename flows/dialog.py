"""The referral dialog as a `transitions` state machine built from the question table.

`step(draft, text, ctx)` is the whole dialog: it takes a saved draft and one message and
returns the replies, the new draft and what happened (submitted, screened out). No I/O.
"""

from __future__ import annotations

import copy
import re
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from transitions import Machine

from flows import messages
from flows.hours import when_seen
from flows.model import Context, Draft, Outcome, Reply, ReplyKind, ScreenedOut, Submitted
from flows.parsing import Ambiguous, Invalid, is_skip, parse_yes_no
from flows.questions import BY_KEY, QUESTIONS, SCREENING_KEYS, applicable
from flows.safety import suggests_immediate_danger
from flows.screening import Reason, explanation
from flows.summary import SO_FAR, render_summary, summary_items

__all__ = ["step", "State", "MACHINE", "TRANSITIONS", "STATES", "command_of", "COMMANDS"]

STUCK_AFTER = 3
_ITEM_NUMBER = re.compile(r"[0-9]{1,4}")


class State:
    NEW = "new"
    SUMMARY = "summary"
    CONFIRM_RESTART = "confirm_restart"
    DONE = "done"
    SCREENED_OUT = "screened_out"


QUESTION_KEYS = [q.key for q in QUESTIONS]
FIRST = QUESTION_KEYS[0]
FINISHED = [State.NEW, State.DONE, State.SCREENED_OUT]
STATES = [State.NEW, *QUESTION_KEYS, State.SUMMARY, State.CONFIRM_RESTART, State.DONE, State.SCREENED_OUT]


def _build_transitions() -> list[dict[str, Any]]:
    """The dialog as data: readable, drawable, and derived from the question order."""
    table: list[dict[str, Any]] = [{"trigger": "begin", "source": FINISHED, "dest": FIRST}]
    for here, following in zip(QUESTION_KEYS, [*QUESTION_KEYS[1:], State.SUMMARY]):
        # An edit from the summary goes straight back to it once nothing is missing.
        table.append({"trigger": "answered", "source": here, "dest": State.SUMMARY, "conditions": "finishing_edit"})
        table.append({"trigger": "answered", "source": here, "dest": following})
    table += [
        {"trigger": "screen_out", "source": sorted(SCREENING_KEYS), "dest": State.SCREENED_OUT},
        {"trigger": "ask_restart", "source": [*QUESTION_KEYS, State.SUMMARY], "dest": State.CONFIRM_RESTART},
        {"trigger": "restart", "source": State.CONFIRM_RESTART, "dest": FIRST},
        {"trigger": "submit", "source": State.SUMMARY, "dest": State.DONE, "conditions": "complete"},
    ]
    return table


TRANSITIONS = _build_transitions()

COMMANDS: dict[str, str] = {
    "help": "help", "info": "help",
    "back": "back", "go back": "back",
    "restart": "restart", "start again": "restart", "start over": "restart",
    "summary": "summary", "check": "summary",
    "/start": "resume",
}


def command_of(text: str) -> str | None:
    """The command a whole message means, if any (Telegram's /help works like HELP)."""
    word = re.sub(r"[\s.!]+$", "", text.strip().lower())
    if word in COMMANDS:
        return COMMANDS[word]
    if word.startswith("/") and word[1:] in COMMANDS:
        return COMMANDS[word[1:]]
    return None


class _Turn:
    """The machine's model for one message: the draft being changed and the context it is read in."""

    state: str

    def __init__(self, draft: Draft, ctx: Context) -> None:
        self.draft = draft
        self.ctx = ctx
        self.state = State.NEW

    # Conditions named in the transition table.
    def complete(self) -> bool:
        return all(q.key in self.draft.answers for q in applicable(self.draft.answers, self.ctx))

    def finishing_edit(self) -> bool:
        return self.draft.editing and self.complete()

    if TYPE_CHECKING:
        # Bound by the machine at add_model; an attribute of the same name would stop that binding.
        def begin(self) -> bool: ...
        def answered(self) -> bool: ...
        def screen_out(self) -> bool: ...
        def ask_restart(self) -> bool: ...
        def restart(self) -> bool: ...
        def submit(self) -> bool: ...
        def trigger(self, name: str) -> bool: ...

    def goto(self, state: str) -> None:
        self.trigger(f"to_{state}")

    # --- responding ---------------------------------------------------------------------

    def respond(self, text: str, danger: bool) -> tuple[list[Reply], Submitted | ScreenedOut | None]:
        if danger and self.state not in FINISHED:
            # Safety first. The message is not taken as an answer: the question stands.
            return [Reply(messages.EMERGENCY, (), ReplyKind.EMERGENCY), *self._prompt()], None
        if self.state in FINISHED:
            self._start_afresh()
            self.begin()
            self._settle()
            return [Reply(messages.WELCOME), *self._prompt()], None
        command = command_of(text)
        if self.state == State.CONFIRM_RESTART:
            return self._confirm_restart(command, text), None
        if command is not None:
            return self._command(command), None
        if self.state == State.SUMMARY:
            return self._at_summary(text)
        return self._answer(text)

    def _start_afresh(self) -> None:
        self.draft.answers = {}
        self.draft.history = []
        self.draft.bad_tries = 0
        self.draft.editing = False
        self.draft.resume = None
        for question in QUESTIONS:
            known = question.known_answer(self.ctx)
            if known is not None:
                self.draft.answers[question.key] = known

    def _settle(self) -> None:
        """Move past questions that don't apply (and, in an edit, those already answered)."""
        while self.state in BY_KEY:
            question = BY_KEY[self.state]
            answered = question.key in self.draft.answers
            skip = (self.draft.editing and answered) or question.known_answer(self.ctx) is not None
            if question.applies(self.draft.answers, self.ctx) and not skip:
                return
            self.answered()
        if self.state == State.SUMMARY:
            self.draft.editing = False

    def _prompt(self) -> list[Reply]:
        """What to ask now: the current question, the summary, or the restart confirmation."""
        if self.state == State.CONFIRM_RESTART:
            return [Reply(messages.CONFIRM_RESTART, ("RESTART",))]
        if self.state == State.SUMMARY:
            return [Reply(render_summary(self.draft.answers, self.ctx), ("YES",), ReplyKind.SUMMARY)]
        question = BY_KEY[self.state]
        choices = question.choices or (("SKIP",) if question.optional else ())
        return [Reply(question.text, choices, share_phone=question.share_phone)]

    def _command(self, command: str) -> list[Reply]:
        if command == "help":
            return [Reply(messages.help_text(self.ctx.unit_contact)), *self._prompt()]
        if command == "resume":
            return self._prompt()
        if command == "summary":
            if self.state == State.SUMMARY:
                return self._prompt()
            text = render_summary(self.draft.answers, self.ctx, SO_FAR)
            return [Reply(text, (), ReplyKind.SUMMARY), *self._prompt()]
        if command == "restart":
            self.draft.resume = self.state
            self.ask_restart()
            return self._prompt()
        return self._back()

    def _back(self) -> list[Reply]:
        self.draft.bad_tries = 0
        if self.draft.editing:
            self.draft.editing = False
            self.goto(State.SUMMARY)
            return self._prompt()
        if not self.draft.history:
            return [Reply(messages.FIRST_QUESTION), *self._prompt()]
        self.goto(self.draft.history.pop())
        return self._prompt()

    def _confirm_restart(self, command: str | None, text: str) -> list[Reply]:
        resume, self.draft.resume = self.draft.resume or FIRST, None
        if command == "restart":
            self._start_afresh()
            self.restart()
            self._settle()
            return [Reply(messages.RESTARTED), *self._prompt()]
        self.goto(resume)
        return [Reply(messages.CARRY_ON), *self._prompt()]

    def _at_summary(self, text: str) -> tuple[list[Reply], Submitted | None]:
        items = summary_items(self.draft.answers, self.ctx)
        cleaned = text.strip()
        if _ITEM_NUMBER.fullmatch(cleaned):
            if 1 <= int(cleaned) <= len(items):
                self.draft.editing = True
                self.goto(items[int(cleaned) - 1].key)
                return self._prompt(), None
            return [Reply(messages.pick_number_text(len(items)))], None
        try:
            confirmed = cleaned.lower() in {"send", "submit"} or parse_yes_no(cleaned)
        except Invalid:
            confirmed = False
        if confirmed and self.submit():
            submitted = Submitted(self.ctx.reference, self._kept_answers())
            return self._submitted(), submitted
        return [Reply(messages.SUMMARY_PROMPT, ("YES",))], None

    def _kept_answers(self) -> dict[str, Any]:
        return {q.key: self.draft.answers[q.key] for q in applicable(self.draft.answers, self.ctx)}

    def _submitted(self) -> list[Reply]:
        when = when_seen(self.ctx.now, self.ctx.opening_hours, self.ctx.opening_days)
        self._start_afresh()
        self.draft.answers = {}
        return [Reply(messages.submitted_text(self.ctx.reference, when))]

    def _answer(self, text: str) -> tuple[list[Reply], ScreenedOut | None]:
        question = BY_KEY[self.state]
        try:
            value = None if question.optional and is_skip(text) else question.parse(text, self.ctx)
        except Ambiguous as unclear:
            self.draft.bad_tries += 1
            return [Reply(_did_you_mean(unclear.options), unclear.options)], None
        except Invalid as bad:
            self.draft.bad_tries += 1
            replies = [Reply(_reask(question.reask, bad.hint), question.choices)]
            if self.draft.bad_tries >= STUCK_AFTER:
                replies.append(Reply(messages.stuck_text(self.ctx.unit_contact)))
            return replies, None
        self.draft.bad_tries = 0
        self.draft.answers[question.key] = value
        reason = question.screen(value, self.draft.answers, self.ctx) if question.screen else None
        if reason is not None:
            return self._screened_out(reason), ScreenedOut(reason.value)
        if not self.draft.editing:
            self.draft.history.append(question.key)
        self.answered()
        self._settle()
        return self._prompt(), None

    def _screened_out(self, reason: Reason) -> list[Reply]:
        self.screen_out()
        # Nothing that identifies anyone is kept once screening has said no.
        self._start_afresh()
        self.draft.answers = {}
        return [Reply(explanation(reason, self.ctx.min_age, self.ctx.max_age))]


def _reask(reask: str, hint: str | None) -> str:
    """The question's own re-ask, after what was wrong when the parser could say ("That date is in the future.").

    Hints that are instructions ("Please ...") would only repeat the re-ask, which has the example.
    """
    if not hint or hint.startswith("Please"):
        return reask
    what_was_wrong = hint.split(". ", 1)[0].rstrip(".") + "."
    return f"{what_was_wrong} {reask}" if len(what_was_wrong) + len(reask) < 160 else reask


def _did_you_mean(options: tuple[str, ...]) -> str:
    names = " or ".join(options[:3])
    return f"Did you mean {names}? Please send the name."


MACHINE = Machine(
    model=None,
    states=STATES,
    transitions=TRANSITIONS,
    initial=State.NEW,
    auto_transitions=True,
    ignore_invalid_triggers=False,
)


_local = threading.local()


def _turn_model() -> _Turn:
    """This thread's machine model, bound once: binding a model costs more than a whole step."""
    turn: _Turn | None = getattr(_local, "turn", None)
    if turn is None:
        turn = _Turn(Draft(), Context(now=datetime.now(UTC)))
        MACHINE.add_model(turn, initial=State.NEW)
        _local.turn = turn
    return turn


def step(draft: Draft, text: str, ctx: Context) -> Outcome:
    """Take one message in a conversation: the replies, the new draft, and what happened."""
    turn = _turn_model()
    turn.draft, turn.ctx = copy.deepcopy(draft), ctx
    # A step never awaits, so reusing the thread's model cannot interleave two conversations.
    MACHINE.set_state(draft.state if draft.state in STATES else State.NEW, model=turn)
    danger = suggests_immediate_danger(text)
    replies, event = turn.respond(text, danger)
    turn.draft.state = turn.state
    if danger and replies[0].kind is not ReplyKind.EMERGENCY:
        replies = [Reply(messages.EMERGENCY, (), ReplyKind.EMERGENCY), *replies]
    return Outcome(replies=replies, draft=turn.draft, event=event, danger=danger)
