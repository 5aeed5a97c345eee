"""The referral unit's process as a `transitions` state machine: which action is allowed from where.

queued -> in_review (claimed by one person) -> more_info_requested -> accepted or declined
-> allocated -> closed. Pure: who may act, and what a move means, is decided here; the store
records it and the pages and CLI only ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Self

from transitions import Machine, MachineError

__all__ = ["DECISION_DAYS", "TRANSITIONS", "Action", "Move", "Refused", "Role", "Status", "allowed_actions", "decide"]

DECISION_DAYS = 7


class Status(StrEnum):
    """Where a referral is in the process: the value is stored; each member carries its words.

    `label` names it on the staff pages, `colour` draws it in the stats charts, and `words` tell the
    referrer who asks STATUS ("Referral X is ..."). One place, so they cannot drift apart.
    """

    label: str
    colour: str
    words: str

    # The defaults are for the type checker only: `Status("queued")` looks a member up by value and
    # never calls __new__, which runs once per member with all four parts.
    def __new__(cls, value: str, label: str = "", colour: str = "", words: str = "") -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label, member.colour, member.words = label, colour, words
        return member

    QUEUED = "queued", "Queued", "#457b9d", "received, waiting to be looked at"
    IN_REVIEW = "in_review", "In review", "#1d3557", "being looked at"
    MORE_INFO = "more_info_requested", "Awaiting info", "#e9a23b", "waiting for the information we asked for"
    ACCEPTED = "accepted", "Accepted", "#2a9d8f", "accepted"
    DECLINED = "declined", "Declined", "#9d0208", "declined"
    ALLOCATED = "allocated", "Allocated", "#2a7a2a", "accepted, with a caseworker"
    CLOSED = "closed", "Closed", "#6c757d", "closed"


class Action(StrEnum):
    CLAIM = "claim"
    RELEASE = "release"
    REQUEST_INFO = "request_info"
    INFO_RECEIVED = "info_received"
    ACCEPT = "accept"
    DECLINE = "decline"
    ALLOCATE = "allocate"
    CLOSE = "close"
    TAKE_OVER = "take_over"


class Role(StrEnum):
    UNIT = "unit"
    CASEWORKER = "caseworker"
    ADMIN = "admin"


REVIEWING = [Status.IN_REVIEW, Status.MORE_INFO]

TRANSITIONS: list[dict[str, object]] = [
    {"trigger": Action.CLAIM, "source": [Status.QUEUED], "dest": Status.IN_REVIEW},
    # The reviewer lets a referral go; an admin may release anyone's claim (someone away, say).
    {"trigger": Action.RELEASE, "source": REVIEWING, "dest": Status.QUEUED, "conditions": "is_reviewer_or_admin"},
    # Another unit member takes over someone's claim where it stands (the status does not change).
    {"trigger": Action.TAKE_OVER, "source": Status.IN_REVIEW, "dest": Status.IN_REVIEW,
     "conditions": "is_not_reviewer"},
    {"trigger": Action.TAKE_OVER, "source": Status.MORE_INFO, "dest": Status.MORE_INFO,
     "conditions": "is_not_reviewer"},
    {
        "trigger": Action.REQUEST_INFO,
        "source": [Status.IN_REVIEW],
        "dest": Status.MORE_INFO,
        "conditions": "is_reviewer",
    },
    {"trigger": Action.INFO_RECEIVED, "source": [Status.MORE_INFO], "dest": Status.IN_REVIEW},
    {"trigger": Action.ACCEPT, "source": REVIEWING, "dest": Status.ACCEPTED, "conditions": "is_reviewer"},
    {"trigger": Action.DECLINE, "source": REVIEWING, "dest": Status.DECLINED, "conditions": "is_reviewer"},
    {"trigger": Action.ALLOCATE, "source": [Status.ACCEPTED, Status.ALLOCATED], "dest": Status.ALLOCATED},
    {"trigger": Action.CLOSE, "source": [Status.ACCEPTED, Status.ALLOCATED, Status.DECLINED], "dest": Status.CLOSED},
]

# Who may do what: the unit works the queue, admins may too; caseworkers only see their own.
_ROLES: dict[Action, frozenset[Role]] = {
    action: frozenset({Role.UNIT, Role.ADMIN}) for action in Action if action is not Action.INFO_RECEIVED
}
_ROLES[Action.INFO_RECEIVED] = frozenset()  # only the referrer's answer does this, never a person's click

_REASONS: dict[Action, str] = {
    Action.CLAIM: "Only a queued referral can be claimed; this one is {status}.",
    Action.RELEASE: "Only the person reviewing a referral, or an admin, can release it.",
    Action.TAKE_OVER: "Only a referral someone else is reviewing can be taken over; this one is {status}.",
    Action.REQUEST_INFO: "More information can be asked by the reviewer of a referral in review.",
    Action.INFO_RECEIVED: "No more information was asked for.",
    Action.ACCEPT: "Only the reviewer can accept, and only a referral in review; this one is {status}.",
    Action.DECLINE: "Only the reviewer can decline, and only a referral in review; this one is {status}.",
    Action.ALLOCATE: "Only an accepted referral can be allocated; this one is {status}.",
    Action.CLOSE: "Only an accepted, allocated or declined referral can be closed; this one is {status}.",
}


class Refused(Exception):
    """An action that is not allowed now; the message says why, for the person who tried."""


@dataclass
class _Case:
    state: str
    reviewer: str | None
    actor: str
    role: Role

    def is_reviewer(self) -> bool:
        return self.reviewer is not None and self.reviewer == self.actor

    def is_not_reviewer(self) -> bool:
        return self.reviewer is not None and self.reviewer != self.actor

    def is_reviewer_or_admin(self) -> bool:
        return self.is_reviewer() or (self.reviewer is not None and self.role is Role.ADMIN)


MACHINE = Machine(model=None, states=list(Status), transitions=TRANSITIONS, initial=Status.QUEUED,
                  auto_transitions=False, send_event=False)


@dataclass(frozen=True)
class Move:
    """An allowed action: the status it leads to and who reviews the referral afterwards."""

    action: Action
    before: Status
    after: Status
    reviewer: str | None


def decide(action: Action, status: str, reviewer: str | None, actor: str, role: Role) -> Move:
    """Whether `actor` (with `role`) may take `action` on a referral in `status`; the move, or Refused."""
    if role not in _ROLES[action] and not (action is Action.INFO_RECEIVED and actor == "referrer"):
        raise Refused(f"Your role ({role}) can't {action.replace('_', ' ')} referrals.")
    case = _Case(state=status, reviewer=reviewer, actor=actor, role=role)
    MACHINE.add_model(case, initial=Status(status))
    try:
        moved = case.trigger(action)  # type: ignore[attr-defined]  # transitions adds trigger() to the model at run time
    except MachineError:
        moved = False
    finally:
        MACHINE.remove_model(case)
    if not moved:
        if action is Action.CLAIM and reviewer and reviewer != actor:
            raise Refused("Someone else is already reviewing this referral.")
        raise Refused(_REASONS[action].format(status=Status(status).value.replace("_", " ")))
    after = Status(case.state)
    if action in (Action.CLAIM, Action.TAKE_OVER):
        next_reviewer: str | None = actor
    elif after in (Status.IN_REVIEW, Status.MORE_INFO):
        next_reviewer = reviewer
    else:
        next_reviewer = None
    return Move(action, Status(status), after, next_reviewer)


def allowed_actions(status: str, reviewer: str | None, actor: str, role: Role) -> list[Action]:
    """The actions this person could take now, to offer them as buttons."""
    allowed = []
    for action in Action:
        try:
            decide(action, status, reviewer, actor, role)
        except Refused:
            continue
        allowed.append(action)
    return allowed
