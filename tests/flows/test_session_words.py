"""A session's date read from three boxes, and reminders and deliveries said in words."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from flows.delivery_words import delivery_words
from flows.reminders import offset_words, when_words
from flows.session_dates import DateProblem, read_session_date
from flows.statuses import OutboundStatus

TODAY = date(2026, 12, 1)


def test_the_date_is_read_day_first_whatever_the_browser_thinks() -> None:
    assert read_session_date("03", "12", "2026", TODAY) == date(2026, 12, 3)
    assert read_session_date(" 3 ", "Dec", "2026", TODAY) == date(2026, 12, 3)


@pytest.mark.parametrize(
    ("day", "month", "year", "field", "message"),
    [
        ("", "", "", "all", "Enter the date of the session"),
        ("3", "", "2026", "month", "The date of the session must include a month"),
        ("3rd", "12", "2026", "day", "Enter the day of the session as a number"),
        ("3", "12", "26", "year", "The year of the session must include 4 numbers, like 2027"),
        ("3", "13", "2026", "month", "The month of the session must be between 1 and 12"),
        ("31", "2", "2027", "all", "The date of the session must be a real date"),
        ("30", "11", "2026", "all", "The session must be in the future"),
        ("3", "12", "2028", "year", "The session must be within the next year"),
    ],
)
def test_each_problem_names_its_box_and_says_what_to_do(day: str, month: str, year: str, field: str,
                                                         message: str) -> None:
    with pytest.raises(DateProblem) as problem:
        read_session_date(day, month, year, TODAY)
    assert (problem.value.field, problem.value.message) == (field, message)


@pytest.mark.parametrize(
    ("spec", "words"),
    [("1d@18:00", "the day before at 6pm"), ("0d@09:00", "on the day at 9am"),
     ("2d@12:00", "2 days before at midday"), ("2h", "2 hours before"), ("1h", "1 hour before"),
     ("30m", "30 minutes before"), ("0d@09:30", "on the day at 9:30am")],
)
def test_reminder_times_read_as_words(spec: str, words: str) -> None:
    assert offset_words(spec) == words


def test_a_session_start_reads_as_words() -> None:
    assert when_words(datetime(2026, 12, 2, 15, 0)) == "Wednesday 2 December 2026 at 3pm"


@pytest.mark.parametrize(
    ("status", "code", "words"),
    [(OutboundStatus.DELIVERED, None, "delivered"), (OutboundStatus.PENDING, None, "waiting to send"),
     (OutboundStatus.UNDELIVERED, "30003", "not delivered: number unreachable"),
     (OutboundStatus.FAILED, "99999", "not delivered"),
     (OutboundStatus.SUPPRESSED, None, "not sent: they replied STOP")],
)
def test_what_became_of_a_text_reads_as_words(status: OutboundStatus, code: str | None, words: str) -> None:
    assert delivery_words(status, code) == words
