"""When a unit is reminded: a pure function of its deadline, the regime's ladder, the calendar,
the rungs already sent and `now` (DESIGN §6; STYLE "Sending exactly once")."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime, time

from reportcycle.calendar.workdays import WorkCalendar
from reportcycle.clock import VN_TZ
from reportcycle.regime.schema import ReminderStep


def rung_dates(deadline: date, steps: Sequence[ReminderStep], calendar: WorkCalendar) -> list[date]:
    """The working day of each rung: N working days from the deadline (0: the deadline itself,
    or the next working day if it is not one)."""
    return [calendar.add_working_days(deadline, step.working_days) for step in steps]


def in_office_hours(now: datetime, calendar: WorkCalendar, start: time, end: time) -> bool:
    local = now.astimezone(VN_TZ)
    return calendar.is_working_day(local.date()) and start <= local.time() < end


def due_rung(
    *,
    deadline: date,
    steps: Sequence[ReminderStep],
    calendar: WorkCalendar,
    sent: Collection[int],
    now: datetime,
    start: time,
    end: time,
) -> int | None:
    """The rung (0-based) to send now, or None. Only in office hours on a working day; only the
    latest rung whose day has come (a flow that did not run for a week sends one reminder, not
    a burst of old ones); never a rung already sent."""
    if not in_office_hours(now, calendar, start, end):
        return None
    today = now.astimezone(VN_TZ).date()
    due = [i for i, day in enumerate(rung_dates(deadline, steps, calendar)) if day <= today]
    if not due or due[-1] in sent:
        return None
    if any(i > due[-1] for i in sent):
        return None  # a later rung already went: never step back down the ladder
    return due[-1]


def next_reminder_at(
    *,
    deadline: date,
    steps: Sequence[ReminderStep],
    calendar: WorkCalendar,
    sent: Collection[int],
    now: datetime,
    start: time,
    end: time,
) -> datetime | None:
    """When the next reminder will go if the unit still has not answered by then: the first
    office moment at or after the day of the first rung above those already sent."""
    days = rung_dates(deadline, steps, calendar)
    following = [i for i in range(len(days)) if i > max(sent, default=-1)]
    if not following:
        return None
    earliest = datetime.combine(days[following[0]], start, tzinfo=VN_TZ)
    return next_office_moment(max(now.astimezone(VN_TZ), earliest), calendar, start, end)


def next_office_moment(at: datetime, calendar: WorkCalendar, start: time, end: time) -> datetime:
    local = at.astimezone(VN_TZ)
    if calendar.is_working_day(local.date()) and local.time() < end:
        return max(local, datetime.combine(local.date(), start, tzinfo=VN_TZ))
    day = calendar.add_working_days(local.date(), 1)
    return datetime.combine(day, start, tzinfo=VN_TZ)
