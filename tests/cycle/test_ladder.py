"""The reminder ladder as a pure function of deadline, calendar, rungs sent and now."""

from __future__ import annotations

from datetime import date, datetime, time

from reportcycle.calendar.workdays import WorkCalendar
from reportcycle.clock import VN_TZ
from reportcycle.cycle.ladder import due_rung, next_reminder_at, rung_dates
from reportcycle.regime.schema import ReminderStep

STEPS = (
    ReminderStep(working_days=-3),
    ReminderStep(working_days=0),
    ReminderStep(working_days=1),
    ReminderStep(working_days=3, escalate=True),
    ReminderStep(working_days=5, escalate=True, final=True),
)
CAL = WorkCalendar()
OPEN, CLOSE = time(7, 30), time(17, 0)


def at(day: date, hour: int = 8) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=VN_TZ)


def due(deadline: date, now: datetime, sent: set[int] = frozenset()) -> int | None:  # type: ignore[assignment]
    return due_rung(
        deadline=deadline, steps=STEPS, calendar=CAL, sent=sent, now=now, start=OPEN, end=CLOSE
    )


def test_rungs_fall_on_working_days_around_the_reference_deadline() -> None:
    assert rung_dates(date(2024, 6, 21), STEPS, CAL) == [
        date(2024, 6, 18),
        date(2024, 6, 21),
        date(2024, 6, 24),
        date(2024, 6, 26),
        date(2024, 6, 28),
    ]


def test_rungs_skip_tet_2025() -> None:
    # Deadline Friday 24/1/2025; Tết holiday 25/1–2/2: the day after is Monday 3/2.
    assert rung_dates(date(2025, 1, 24), STEPS, CAL)[2:] == [
        date(2025, 2, 3),
        date(2025, 2, 5),
        date(2025, 2, 7),
    ]


def test_no_reminder_on_a_sunday_a_holiday_or_out_of_office_hours() -> None:
    deadline = date(2024, 6, 21)
    assert due(deadline, at(date(2024, 6, 23))) is None  # Sunday
    assert due(deadline, at(date(2024, 6, 18), hour=6)) is None  # before 07:30
    assert due(deadline, at(date(2024, 6, 18), hour=17)) is None  # after 17:00
    assert due(date(2024, 4, 26), at(date(2024, 4, 29), hour=9)) is None  # swapped day off
    assert due(deadline, at(date(2024, 6, 18), hour=9)) == 0


def test_each_rung_is_sent_once_and_never_before_its_day() -> None:
    deadline = date(2024, 6, 21)
    assert due(deadline, at(date(2024, 6, 17))) is None
    assert due(deadline, at(date(2024, 6, 18)), {0}) is None
    assert due(deadline, at(date(2024, 6, 21)), {0}) == 1


def test_after_a_gap_only_the_latest_due_rung_goes_and_never_an_older_one() -> None:
    deadline = date(2024, 6, 21)
    assert due(deadline, at(date(2024, 6, 26))) == 3
    assert due(deadline, at(date(2024, 6, 27)), {3}) is None


def test_next_reminder_time_is_the_next_office_morning_of_the_next_rung() -> None:
    deadline = date(2024, 6, 21)
    assert next_reminder_at(
        deadline=deadline,
        steps=STEPS,
        calendar=CAL,
        sent={0},
        now=at(date(2024, 6, 18), 10),
        start=OPEN,
        end=CLOSE,
    ) == datetime(2024, 6, 21, 7, 30, tzinfo=VN_TZ)
    assert (
        next_reminder_at(
            deadline=deadline,
            steps=STEPS,
            calendar=CAL,
            sent={0, 1, 2, 3, 4},
            now=at(date(2024, 6, 28)),
            start=OPEN,
            end=CLOSE,
        )
        is None
    )
