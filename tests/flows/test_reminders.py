"""Tests for flows.reminders: planning across quiet hours and clock changes, discreet texts, replies."""

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.discreet import (
    DEFAULT_PLACE,
    FORBIDDEN_WORDS,
    cancelled_text,
    cant_come_text,
    check_discreet,
    confirmed_text,
    first_contact_text,
    forwarded_text,
    moved_text,
    reminder_text,
    saved_text,
)
from flows.reminders import (
    DEFAULT_OFFSETS,
    Note,
    Offset,
    PlannedReminder,
    QuietHours,
    ReminderKind,
    parse_offsets,
    plan_reminders,
    session_start,
)
from flows.replies import Answer, read_reply
from flows.text import gsm_safe, is_gsm7, plain, segment_count

LONDON = ZoneInfo("Europe/London")
QUIET = QuietHours.parse("21:00-08:00")
DEFAULT = parse_offsets(DEFAULT_OFFSETS)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def utc(*args: int) -> datetime:
    """Return an aware UTC datetime."""
    return datetime(*args, tzinfo=UTC)


def local(*args: int) -> datetime:
    """Return an aware Europe/London datetime (fold=0)."""
    return datetime(*args, tzinfo=LONDON)


def plan(
    starts_at: datetime,
    spec: str = DEFAULT_OFFSETS,
    quiet: QuietHours | None = QUIET,
    now: datetime = LONG_AGO,
) -> list[PlannedReminder]:
    """Plan reminders with London time and the given offsets."""
    return plan_reminders(starts_at, parse_offsets(spec), LONDON, quiet, now)


def times(reminders: list[PlannedReminder]) -> list[tuple[str, datetime]]:
    """Return (offset, send_at) pairs."""
    return [(r.offset, r.send_at) for r in reminders]


# --- default plan -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("starts_at", "evening_before", "two_hours_before"),
    [
        # Winter: London is UTC.
        (local(2026, 3, 3, 15, 0), utc(2026, 3, 2, 18, 0), utc(2026, 3, 3, 13, 0)),
        # Summer: London is UTC+1, so every UTC time is an hour earlier.
        (local(2026, 6, 9, 15, 0), utc(2026, 6, 8, 17, 0), utc(2026, 6, 9, 12, 0)),
    ],
)
def test_default_plan_for_a_tuesday_3pm_session_is_6pm_the_day_before_and_1pm_the_same_day(
    starts_at: datetime, evening_before: datetime, two_hours_before: datetime
) -> None:
    reminders = plan(starts_at)
    assert times(reminders) == [("1d@18:00", evening_before), ("2h", two_hours_before)]
    assert [r.note for r in reminders] == [Note.AS_PLANNED, Note.AS_PLANNED]
    assert [r.kind for r in reminders] == [ReminderKind.AHEAD, ReminderKind.TODAY]
    assert all(r.send_at.tzinfo is UTC for r in reminders)


def test_a_session_given_in_utc_plans_the_same_as_in_london_time() -> None:
    assert plan(local(2026, 6, 9, 15, 0)) == plan(utc(2026, 6, 9, 14, 0))


def test_reminders_come_back_sorted_by_send_time_whatever_order_the_offsets_are_listed() -> None:
    reminders = plan(local(2026, 3, 6, 15, 0), "2h,3d@10:00,1d@18:00,30m")
    assert [r.offset for r in reminders] == ["3d@10:00", "1d@18:00", "2h", "30m"]
    assert reminders == sorted(reminders, key=lambda r: r.send_at)


def test_planning_twice_gives_the_same_plan() -> None:
    assert plan(local(2026, 3, 6, 15, 0), "2h,1d@18:00") == plan(local(2026, 3, 6, 15, 0), "1d@18:00,2h")


# --- quiet hours ------------------------------------------------------------------------------


def test_a_reminder_in_quiet_hours_moves_to_when_they_end_if_that_is_still_before_the_session() -> None:
    [reminder] = plan(local(2026, 3, 4, 10, 0), "4h")  # 06:00 is quiet; 08:00 is before 10:00
    assert reminder.send_at == utc(2026, 3, 4, 8, 0)
    assert reminder.note == Note.AFTER_QUIET
    assert reminder.kind == ReminderKind.TODAY


def test_a_10h_reminder_for_a_7am_session_lands_at_9pm_and_moves_to_just_before_quiet_hours() -> None:
    # 21:00 the day before is quiet, and quiet hours end at 08:00, after the 07:00 start.
    [reminder] = plan(local(2026, 3, 4, 7, 0), "10h")
    assert reminder.send_at == utc(2026, 3, 3, 20, 59)
    assert reminder.note == Note.BEFORE_QUIET
    assert reminder.kind == ReminderKind.AHEAD


def test_quiet_hours_ending_exactly_at_the_start_move_the_reminder_before_they_begin() -> None:
    [reminder] = plan(local(2026, 3, 4, 8, 0), "1h")
    assert reminder.send_at == utc(2026, 3, 3, 20, 59)


def test_a_reminder_at_the_end_of_quiet_hours_is_not_quiet() -> None:
    [reminder] = plan(local(2026, 3, 4, 10, 0), "2h")
    assert (reminder.send_at, reminder.note) == (utc(2026, 3, 4, 8, 0), Note.AS_PLANNED)


def test_without_quiet_hours_a_late_reminder_stays_where_it_is() -> None:
    [reminder] = plan(local(2026, 3, 4, 7, 0), "10h", quiet=None)
    assert (reminder.send_at, reminder.note) == (utc(2026, 3, 3, 21, 0), Note.AS_PLANNED)


def test_daytime_quiet_hours_move_a_reminder_out_of_them_too() -> None:
    lunch = QuietHours.parse("12:00-14:00")
    [reminder] = plan(local(2026, 3, 4, 15, 0), "2h", quiet=lunch)
    assert (reminder.send_at, reminder.note) == (utc(2026, 3, 4, 14, 0), Note.AFTER_QUIET)


def test_two_reminders_moved_to_the_same_edge_of_quiet_hours_become_one() -> None:
    reminders = plan(local(2026, 3, 4, 10, 0), "4h,3h")
    assert times(reminders) == [("3h", utc(2026, 3, 4, 8, 0))]


def test_a_reminder_due_during_quiet_hours_waits_for_them_to_end() -> None:
    now = local(2026, 3, 3, 23, 0)  # the evening reminder was missed; now is quiet
    reminders = plan(local(2026, 3, 4, 12, 0), "1d@18:00", now=now)
    assert [(r.send_at, r.note) for r in reminders] == [(utc(2026, 3, 4, 8, 0), Note.AFTER_QUIET)]


def test_a_reminder_with_nothing_but_quiet_hours_left_before_the_session_is_dropped() -> None:
    now = local(2026, 3, 3, 22, 0)
    assert plan(local(2026, 3, 4, 7, 0), "2h,1d@18:00", now=now) == []


def test_a_reminder_moved_before_quiet_hours_that_began_a_minute_ago_goes_now_not_in_the_past() -> None:
    now = local(2026, 3, 3, 20, 59, 30)
    [reminder] = plan(local(2026, 3, 4, 7, 0), "2h", now=now)
    assert reminder.send_at == now.astimezone(UTC)


# --- late planning ----------------------------------------------------------------------------


def test_a_session_in_one_hour_gets_one_reminder_now_not_two() -> None:
    starts_at = local(2026, 3, 3, 15, 0)
    now = starts_at - timedelta(hours=1)
    reminders = plan(starts_at, now=now)
    assert times(reminders) == [("2h", now.astimezone(UTC))]
    assert reminders[0].note == Note.DUE_NOW
    assert reminders[0].kind == ReminderKind.TODAY


def test_a_day_before_reminder_already_past_goes_now_and_the_2h_one_still_goes_on_time() -> None:
    starts_at = local(2026, 3, 3, 15, 0)
    now = local(2026, 3, 3, 9, 0)
    reminders = plan(starts_at, now=now)
    assert [(r.offset, r.send_at, r.note) for r in reminders] == [
        ("1d@18:00", utc(2026, 3, 3, 9, 0), Note.DUE_NOW),
        ("2h", utc(2026, 3, 3, 13, 0), Note.AS_PLANNED),
    ]


@pytest.mark.parametrize("minutes_after_start", [0, 1, 60 * 24])
def test_a_session_that_has_already_started_gets_no_reminders(minutes_after_start: int) -> None:
    starts_at = local(2026, 3, 3, 15, 0)
    assert plan(starts_at, now=starts_at + timedelta(minutes=minutes_after_start)) == []


def test_a_reminder_that_would_fall_after_the_start_is_dropped() -> None:
    # "0d@18:00" is the evening of the session's own day: after a 15:00 start.
    assert times(plan(local(2026, 3, 3, 15, 0), "0d@18:00,0d@09:00")) == [("0d@09:00", utc(2026, 3, 3, 9, 0))]


def test_no_offsets_means_no_reminders() -> None:
    assert plan(local(2026, 3, 3, 15, 0), "") == []


@pytest.mark.parametrize("name", ["starts_at", "now"])
def test_naive_times_are_refused(name: str) -> None:
    args = {"starts_at": local(2026, 3, 3, 15, 0), "now": LONG_AGO}
    args[name] = args[name].replace(tzinfo=None)
    with pytest.raises(ValueError, match=f"{name} must be timezone-aware"):
        plan_reminders(offsets=DEFAULT, tz=LONDON, quiet=None, **args)


# --- clock changes ----------------------------------------------------------------------------


def test_after_the_clocks_go_forward_a_monday_10am_session_is_reminded_at_6pm_bst_on_sunday() -> None:
    # Clocks go forward at 01:00 UTC on Sunday 28 March 2027.
    reminders = plan(local(2027, 3, 29, 10, 0))
    assert times(reminders) == [("1d@18:00", utc(2027, 3, 28, 17, 0)), ("2h", utc(2027, 3, 29, 7, 0))]


def test_after_the_clocks_go_back_a_monday_10am_session_is_reminded_at_6pm_gmt_on_sunday() -> None:
    # Clocks go back at 01:00 UTC on Sunday 25 October 2026.
    reminders = plan(local(2026, 10, 26, 10, 0))
    assert times(reminders) == [("1d@18:00", utc(2026, 10, 25, 18, 0)), ("2h", utc(2026, 10, 26, 8, 0))]


@pytest.mark.parametrize(
    ("starts_at", "evening_before"),
    [
        (local(2027, 3, 28, 15, 0), utc(2027, 3, 27, 18, 0)),  # 20 real hours before
        (local(2026, 10, 25, 15, 0), utc(2026, 10, 24, 17, 0)),  # 22 real hours before
    ],
)
def test_the_day_before_across_a_clock_change_is_6pm_local_on_the_previous_day(
    starts_at: datetime, evening_before: datetime
) -> None:
    [reminder] = plan(starts_at, "1d@18:00")
    assert reminder.send_at == evening_before
    assert reminder.send_at.astimezone(LONDON).time() == time(18, 0)


def test_a_2h_reminder_across_the_spring_jump_is_two_real_hours_before() -> None:
    starts_at = local(2027, 3, 28, 3, 0)  # 03:00 BST is 02:00 UTC
    [reminder] = plan(starts_at, "2h", quiet=None)
    assert reminder.send_at == utc(2027, 3, 28, 0, 0)
    assert reminder.send_at.astimezone(LONDON).time() == time(0, 0)  # three hours on the clock


def test_a_session_at_1_30am_on_the_night_the_clocks_go_back_is_taken_the_first_time() -> None:
    starts_at = session_start(date(2026, 10, 25), time(1, 30), LONDON)
    assert starts_at == utc(2026, 10, 25, 0, 30)  # 01:30 BST, not 01:30 GMT an hour later
    assert times(plan(starts_at, quiet=None)) == [
        ("1d@18:00", utc(2026, 10, 24, 17, 0)),
        ("2h", utc(2026, 10, 24, 22, 30)),
    ]


def test_the_second_1_30am_can_still_be_planned_when_given_explicitly() -> None:
    second = datetime(2026, 10, 25, 1, 30, fold=1, tzinfo=LONDON)
    [reminder] = plan(second, "2h", quiet=None)
    assert reminder.send_at == utc(2026, 10, 24, 23, 30)


def test_a_session_booked_at_a_time_the_clocks_skip_is_refused() -> None:
    with pytest.raises(ValueError, match="doesn't exist in Europe/London"):
        session_start(date(2027, 3, 28), time(1, 30), LONDON)


def test_session_start_turns_an_ordinary_local_time_into_utc() -> None:
    assert session_start(date(2026, 6, 9), time(15, 0), LONDON) == utc(2026, 6, 9, 14, 0)


def test_a_reminder_wall_time_the_clocks_skip_is_shifted_forward_an_hour() -> None:
    [reminder] = plan(local(2027, 3, 29, 10, 0), "1d@01:30", quiet=None)
    assert reminder.send_at == utc(2027, 3, 28, 1, 30)  # 02:30 BST
    assert reminder.send_at.astimezone(LONDON).time() == time(2, 30)


# --- offsets ----------------------------------------------------------------------------------


HOURS_2, MINUTES_30, DAYS_14 = timedelta(hours=2), timedelta(minutes=30), timedelta(days=14)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("1d@18:00,2h", (Offset("1d@18:00", days=1, at=time(18, 0)), Offset("2h", before=HOURS_2))),
        (" 1D@9:05 , 30M ", (Offset("1d@09:05", days=1, at=time(9, 5)), Offset("30m", before=MINUTES_30))),
        ("0d@09:00", (Offset("0d@09:00", days=0, at=time(9, 0)),)),
        ("14d@00:00,336h", (Offset("14d@00:00", days=14, at=time(0, 0)), Offset("336h", before=DAYS_14))),
        ("", ()),
        ("   ", ()),
    ],
)
def test_parse_offsets_reads_days_at_a_time_and_durations(spec: str, expected: tuple[Offset, ...]) -> None:
    assert parse_offsets(spec) == expected


def test_the_default_offsets_are_the_evening_before_and_two_hours_before() -> None:
    assert [o.spec for o in DEFAULT] == ["1d@18:00", "2h"]


@pytest.mark.parametrize(
    "spec",
    ["x", "2", "1d", "1d@18", "18:00", "1d@25:00", "1d@18:60", "15d@18:00", "0h", "0m", "337h",
     "20161m", "-2h", "2h30m", "2 hours", "day_before@18:00", "2h,,1d@18:00", "2h,", "1d@18:00;2h"],
)
def test_parse_offsets_refuses_a_bad_spec_and_names_the_expected_form(spec: str) -> None:
    with pytest.raises(ValueError, match="Nd@HH:MM") as caught:
        parse_offsets(spec)
    assert "Nh / Nm" in str(caught.value)


def test_parse_offsets_refuses_the_same_time_listed_twice() -> None:
    with pytest.raises(ValueError, match="lists '120m' twice"):
        parse_offsets("2h,120m")


# --- quiet hours parsing ----------------------------------------------------------------------


def test_quiet_hours_span_midnight_including_their_start_but_not_their_end() -> None:
    assert QUIET is not None
    inside = [time(21, 0), time(23, 59), time(0, 0), time(3, 0), time(7, 59)]
    outside = [time(8, 0), time(12, 0), time(20, 59)]
    assert all(QUIET.contains(t) for t in inside)
    assert not any(QUIET.contains(t) for t in outside)


@pytest.mark.parametrize("spec", [None, "", "  "])
def test_empty_quiet_hours_mean_none(spec: str | None) -> None:
    assert QuietHours.parse(spec) is None


@pytest.mark.parametrize("spec", ["21-08", "21:00", "25:00-08:00", "21:00-08:60", "21:00-21:00", "late"])
def test_bad_quiet_hours_are_refused_with_the_expected_form(spec: str) -> None:
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        QuietHours.parse(spec)


# --- texts ------------------------------------------------------------------------------------

TUESDAY_3PM = datetime(2025, 3, 4, 15, 0)
LONGEST_NAME = "Abcdefghijklmnopqrstuvwxyzabcd"  # 30 characters
LONGEST_PLACE = "the community centre on Hightown Street."  # 40 characters
assert (len(LONGEST_NAME), len(LONGEST_PLACE)) == (30, 40)

Template = Callable[[str, str, str], str]
TEMPLATES: dict[str, Template] = {
    "reminder": lambda young, worker, place: reminder_text(young, worker, TUESDAY_3PM, place),
    "reminder today": lambda young, worker, place: reminder_text(
        young, worker, datetime(2025, 12, 31, 12, 30), place, ReminderKind.TODAY
    ),
    "first contact": lambda young, worker, _place: first_contact_text(young, worker),
    "confirmed": lambda _young, worker, _place: confirmed_text(worker),
    "number saved": lambda _young, worker, _place: saved_text(worker),
    "can't come": lambda _young, worker, _place: cant_come_text(worker),
    "forwarded": lambda _young, worker, _place: forwarded_text(worker),
    "moved": lambda young, worker, place: moved_text(young, worker, datetime(2025, 12, 31, 12, 30), place),
    "cancelled": lambda young, worker, _place: cancelled_text(young, worker, datetime(2025, 12, 31, 12, 30)),
}


def test_the_reminder_reads_like_the_example_in_the_domain_notes() -> None:
    text = reminder_text("Jay", "Sam", TUESDAY_3PM, "the usual place")
    assert text == (
        "Hi Jay, it's Sam. See you Tue 4 Mar at 3:00pm, the usual place. "
        "Reply Y to confirm or N if you can't make it."
    )


def test_a_same_day_reminder_says_today_instead_of_the_date() -> None:
    text = reminder_text("Jay", "Sam", TUESDAY_3PM, "the usual place", ReminderKind.TODAY)
    assert "See you today at 3:00pm, the usual place." in text


@pytest.mark.parametrize(
    ("hour", "minute", "clock"),
    [(0, 0, "12:00am"), (9, 5, "9:05am"), (12, 0, "12:00pm"), (23, 45, "11:45pm")],
)
def test_the_time_is_written_on_a_12_hour_clock(hour: int, minute: int, clock: str) -> None:
    assert f"at {clock}," in reminder_text("Jay", "Sam", datetime(2025, 3, 4, hour, minute), "")


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (lambda: first_contact_text("Jay", "Sam"),
         "Hi Jay, it's Sam. This is my number for our meetups, please save it. Reply Y to say you got this."),
        (lambda: confirmed_text("Sam"), "Thanks, that's confirmed. Sam will see you then."),
        (lambda: saved_text("Sam"), "Thanks, got it. Speak soon, Sam."),
        (lambda: cant_come_text("Sam"), "No problem, Sam will be in touch to find another time."),
        (lambda: forwarded_text("Sam"), "Thanks, I'll pass that to Sam."),
        (lambda: moved_text("Jay", "Sam", TUESDAY_3PM, "the usual place"),
         "Hi Jay, it's Sam. Change of plan: see you Tue 4 Mar at 3:00pm, the usual place. "
         "Reply Y to confirm or N if you can't make it."),
        (lambda: cancelled_text("Jay", "Sam", TUESDAY_3PM),
         "Hi Jay, it's Sam. Sorry, we're not meeting Tue 4 Mar at 3:00pm after all. "
         "I'll be in touch to find another time."),
    ],
)
def test_each_template_says_exactly_this(template: Callable[[], str], expected: str) -> None:
    assert template() == expected


@pytest.mark.parametrize("name", TEMPLATES)
@pytest.mark.parametrize(
    ("young", "worker", "place"),
    [
        (LONGEST_NAME, LONGEST_NAME, LONGEST_PLACE),
        ("J" + "{" * 29, "S" + "€" * 29, "[" * 40),  # extension characters cost two septets each
        ("Zoë", "Łukasz", "the caf\u00e9 by the \u2018big\u2019 park \U0001f333"),
    ],
)
def test_every_template_is_discreet_and_one_segment_for_the_longest_names_and_labels(
    name: str, young: str, worker: str, place: str
) -> None:
    text = TEMPLATES[name](young, worker, place)
    assert check_discreet(text) == [], text


def test_the_place_label_is_shortened_before_the_names() -> None:
    young, worker = "Jayden-Alexander", "Samantha-Louise"
    text = reminder_text(young, worker, TUESDAY_3PM, LONGEST_PLACE + " " + LONGEST_PLACE)
    assert f"Hi {young}, it's {worker}." in text
    assert "the community centre" in text
    assert segment_count(text) == 1


def test_names_are_shortened_when_the_place_label_is_already_as_short_as_it_goes() -> None:
    text = reminder_text("J" * 60, "S" * 60, TUESDAY_3PM, LONGEST_PLACE)
    assert segment_count(text) == 1
    assert "the community" in text


def test_only_first_names_are_sent_never_surnames() -> None:
    text = reminder_text("Jay Smith", "Sam Jones", TUESDAY_3PM, "the usual place")
    assert text.startswith("Hi Jay, it's Sam.")
    assert "Smith" not in text and "Jones" not in text


def test_names_are_made_gsm_safe_rather_than_turning_the_text_into_ucs2() -> None:
    text = reminder_text("Zoë", "D\u2019Andre", TUESDAY_3PM, "Caf\u00e9 \u201cNo.\u00a01\u201d")
    assert text.startswith("Hi Zoe, it's D'Andre. See you Tue 4 Mar at 3:00pm, Caf\u00e9 \"No. 1\".")
    assert is_gsm7(text)


@pytest.mark.parametrize(
    "label", ["outside the police station", "Gang Exit office", "the youth offending team"]
)
def test_a_place_label_that_would_give_the_game_away_becomes_the_usual_place(label: str) -> None:
    assert f", {DEFAULT_PLACE}." in reminder_text("Jay", "Sam", TUESDAY_3PM, label)


def test_an_empty_place_label_becomes_the_usual_place() -> None:
    assert f", {DEFAULT_PLACE}." in reminder_text("Jay", "Sam", TUESDAY_3PM, "  ")


@pytest.mark.parametrize("young", ["", "  ", "\U0001f600", "123"])
def test_a_young_name_without_letters_gives_a_plain_greeting(young: str) -> None:
    assert reminder_text(young, "Sam", TUESDAY_3PM, "").startswith("Hi, it's Sam. See you")


@pytest.mark.parametrize("worker", ["", "  ", "\U0001f600"])
def test_a_worker_name_without_letters_is_refused(worker: str) -> None:
    with pytest.raises(ValueError, match="worker_name"):
        forwarded_text(worker)


def _forbidden(text: str) -> set[str]:
    """Return the forbidden words check_discreet reports."""
    return {p.split("'")[1] for p in check_discreet(text) if p.startswith("mentions")}


# Any characters, and runs of GSM-7 extension characters, which cost two septets each.
NAMES = st.one_of(
    st.text(st.characters(exclude_categories=("Cs",)), max_size=120),
    st.text(st.sampled_from("{}[]~|^\u20ac\\Ab -"), max_size=120),
)


@settings(max_examples=400, deadline=None)
@given(name=st.sampled_from(sorted(TEMPLATES)), young=NAMES, worker=NAMES, place=NAMES)
def test_any_names_and_label_give_one_gsm7_segment_and_the_template_adds_no_forbidden_word(
    name: str, young: str, worker: str, place: str
) -> None:
    worker = "A" + worker  # a worker name always has a letter; an empty one is refused above
    text = TEMPLATES[name](young, worker, place)
    assert is_gsm7(text) and segment_count(text) == 1
    assert [p for p in check_discreet(text) if not p.startswith("mentions")] == []
    typed = plain(gsm_safe(f"{young} {worker} {place}")).lower()
    # Any forbidden word in the text came from what was typed (a name like "Gang"), never the template.
    assert all(word.split()[0] in typed for word in _forbidden(text))


# --- check_discreet ---------------------------------------------------------------------------


def test_the_forbidden_words_cover_the_service_and_what_it_is_about() -> None:
    must = {"gang", "gangs", "exploitation", "exploit", "police", "offending", "offence", "crime",
            "risk", "referral", "probation", "youth offending", "knife", "violence", "exit", "gang exit"}
    assert must <= set(FORBIDDEN_WORDS)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("See you at the POLICE station", "mentions 'police'"),
        ("Your Gang-Exit worker", "mentions 'gang exit'"),
        ("About your referral", "mentions 'referral'"),
        ("Youth  offending team", "mentions 'youth offending'"),
        ("See you at 3pm \U0001f44d", "has an emoji"),
        ("See you at 3pm \U0001f44d", "not GSM-7 (U+1F44D)"),
        ("See you \u2018there\u2019", "not GSM-7 (U+2018)"),
        ("x" * 161, "2 SMS segments, not 1"),
        ("Details at www.example.org", "has a link"),
        ("   ", "empty"),
    ],
)
def test_check_discreet_names_each_problem(text: str, problem: str) -> None:
    assert problem in check_discreet(text)


@pytest.mark.parametrize(
    "text", ["x" * 160, "A brisk walk to the exits? No: Brisk.", "See you at 3pm, the usual place."]
)
def test_check_discreet_passes_plain_texts_and_matches_whole_words_only(text: str) -> None:
    assert check_discreet(text) == []


# --- replies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["Y", "y", "yes", "YES", "Yes.", "yeah", "yep", "ok", "OK!", "okay", "sure", "\U0001f44d",
     "\U0001f44d\U0001f3fd", "see you there", "See you then", "yes see you", "Yes thanks x",
     "ok see you there", "yeah I'll be there", "Y thank you", "I can make it", "yes \U0001f642"],
)
def test_read_reply_takes_these_as_a_confirmation(text: str) -> None:
    assert read_reply(text) is Answer.CONFIRM


@pytest.mark.parametrize(
    "text",
    ["N", "n", "no", "No.", "nope", "nah", "can't", "cant", "cannot", "can\u2019t make it",
     "Can't make it", "not coming", "I'm not coming", "\U0001f44e", "no sorry", "Sorry I can't make it",
     "no I can't", "won't make it"],
)
def test_read_reply_takes_these_as_a_decline(text: str) -> None:
    assert read_reply(text) is Answer.DECLINE


@pytest.mark.parametrize(
    "text",
    ["STOP", "stop", "START", "HELP", "maybe", "", "   ", "?", "Y?", "what time?", "yes but I'll be late",
     "no worries", "no problem see you", "ok not sure", "yes no", "can we do 4 instead",
     "Who is this", "thanks", "\U0001f44d\U0001f52a", "yes " + "a" * 200],
)
def test_read_reply_leaves_everything_else_as_other_for_the_caseworker(text: str) -> None:
    assert read_reply(text) is Answer.OTHER


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(exclude_categories=())))
def test_read_reply_answers_any_text_without_raising(text: str) -> None:
    assert read_reply(text) in set(Answer)
