"""The referral unit's process rules, with no database: every move allowed or refused, and why."""

from __future__ import annotations

import pytest

from flows.process import Action, Refused, Role, Status, allowed_actions, decide

A, B = "a@unit.example.org", "b@unit.example.org"


@pytest.mark.parametrize(("action", "status", "reviewer", "after"), [
    (Action.CLAIM, Status.QUEUED, None, Status.IN_REVIEW),
    (Action.RELEASE, Status.IN_REVIEW, A, Status.QUEUED),
    (Action.REQUEST_INFO, Status.IN_REVIEW, A, Status.MORE_INFO),
    (Action.ACCEPT, Status.IN_REVIEW, A, Status.ACCEPTED),
    (Action.ACCEPT, Status.MORE_INFO, A, Status.ACCEPTED),
    (Action.DECLINE, Status.IN_REVIEW, A, Status.DECLINED),
    (Action.ALLOCATE, Status.ACCEPTED, None, Status.ALLOCATED),
    (Action.ALLOCATE, Status.ALLOCATED, None, Status.ALLOCATED),
    (Action.CLOSE, Status.ALLOCATED, None, Status.CLOSED),
    (Action.CLOSE, Status.DECLINED, None, Status.CLOSED),
])
def test_allowed_moves_lead_where_the_process_says(action: Action, status: Status, reviewer: str | None,
                                                   after: Status) -> None:
    assert decide(action, status, reviewer, A, Role.UNIT).after is after


def test_claiming_makes_you_the_reviewer_and_deciding_clears_it() -> None:
    assert decide(Action.CLAIM, Status.QUEUED, None, A, Role.UNIT).reviewer == A
    assert decide(Action.REQUEST_INFO, Status.IN_REVIEW, A, A, Role.UNIT).reviewer == A
    assert decide(Action.ACCEPT, Status.IN_REVIEW, A, A, Role.UNIT).reviewer is None


@pytest.mark.parametrize(("action", "status", "reviewer", "message"), [
    (Action.ACCEPT, Status.DECLINED, None, "this one is declined"),
    (Action.CLAIM, Status.IN_REVIEW, B, "Someone else is already reviewing"),
    (Action.ACCEPT, Status.IN_REVIEW, B, "Only the reviewer can accept"),
    (Action.DECLINE, Status.QUEUED, None, "Only the reviewer can decline"),
    (Action.RELEASE, Status.IN_REVIEW, B, "Only the person reviewing"),
    (Action.ALLOCATE, Status.IN_REVIEW, A, "Only an accepted referral"),
    (Action.CLOSE, Status.QUEUED, None, "Only an accepted, allocated or declined"),
    (Action.INFO_RECEIVED, Status.IN_REVIEW, A, "can't info received"),
])
def test_illegal_moves_are_refused_with_a_reason(action: Action, status: Status, reviewer: str | None,
                                                 message: str) -> None:
    with pytest.raises(Refused, match=message):
        decide(action, status, reviewer, A, Role.UNIT)


def test_caseworkers_cannot_work_the_queue() -> None:
    with pytest.raises(Refused, match="Your role"):
        decide(Action.CLAIM, Status.QUEUED, None, A, Role.CASEWORKER)
    assert allowed_actions(Status.QUEUED, None, A, Role.CASEWORKER) == []


def test_only_the_referrers_answer_brings_a_referral_back_from_awaiting_info() -> None:
    assert decide(Action.INFO_RECEIVED, Status.MORE_INFO, A, "referrer", Role.UNIT).after is Status.IN_REVIEW


def test_the_buttons_offered_are_exactly_the_allowed_moves() -> None:
    assert allowed_actions(Status.IN_REVIEW, A, A, Role.UNIT) == [Action.RELEASE, Action.REQUEST_INFO, Action.ACCEPT,
                                                                  Action.DECLINE]
    assert allowed_actions(Status.IN_REVIEW, B, A, Role.UNIT) == [Action.TAKE_OVER]
    assert allowed_actions(Status.IN_REVIEW, B, A, Role.ADMIN) == [Action.RELEASE, Action.TAKE_OVER]
    assert allowed_actions(Status.DECLINED, None, A, Role.ADMIN) == [Action.CLOSE]


def test_another_unit_member_takes_over_a_claim_where_it_stands() -> None:
    for status in (Status.IN_REVIEW, Status.MORE_INFO):
        move = decide(Action.TAKE_OVER, status, B, A, Role.UNIT)
        assert (move.after, move.reviewer) == (status, A)
    with pytest.raises(Refused, match="someone else is reviewing"):
        decide(Action.TAKE_OVER, Status.IN_REVIEW, A, A, Role.UNIT)
    with pytest.raises(Refused, match="someone else is reviewing"):
        decide(Action.TAKE_OVER, Status.QUEUED, None, A, Role.UNIT)


def test_only_an_admin_releases_a_claim_that_is_not_theirs() -> None:
    assert decide(Action.RELEASE, Status.IN_REVIEW, B, A, Role.ADMIN).after is Status.QUEUED
    with pytest.raises(Refused, match="or an admin"):
        decide(Action.RELEASE, Status.IN_REVIEW, B, A, Role.UNIT)
