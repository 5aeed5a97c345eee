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

from transitions import EventData, Machine

from flows import messages
from flows.first_message import details_in, got_it_text
from flows.form import described, first_reason, looks_like_form, read_form, reading_note, template
from flows.hours import when_seen
from flows.model import (
    Answers,
    Context,
    Draft,
    ForgetReferrer,
    Memory,
    Outcome,
    RememberedUsed,
    RememberReferrer,
    Reply,
    ReplyKind,
    ScreenedOut,
    Submitted,
)
from flows.parsing import Ambiguous, Invalid, is_skip, parse_yes_no
from flows.questions import (
    BY_KEY,
    QUESTIONS,
    REMEMBERED_KEYS,
    RENAMED_QUESTIONS,
    SCREENING_KEYS,
    Question,
    applicable,
    current_answers,
)
from flows.safety import suggests_immediate_danger
from flows.screening import Reason, explanation
from flows.summary import SO_FAR, render_summary, summary_items

__all__ = ["COMMANDS", "MACHINE", "STATES", "TRANSITIONS", "State", "command_of", "step"]

STUCK_AFTER = 3
_ITEM_NUMBER = re.compile(r"[0-9]{1,4}")


class State:
    NEW = "new"
    SUMMARY = "summary"
    CONFIRM_RESTART = "confirm_restart"
    DONE = "done"
    SCREENED_OUT = "screened_out"
    USE_REMEMBERED = "use_remembered"
    """After screening, a referrer whose details are kept: use them (Y), or EDIT."""
    OFFER_REMEMBER = "offer_remember"
    """After the receipt: keep the referrer's details for next time? Anything but Y or N starts afresh."""


QUESTION_KEYS = [q.key for q in QUESTIONS]
FIRST = QUESTION_KEYS[0]
FINISHED = [State.NEW, State.DONE, State.SCREENED_OUT, State.OFFER_REMEMBER]
STATES = [State.NEW, *QUESTION_KEYS, State.USE_REMEMBERED, State.SUMMARY, State.CONFIRM_RESTART, State.DONE,
          State.OFFER_REMEMBER, State.SCREENED_OUT]
# Kept details stand in for the referrer's questions, asked in a row: from the first, up to the one after them.
FIRST_REMEMBERED = REMEMBERED_KEYS[0]
BEFORE_REMEMBERED = QUESTION_KEYS[QUESTION_KEYS.index(FIRST_REMEMBERED) - 1]
AFTER_REMEMBERED = QUESTION_KEYS[QUESTION_KEYS.index(REMEMBERED_KEYS[-1]) + 1]
EDIT_WORDS = frozenset({"edit", "change", "n", "no"})


def _build_transitions() -> list[dict[str, Any]]:
    """The dialog as data: every move it makes is a row here, so its drawing tells the whole story.

    Where a move's destination depends on the conversation (BACK, an edit by number, carrying on
    after RESTART), there is one row per possible destination, and its condition picks the row.
    """
    table: list[dict[str, Any]] = [{"trigger": "begin", "source": FINISHED, "dest": FIRST}]
    for here, following in zip(QUESTION_KEYS, [*QUESTION_KEYS[1:], State.SUMMARY], strict=True):
        # An edit from the summary goes straight back to it once nothing is missing.
        table.append({"trigger": "answered", "source": here, "dest": State.SUMMARY, "conditions": "finishing_edit"})
        if here == BEFORE_REMEMBERED:
            table.append({"trigger": "answered", "source": here, "dest": State.USE_REMEMBERED,
                          "conditions": "offers_remembered"})
        table.append({"trigger": "answered", "source": here, "dest": following})
        table += _skips(BY_KEY[here], following)
    asking = [*QUESTION_KEYS, State.USE_REMEMBERED, State.SUMMARY]
    table += [
        {"trigger": "screen_out", "source": sorted(SCREENING_KEYS), "dest": State.SCREENED_OUT},
        # Kept details: Y passes the questions they answer (see `kept`); EDIT asks them all again.
        {"trigger": "use", "source": State.USE_REMEMBERED, "dest": FIRST_REMEMBERED},
        {"trigger": "change", "source": State.USE_REMEMBERED, "dest": FIRST_REMEMBERED},
        {"trigger": "ask_restart", "source": asking, "dest": State.CONFIRM_RESTART},
        {"trigger": "restart", "source": State.CONFIRM_RESTART, "dest": FIRST},
        {"trigger": "submit", "source": State.SUMMARY, "dest": State.DONE, "conditions": "complete"},
        # Answers given in one message (a form, a first message with details): the dialog starts over
        # from the first question and passes what it already has.
        {"trigger": "fill_in", "source": asking, "dest": FIRST},
        {"trigger": "offer", "source": State.DONE, "dest": State.OFFER_REMEMBER},
        {"trigger": "offer_answered", "source": State.OFFER_REMEMBER, "dest": State.DONE},
    ]
    table += [
        {"trigger": "carry_on", "source": State.CONFIRM_RESTART, "dest": here, "conditions": "where_they_were"}
        for here in asking
    ]
    # Only the questions the summary shows have a number to edit them by.
    table += [
        {"trigger": "edit", "source": State.SUMMARY, "dest": q.key, "conditions": "picked"}
        for q in QUESTIONS if q.label
    ]
    for here in [*QUESTION_KEYS, State.SUMMARY]:
        if here != State.SUMMARY:
            # BACK drops an edit: the answer stays as it was.
            table.append({"trigger": "back", "source": here, "dest": State.SUMMARY, "conditions": "editing"})
        table += [
            {"trigger": "back", "source": here, "dest": earlier, "conditions": "last_answered"}
            for earlier in _answered_before(here)
        ]
    # Y or EDIT to kept details is an answer BACK returns to, from wherever it led.
    table += [
        {"trigger": "back", "source": here, "dest": State.USE_REMEMBERED, "conditions": "last_answered"}
        for here in [*REMEMBERED_KEYS, AFTER_REMEMBERED]
    ]
    table.append({"trigger": "back", "source": State.USE_REMEMBERED, "dest": BEFORE_REMEMBERED,
                  "conditions": "last_answered"})
    return table


def _skips(question: Question, following: str) -> list[dict[str, Any]]:
    """How a question is passed without being asked, and why."""
    here = question.key
    # Passing the questions an edit already has ends at the summary once nothing is missing.
    rows: list[dict[str, Any]] = [
        {"trigger": "skip", "source": here, "dest": State.SUMMARY, "conditions": "finishing_edit"},
    ]
    if question.ask_if is not None:
        rows.append({"trigger": "skip", "source": here, "dest": following, "conditions": "not_applicable"})
    if question.known is not None:
        rows.append({"trigger": "skip", "source": here, "dest": following, "conditions": "known_from_channel"})
    if question.remember:
        rows.append({"trigger": "skip", "source": here, "dest": following, "conditions": "kept"})
    rows.append({"trigger": "skip", "source": here, "dest": following, "conditions": "answered_in_edit"})
    return rows


def _answered_before(here: str) -> list[str]:
    """Where BACK can lead from `here`: the question before it, and on past each one that is not always asked.

    BACK returns to the last answer given on the way forward (an edit's answers are not kept in
    the history), so every question between that one and `here` was passed by `skip`.
    """
    earlier: list[str] = []
    for key in reversed(QUESTION_KEYS[: [*QUESTION_KEYS, State.SUMMARY].index(here)]):
        earlier.append(key)
        if BY_KEY[key].ask_if is None and BY_KEY[key].known is None:
            break
    return earlier


TRANSITIONS = _build_transitions()

COMMANDS: dict[str, str] = {
    "help": "help", "info": "help",
    "back": "back", "go back": "back",
    "restart": "restart", "start again": "restart", "start over": "restart",
    "summary": "summary", "check": "summary",
    "form": "form",
    "forget": "forget", "forget me": "forget",
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
        self.memory: Memory | None = None

    # Conditions named in the transition table; the machine passes each the event being tried.
    def complete(self, event: EventData | None = None) -> bool:
        """Every question that applies has an answer."""
        return all(q.key in self.draft.answers for q in applicable(self.draft.answers, self.ctx))

    def finishing_edit(self, event: EventData) -> bool:
        """An edit from the summary has nothing left to ask."""
        return self.draft.editing and self.complete()

    def not_applicable(self, event: EventData) -> bool:
        """The question doesn't apply to this referral (MASH only for under-18s)."""
        return not BY_KEY[self.state].applies(self.draft.answers, self.ctx)

    def known_from_channel(self, event: EventData) -> bool:
        """The channel already gives the answer (the referrer's number over SMS)."""
        return BY_KEY[self.state].known_answer(self.ctx) is not None

    def offers_remembered(self, event: EventData) -> bool:
        """The referrer has details kept from before: they are offered in place of the referrer's questions.

        Not when a filled-in form gave any of them: what they sent stands, and the rest is asked, so one
        person's kept details are never mixed with another's who shares the phone.
        """
        given = any(key in self.draft.answers for key in self._remembered())
        return bool(self._remembered()) and not self.draft.editing and not given

    def kept(self, event: EventData) -> bool:
        """The referrer said Y to their kept details, which answer this question."""
        return (not self.draft.editing and self.state in self.draft.answers
                and State.USE_REMEMBERED in self.draft.history)

    def answered_in_edit(self, event: EventData) -> bool:
        """An edit asks only what is missing: answered questions are passed."""
        return self.draft.editing and self.state in self.draft.answers

    def editing(self, event: EventData) -> bool:
        """An edit from the summary is under way."""
        return self.draft.editing

    def last_answered(self, event: EventData) -> bool:
        """This row leads to the question answered last."""
        return bool(self.draft.history) and _leads_to(event, self.draft.history[-1])

    def picked(self, event: EventData) -> bool:
        """This row leads to the question whose summary number was sent."""
        return _leads_to(event, event.kwargs.get("key"))

    def where_they_were(self, event: EventData) -> bool:
        """This row leads back to where RESTART was asked."""
        return _leads_to(event, self.draft.resume or FIRST)

    if TYPE_CHECKING:
        # Bound by the machine at add_model; an attribute of the same name would stop that binding.
        def begin(self) -> bool: ...
        def answered(self) -> bool: ...
        def skip(self) -> bool: ...
        def screen_out(self) -> bool: ...
        def ask_restart(self) -> bool: ...
        def restart(self) -> bool: ...
        def carry_on(self) -> bool: ...
        def submit(self) -> bool: ...
        def edit(self, *, key: str) -> bool: ...
        def back(self) -> bool: ...
        def fill_in(self) -> bool: ...
        def use(self) -> bool: ...
        def change(self) -> bool: ...
        def offer(self) -> bool: ...
        def offer_answered(self) -> bool: ...

    # --- responding ---------------------------------------------------------------------

    def respond(self, text: str, danger: bool) -> tuple[list[Reply], Submitted | ScreenedOut | None]:
        if command_of(text) == "forget":
            return self._forget(), None
        if self.state == State.OFFER_REMEMBER:
            kept = self._offer_answered(text)
            if kept is not None:
                return kept, None
        if self.state in FINISHED:
            return self._first_message(text, danger)
        command = command_of(text)
        form = command is None and looks_like_form(text)
        if danger and not form:
            # Safety first. The message is not taken as an answer: the question stands.
            return [Reply(messages.EMERGENCY, (), ReplyKind.EMERGENCY), *self._prompt()], None
        if self.state == State.CONFIRM_RESTART:
            if not form:
                return self._confirm_restart(command, text), None
            self.carry_on()
            self.draft.resume = None
        if form:
            # A whole form is never dropped, not even for danger (step answers that first).
            return self._take_form(text)
        if command is not None:
            return self._command(command), None
        if self.state == State.SUMMARY:
            return self._at_summary(text)
        if self.state == State.USE_REMEMBERED:
            return self._use_remembered(text), None
        return self._answer(text)

    def _first_message(self, text: str, danger: bool) -> tuple[list[Reply], ScreenedOut | None]:
        """A new referral: FORM, a whole form, or a first message with details read; anything else just begins."""
        self._start_afresh()
        self.begin()
        self._settle()
        welcome = Reply(messages.WELCOME)
        if command_of(text) == "form":
            return [welcome, self._template()], None
        if looks_like_form(text):
            replies, event = self._take_form(text)
            return [welcome, *replies], event
        # A message about danger is answered, not mined for details.
        details = {} if danger else details_in(text, self.ctx)
        if not details:
            return [welcome, *self._prompt()], None
        reason = first_reason(details, self.ctx)
        if reason is not None:
            return [welcome, *self._screened_out(reason)], ScreenedOut(reason.value)
        self.draft.answers.update(details)
        self._to_first_missing()
        return [welcome, Reply(got_it_text(described(details))), *self._prompt()], None

    def _template(self) -> Reply:
        return Reply(template(self.ctx), (), ReplyKind.FORM)

    def _take_form(self, text: str) -> tuple[list[Reply], ScreenedOut | None]:
        """Every line read with its question's parser, screened in the dialog's order; then only what is missing."""
        reading = read_form(text, self.ctx)
        answers = {**self.draft.answers, **reading.answers}
        for key in reading.unreadable:
            # A line they changed but that could not be read is asked again, not left at its old answer.
            if BY_KEY[key].known_answer(self.ctx) is None:
                answers.pop(key, None)
        reason = first_reason(answers, self.ctx)
        if reason is not None:
            self.fill_in()  # screening ends a referral from its screening questions
            return self._screened_out(reason), ScreenedOut(reason.value)
        self.draft.answers = answers
        self.draft.bad_tries = 0
        said = [
            reply
            for key, value in reading.answers.items()
            if key not in self.draft.reminded and BY_KEY[key].applies(answers, self.ctx)
            for reply in self._remind(BY_KEY[key], value)
        ]
        self._to_first_missing()
        note = reading_note(reading, more_to_ask=self.state != State.SUMMARY)
        return [*([Reply(note)] if note else []), *said, *self._prompt()], None

    def _to_first_missing(self) -> None:
        """From the first question, pass every answer already given, to the first one missing (or the summary).

        The answers are walked as if typed, so BACK goes through them one by one. While answers further
        on wait (`filling`), each answer given walks again, so the dialog asks only what is missing.
        """
        self.draft.editing = False
        self.draft.filling = False
        self.draft.history = []
        self.fill_in()
        self._settle()
        self._pass_answered()

    def _pass_answered(self) -> None:
        """Pass the answers already given, as if typed; note whether answers further on still wait."""
        while self.state in BY_KEY and self.state in self.draft.answers:
            self.draft.history.append(self.state)
            self.answered()
            self._settle()
        # Kept details offered stand for the referrer's questions: what waits is after them.
        here = AFTER_REMEMBERED if self.state == State.USE_REMEMBERED else self.state
        if here in BY_KEY:
            later = QUESTION_KEYS[QUESTION_KEYS.index(here) + (here != AFTER_REMEMBERED) :]
            self.draft.filling = any(key in self.draft.answers for key in later)

    def _start_afresh(self) -> None:
        self.draft.answers = {}
        self.draft.history = []
        self.draft.bad_tries = 0
        self.draft.editing = False
        self.draft.filling = False
        self.draft.resume = None
        self.draft.reminded = []
        for question in QUESTIONS:
            known = question.known_answer(self.ctx)
            if known is not None:
                self.draft.answers[question.key] = known

    def _settle(self) -> None:
        """Move past questions that don't apply (and, in an edit, those already answered)."""
        while self.state in BY_KEY:
            if not self.skip():
                return
        if self.state == State.SUMMARY:
            self.draft.editing = False

    def _prompt(self) -> list[Reply]:
        """What to ask now: the current question, the summary, or the restart confirmation."""
        if self.state == State.CONFIRM_RESTART:
            return [Reply(messages.CONFIRM_RESTART, ("RESTART",))]
        if self.state == State.SUMMARY:
            return [Reply(render_summary(self.draft.answers, self.ctx), ("YES",), ReplyKind.SUMMARY)]
        if self.state == State.USE_REMEMBERED:
            return [Reply(messages.referring_as_text(self._remembered()), ("Y", "EDIT"))]
        question = BY_KEY[self.state]
        choices = question.choices or (("SKIP",) if question.optional else ())
        return [Reply(question.text, choices, share_phone=question.share_phone)]

    def _command(self, command: str) -> list[Reply]:
        if command == "help":
            return [Reply(messages.help_text(self.ctx.unit_contact)), *self._prompt()]
        if command == "resume":
            return self._prompt()
        if command == "form":
            return [self._template()]
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
        if not self.draft.editing and not self.draft.history:
            return [Reply(messages.FIRST_QUESTION), *self._prompt()]
        self.back()
        if self.draft.editing:
            self.draft.editing = False
        else:
            self.draft.history.pop()
        return self._prompt()

    def _confirm_restart(self, command: str | None, text: str) -> list[Reply]:
        if command == "restart":
            self._start_afresh()
            self.restart()
            self._settle()
            return [Reply(messages.RESTARTED), *self._prompt()]
        self.carry_on()
        self.draft.resume = None
        return [Reply(messages.CARRY_ON), *self._prompt()]

    def _at_summary(self, text: str) -> tuple[list[Reply], Submitted | None]:
        items = summary_items(self.draft.answers, self.ctx)
        cleaned = text.strip()
        if _ITEM_NUMBER.fullmatch(cleaned):
            if 1 <= int(cleaned) <= len(items):
                self.draft.editing = True
                self.edit(key=items[int(cleaned) - 1].key)
                return self._prompt(), None
            return [Reply(messages.pick_number_text(len(items)))], None
        try:
            confirmed = cleaned.lower() in {"send", "submit"} or parse_yes_no(cleaned)
        except Invalid:
            confirmed = False
        if confirmed and self.submit():
            submitted = Submitted(self.ctx.reference, self._kept_answers())
            to_keep = self._to_remember()
            replies = self._submitted()
            if to_keep and to_keep != self._remembered():
                replies.append(Reply(messages.remember_offer_text(bool(self.ctx.sender_phone),
                                                                  replacing=bool(self.ctx.remembered)), ("Y", "N")))
                self.offer()
                self.draft.answers = to_keep
            return replies, submitted
        return [Reply(messages.SUMMARY_PROMPT, ("YES",))], None

    # --- the referrer's details, kept for next time at their choice --------------------------

    def _remembered(self) -> Answers:
        """The kept details that stand for a question asked now (not the phone, when the channel gives it)."""
        kept = self.ctx.remembered or {}
        return {key: kept[key] for key in REMEMBERED_KEYS
                if key in kept and BY_KEY[key].known_answer(self.ctx) is None}

    def _to_remember(self) -> Answers:
        """What the referrer could ask us to keep from this referral."""
        return {key: self.draft.answers[key] for key in REMEMBERED_KEYS
                if key in self.draft.answers and BY_KEY[key].known_answer(self.ctx) is None}

    def _use_remembered(self, text: str) -> list[Reply]:
        """Y: the kept details answer the referrer's questions; EDIT (or N): they are asked again."""
        word = text.strip().strip(".!").lower()
        try:
            use = word not in EDIT_WORDS and parse_yes_no(word)
        except Invalid:
            self.draft.bad_tries += 1
            return [Reply(messages.USE_REMEMBERED_REASK, ("Y", "EDIT"))]
        self.draft.bad_tries = 0
        self.draft.history.append(State.USE_REMEMBERED)
        if use:
            self.draft.answers.update(self._remembered())
            self.memory = RememberedUsed()
            self.use()
        else:
            for key in self._remembered():
                self.draft.answers.pop(key, None)
            self.change()
        self._settle()
        if self.draft.filling:
            self._pass_answered()  # a form answered what follows: only what is missing is asked
        return self._prompt()

    def _offer_answered(self, text: str) -> list[Reply] | None:
        """Y keeps the details offered, N doesn't; anything else is not an answer to the offer (None)."""
        try:
            keep = parse_yes_no(text)
        except Invalid:
            return None
        offered = dict(self.draft.answers)
        self.draft.answers = {}
        self.offer_answered()
        if not keep:
            return [Reply(messages.NOT_KEPT)]
        self.memory = RememberReferrer(offered)
        return [Reply(messages.kept_text(bool(self.ctx.sender_phone)))]

    def _forget(self) -> list[Reply]:
        """FORGET, at any point: the kept details go (the caller deletes them), and the conversation carries on."""
        self.memory = ForgetReferrer()
        said = [Reply(messages.FORGOTTEN if self.ctx.remembered else messages.NOTHING_KEPT)]
        if self.state == State.OFFER_REMEMBER:
            self.draft.answers = {}
            self.offer_answered()
        if self.state in FINISHED:
            return said
        if self.state == State.USE_REMEMBERED:
            # Nothing is kept any more: the referrer's questions are asked.
            self.draft.history.append(State.USE_REMEMBERED)
            self.change()
            self._settle()
        return [*said, *self._prompt()]

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
            value = None if question.optional and is_skip(text) else question.read(text, self.ctx)
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
        said = [] if question.key in self.draft.reminded else self._remind(question, value)
        if self.draft.filling:
            self._to_first_missing()
        else:
            self.answered()
            self._settle()
        return [*said, *self._prompt()], None

    def _remind(self, question: Question, value: Any) -> list[Reply]:
        """The question's reminder for this answer, if it has one: said once in a referral."""
        reminder = question.reminder(value)
        if reminder is None:
            return []
        self.draft.reminded.append(question.key)
        return [Reply(reminder)]

    def _screened_out(self, reason: Reason) -> list[Reply]:
        self.screen_out()
        # Nothing that identifies anyone is kept once screening has said no.
        self._start_afresh()
        self.draft.answers = {}
        return [Reply(explanation(reason, self.ctx.min_age, self.ctx.max_age))]


def _leads_to(event: EventData, state: str | None) -> bool:
    """Whether the row the machine is trying leads to `state`."""
    return event.transition is not None and event.transition.dest == state


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
    # No to_<state> shortcuts: the table holds every move, so the drawing leaves none out.
    auto_transitions=False,
    ignore_invalid_triggers=False,
    send_event=True,
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


# The safety check reads this much at a time; a long message (a filled-in form) is read in overlapping windows.
_WINDOW = 2000
_OVERLAP = 500
_MOST_WINDOWS = 20


def _suggests_danger(text: str) -> bool:
    """The safeguarding check over the whole message, however long (within reason)."""
    starts = range(0, max(len(text) - _OVERLAP, 1), _WINDOW - _OVERLAP)
    return any(suggests_immediate_danger(text[start : start + _WINDOW]) for start in starts[:_MOST_WINDOWS])


def step(draft: Draft, text: str, ctx: Context) -> Outcome:
    """Take one message in a conversation: the replies, the new draft, and what happened."""
    turn = _turn_model()
    turn.draft, turn.ctx = copy.deepcopy(draft), ctx
    # A draft stored before a question changed shape carries on at the question that asks it now.
    turn.draft.answers = current_answers(turn.draft.answers)
    state = RENAMED_QUESTIONS.get(draft.state, draft.state)
    # A step never awaits, so reusing the thread's model cannot interleave two conversations.
    MACHINE.set_state(state if state in STATES else State.NEW, model=turn)
    danger = _suggests_danger(text)
    turn.memory = None
    replies, event = turn.respond(text, danger)
    turn.draft.state = turn.state
    if danger and replies[0].kind is not ReplyKind.EMERGENCY:
        replies = [Reply(messages.EMERGENCY, (), ReplyKind.EMERGENCY), *replies]
    return Outcome(replies=replies, draft=turn.draft, event=event, danger=danger, memory=turn.memory)
