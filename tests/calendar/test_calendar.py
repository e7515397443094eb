from datetime import date, datetime, timedelta

import pytest

from reportcycle.calendar import workdays
from reportcycle.calendar.dates import format_date_short, format_date_vi
from reportcycle.calendar.periods import (
    DeadlineRule,
    Period,
    PeriodKind,
    WindowRule,
    deadline,
    next_period,
    parse_period,
    period_containing,
    previous_period,
    window,
)
from reportcycle.calendar.workdays import CONFIGURED_DAY_OFF, OFFICIAL_SWAPS, WorkCalendar


@pytest.fixture(scope="module")
def cal() -> WorkCalendar:
    return WorkCalendar()


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


# --- the calendar: statutory days and the official 2024/2025 swaps ----------------------------


def test_weekdays_are_working_and_weekends_are_not(cal: WorkCalendar) -> None:
    assert cal.is_working_day(date(2024, 6, 14))  # Friday
    assert not cal.is_working_day(date(2024, 6, 15))  # Saturday
    assert not cal.is_working_day(date(2024, 6, 16))  # Sunday
    assert cal.holiday_name(date(2024, 6, 15)) is None


def test_new_year_day_is_not_working(cal: WorkCalendar) -> None:
    assert not cal.is_working_day(date(2024, 1, 1))
    assert not cal.is_working_day(date(2025, 1, 1))


def test_tet_2024_week_is_not_working(cal: WorkCalendar) -> None:
    assert not any(cal.is_working_day(d) for d in days(date(2024, 2, 8), date(2024, 2, 14)))
    assert cal.is_working_day(date(2024, 2, 7))
    assert cal.is_working_day(date(2024, 2, 15))


def test_hung_kings_day_2024_and_2025_is_not_working(cal: WorkCalendar) -> None:
    for d in (date(2024, 4, 18), date(2025, 4, 7)):
        assert not cal.is_working_day(d)
        assert cal.holiday_name(d)


def test_29_april_2024_is_swapped_day_off(cal: WorkCalendar) -> None:
    assert not cal.is_working_day(date(2024, 4, 29))
    assert cal.holiday_name(date(2024, 4, 29))


def test_make_up_saturday_4_may_2024_is_working(cal: WorkCalendar) -> None:
    assert date(2024, 5, 4).weekday() == 5
    assert cal.is_working_day(date(2024, 5, 4))
    assert cal.holiday_name(date(2024, 5, 4)) is None


def test_reunification_break_2024_runs_27_april_to_1_may(cal: WorkCalendar) -> None:
    assert not any(cal.is_working_day(d) for d in days(date(2024, 4, 27), date(2024, 5, 1)))
    assert cal.is_working_day(date(2024, 4, 26))
    assert cal.is_working_day(date(2024, 5, 2))


def test_national_day_2024_is_2_and_3_september(cal: WorkCalendar) -> None:
    assert not cal.is_working_day(date(2024, 9, 2))
    assert not cal.is_working_day(date(2024, 9, 3))
    assert cal.is_working_day(date(2024, 9, 4))


def test_tet_2025_runs_25_january_to_2_february(cal: WorkCalendar) -> None:
    assert not any(cal.is_working_day(d) for d in days(date(2025, 1, 25), date(2025, 2, 2)))
    assert cal.is_working_day(date(2025, 1, 24))
    assert cal.is_working_day(date(2025, 2, 3))


def test_reunification_break_2025_runs_30_april_to_4_may(cal: WorkCalendar) -> None:
    assert not any(cal.is_working_day(d) for d in days(date(2025, 4, 30), date(2025, 5, 4)))
    assert cal.is_working_day(date(2025, 4, 29))
    assert cal.is_working_day(date(2025, 5, 5))


def test_make_up_saturday_26_april_2025_is_working(cal: WorkCalendar) -> None:
    # Friday 2/5/2025 was swapped with Saturday 26/4/2025 (TB 6150/TB-LĐTBXH).
    assert cal.is_working_day(date(2025, 4, 26))


def test_national_day_break_2025_runs_30_august_to_2_september(cal: WorkCalendar) -> None:
    assert not any(cal.is_working_day(d) for d in days(date(2025, 8, 30), date(2025, 9, 2)))
    assert not cal.is_working_day(date(2025, 9, 1))
    assert cal.is_working_day(date(2025, 8, 29))
    assert cal.is_working_day(date(2025, 9, 3))


def test_official_swaps_hold_even_if_the_library_knows_none_of_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # holidays<0.6x has no 29 Tết, adjacent National Day, swaps nor make-up Saturdays.
    monkeypatch.setattr(workdays, "_library_year", lambda year: ({}, frozenset()))
    bare = WorkCalendar()
    for d in OFFICIAL_SWAPS.days_off:
        assert not bare.is_working_day(d), d
        assert bare.holiday_name(d), d
    for d in OFFICIAL_SWAPS.working_days:
        assert bare.is_working_day(d), d


def test_library_names_are_kept_over_generic_swap_names(cal: WorkCalendar) -> None:
    bare = WorkCalendar(official_swaps=None)
    for d in OFFICIAL_SWAPS.days_off:
        if bare.holiday_name(d):
            assert cal.holiday_name(d) == bare.holiday_name(d)


def test_other_years_load_on_demand() -> None:
    calendar = WorkCalendar(years=[2024])
    assert not calendar.is_working_day(date(2030, 1, 1))
    assert calendar.is_working_day(date(2030, 1, 2))


# --- configured overrides ---------------------------------------------------------------------


def test_configured_day_off_is_not_working_and_is_named() -> None:
    calendar = WorkCalendar(extra_days_off=[date(2024, 6, 14)])
    assert not calendar.is_working_day(date(2024, 6, 14))
    assert calendar.holiday_name(date(2024, 6, 14)) == CONFIGURED_DAY_OFF


def test_configured_working_day_wins_over_weekend_and_holiday() -> None:
    calendar = WorkCalendar(extra_working_days=[date(2024, 6, 15), date(2024, 9, 3)])
    assert calendar.is_working_day(date(2024, 6, 15))
    assert calendar.is_working_day(date(2024, 9, 3))
    assert calendar.holiday_name(date(2024, 9, 3)) is None


def test_configured_day_off_removes_official_make_up_saturday() -> None:
    calendar = WorkCalendar(extra_days_off=[date(2024, 5, 4)])
    assert not calendar.is_working_day(date(2024, 5, 4))


def test_day_both_off_and_working_is_rejected() -> None:
    with pytest.raises(ValueError, match="2024-06-14"):
        WorkCalendar(extra_days_off=[date(2024, 6, 14)], extra_working_days=[date(2024, 6, 14)])


def test_from_config_reads_dates_and_iso_strings() -> None:
    calendar = WorkCalendar.from_config(
        {"days_off": ["2024-06-14"], "working_days": [date(2024, 6, 15)]}
    )
    assert not calendar.is_working_day(date(2024, 6, 14))
    assert calendar.is_working_day(date(2024, 6, 15))
    assert WorkCalendar.from_config(None).is_working_day(date(2024, 5, 4))


def test_from_config_rejects_unknown_keys() -> None:
    with pytest.raises(ValueError, match="days_off"):
        WorkCalendar.from_config({"holidays": [date(2024, 6, 14)]})


def test_datetime_is_rejected_rather_than_silently_missing_overrides(cal: WorkCalendar) -> None:
    with pytest.raises(TypeError, match="datetime"):
        cal.is_working_day(datetime(2024, 4, 29, 8, 0))  # noqa: DTZ001


# --- counting working days --------------------------------------------------------------------


def test_add_working_days_skips_weekend(cal: WorkCalendar) -> None:
    assert cal.add_working_days(date(2024, 6, 14), 1) == date(2024, 6, 17)
    assert cal.add_working_days(date(2024, 6, 15), 1) == date(2024, 6, 17)
    assert cal.add_working_days(date(2024, 6, 17), -1) == date(2024, 6, 14)


def test_add_working_days_never_counts_the_start_day(cal: WorkCalendar) -> None:
    assert cal.add_working_days(date(2024, 6, 10), 1) == date(2024, 6, 11)
    assert cal.add_working_days(date(2024, 6, 10), 5) == date(2024, 6, 17)


def test_add_working_days_across_tet_2024(cal: WorkCalendar) -> None:
    assert cal.add_working_days(date(2024, 2, 7), 1) == date(2024, 2, 15)
    assert cal.add_working_days(date(2024, 2, 15), -1) == date(2024, 2, 7)
    assert cal.add_working_days(date(2024, 2, 10), 2) == date(2024, 2, 16)


def test_add_working_days_across_reunification_break_2025(cal: WorkCalendar) -> None:
    assert cal.add_working_days(date(2025, 4, 29), 1) == date(2025, 5, 5)
    assert cal.add_working_days(date(2025, 5, 5), -1) == date(2025, 4, 29)
    assert cal.add_working_days(date(2025, 4, 25), 1) == date(2025, 4, 26)  # make-up Saturday
    assert cal.add_working_days(date(2025, 4, 25), 3) == date(2025, 4, 29)


def test_add_working_days_counts_make_up_saturday_4_may_2024(cal: WorkCalendar) -> None:
    assert cal.add_working_days(date(2024, 4, 26), 1) == date(2024, 5, 2)
    assert cal.add_working_days(date(2024, 4, 26), 3) == date(2024, 5, 4)
    assert cal.add_working_days(date(2024, 5, 6), -2) == date(2024, 5, 3)


def test_add_zero_working_days_keeps_working_day_or_moves_to_next(cal: WorkCalendar) -> None:
    assert cal.add_working_days(date(2024, 6, 14), 0) == date(2024, 6, 14)
    assert cal.add_working_days(date(2024, 6, 15), 0) == date(2024, 6, 17)
    assert cal.add_working_days(date(2024, 2, 8), 0) == date(2024, 2, 15)


def test_next_working_day_can_exclude_the_day_itself(cal: WorkCalendar) -> None:
    assert cal.next_working_day(date(2024, 6, 14)) == date(2024, 6, 14)
    assert cal.next_working_day(date(2024, 6, 14), include_self=False) == date(2024, 6, 17)


def test_working_days_between_counts_half_open_interval(cal: WorkCalendar) -> None:
    assert cal.working_days_between(date(2024, 6, 10), date(2024, 6, 17)) == 5
    assert cal.working_days_between(date(2024, 2, 7), date(2024, 2, 15)) == 1
    assert cal.working_days_between(date(2024, 2, 15), date(2024, 2, 7)) == -1
    assert cal.working_days_between(date(2024, 6, 10), date(2024, 6, 10)) == 0


def test_calendar_with_no_working_day_fails_instead_of_looping() -> None:
    year = days(date(2024, 1, 1), date(2025, 1, 31))
    with pytest.raises(ValueError, match="no working day"):
        WorkCalendar(extra_days_off=year).add_working_days(date(2023, 12, 31), 1)


# --- periods and Decree 09 windows ------------------------------------------------------------

WINDOWS = [
    ("2024-H1", date(2023, 12, 15), date(2024, 6, 14)),
    ("2024-H2", date(2024, 6, 15), date(2024, 12, 14)),
    ("2024-Q1", date(2023, 12, 15), date(2024, 3, 14)),
    ("2024-Q3", date(2024, 6, 15), date(2024, 9, 14)),
    ("2024-Q4", date(2024, 9, 15), date(2024, 12, 14)),
    ("2024-M01", date(2023, 12, 15), date(2024, 1, 14)),
    ("2024-M03", date(2024, 2, 15), date(2024, 3, 14)),
    ("2024-M07", date(2024, 6, 15), date(2024, 7, 14)),
    ("2024-9M", date(2023, 12, 15), date(2024, 9, 14)),
    ("2024", date(2023, 12, 15), date(2024, 12, 14)),
]


@pytest.mark.parametrize(("code", "start", "end"), WINDOWS)
def test_decree_09_default_window(code: str, start: date, end: date) -> None:
    assert window(parse_period(code)) == (start, end)


def test_window_with_configured_start_day() -> None:
    rule = WindowRule(start_day=20)
    assert window(parse_period("2024-H1"), rule) == (date(2023, 12, 20), date(2024, 6, 19))
    assert window(parse_period("2024-M03"), rule) == (date(2024, 2, 20), date(2024, 3, 19))


def test_window_with_start_day_1_is_calendar_aligned() -> None:
    rule = WindowRule(start_day=1)
    assert window(parse_period("2024-H1"), rule) == (date(2024, 1, 1), date(2024, 6, 30))
    assert window(parse_period("2024-M02"), rule) == (date(2024, 2, 1), date(2024, 2, 29))


@pytest.mark.parametrize("start_day", [0, 29, 31])
def test_window_start_day_must_exist_in_every_month(start_day: int) -> None:
    with pytest.raises(ValueError, match="1..28"):
        WindowRule(start_day=start_day)


@pytest.mark.parametrize("code", ["2024-H1", "2024-H2", "2024-Q3", "2024-M07", "2024-9M", "2024"])
def test_parse_period_round_trips(code: str) -> None:
    assert parse_period(code).code == code
    assert str(parse_period(code)) == code


def test_parse_period_accepts_lower_case_spaces_and_one_digit_month() -> None:
    assert parse_period(" 2024-h1 ") == Period(PeriodKind.HALF_YEAR, 2024, 1)
    assert parse_period("2024-M7").code == "2024-M07"


@pytest.mark.parametrize(
    "code", ["", "2024-H3", "2024-Q5", "2024-M13", "2024-M00", "24-H1", "H1-2024", "2024-S1"]
)
def test_parse_period_rejects_bad_codes_naming_accepted_forms(code: str) -> None:
    with pytest.raises(ValueError, match="expected YYYY, YYYY-H1..H2, YYYY-Q1..Q4"):
        parse_period(code)


def test_period_rejects_index_out_of_range() -> None:
    with pytest.raises(ValueError, match="1..4"):
        Period(PeriodKind.QUARTER, 2024, 5)


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("2024-H1", "6 tháng đầu năm 2024"),
        ("2024-H2", "6 tháng cuối năm 2024"),
        ("2024-Q3", "quý III năm 2024"),
        ("2024-Q4", "quý IV năm 2024"),
        ("2024-M07", "tháng 7 năm 2024"),
        ("2024-M01", "tháng 01 năm 2024"),
        ("2024-9M", "9 tháng đầu năm 2024"),
        ("2024", "năm 2024"),
    ],
)
def test_label_vi(code: str, label: str) -> None:
    assert parse_period(code).label_vi == label


def test_period_natural_span() -> None:
    assert parse_period("2024-M02").end == date(2024, 2, 29)
    assert (parse_period("2024-H2").start, parse_period("2024-H2").end) == (
        date(2024, 7, 1),
        date(2024, 12, 31),
    )


@pytest.mark.parametrize(
    ("kind", "day", "code"),
    [
        (PeriodKind.HALF_YEAR, date(2024, 7, 3), "2024-H2"),
        (PeriodKind.HALF_YEAR, date(2024, 6, 30), "2024-H1"),
        (PeriodKind.QUARTER, date(2024, 7, 3), "2024-Q3"),
        (PeriodKind.MONTH, date(2024, 7, 3), "2024-M07"),
        (PeriodKind.NINE_MONTH, date(2024, 9, 30), "2024-9M"),
        (PeriodKind.YEAR, date(2024, 7, 3), "2024"),
    ],
)
def test_period_containing(kind: PeriodKind, day: date, code: str) -> None:
    assert period_containing(kind, day).code == code


def test_no_nine_month_period_contains_october() -> None:
    with pytest.raises(ValueError, match="January–September"):
        period_containing(PeriodKind.NINE_MONTH, date(2024, 10, 1))


@pytest.mark.parametrize(
    ("code", "previous"),
    [
        ("2024-M01", "2023-M12"),
        ("2024-M07", "2024-M06"),
        ("2024-Q1", "2023-Q4"),
        ("2024-H1", "2023-H2"),
        ("2024-H2", "2024-H1"),
        ("2024-9M", "2023-9M"),
        ("2024", "2023"),
    ],
)
def test_previous_and_next_period(code: str, previous: str) -> None:
    assert previous_period(parse_period(code)).code == previous
    assert next_period(parse_period(previous)).code == code


# --- deadlines and dates ----------------------------------------------------------------------

H1_2024 = Period(PeriodKind.HALF_YEAR, 2024, 1)


def test_deadline_working_days_after_window_end(cal: WorkCalendar) -> None:
    rule = DeadlineRule("window_end", 5)  # window ends Friday 14/6/2024
    assert deadline(rule, period=H1_2024, opened=date(2024, 6, 10), calendar=cal) == date(
        2024, 6, 21
    )


def test_deadline_zero_days_after_period_end_on_sunday_moves_to_monday(cal: WorkCalendar) -> None:
    rule = DeadlineRule("period_end", 0)  # 30/6/2024 is a Sunday
    assert deadline(rule, period=H1_2024, opened=date(2024, 6, 10), calendar=cal) == date(
        2024, 7, 1
    )


def test_deadline_working_days_before_period_end(cal: WorkCalendar) -> None:
    rule = DeadlineRule("period_end", -3)
    assert deadline(rule, period=H1_2024, opened=date(2024, 6, 10), calendar=cal) == date(
        2024, 6, 26
    )


def test_deadline_counted_from_opening_request(cal: WorkCalendar) -> None:
    rule = DeadlineRule("open", 10)  # the request of 10/6/2024
    assert deadline(rule, period=H1_2024, opened=date(2024, 6, 10), calendar=cal) == date(
        2024, 6, 24
    )


def test_deadline_after_window_ending_in_tet_2024(cal: WorkCalendar) -> None:
    rule = DeadlineRule("window_end", 1)  # February 2024 window ends 14/2, inside Tết
    period = parse_period("2024-M02")
    assert deadline(rule, period=period, opened=date(2024, 2, 1), calendar=cal) == date(2024, 2, 15)


def test_deadline_uses_configured_window_and_make_up_saturday(cal: WorkCalendar) -> None:
    rule = DeadlineRule("window_end", 2)  # window ends Thursday 24/4/2025
    deadline_day = deadline(
        rule,
        period=parse_period("2025-M04"),
        opened=date(2025, 4, 1),
        calendar=cal,
        window_rule=WindowRule(start_day=25),
    )
    assert deadline_day == date(2025, 4, 26)


def test_deadline_rule_rejects_unknown_anchor() -> None:
    with pytest.raises(ValueError, match="window_end, period_end or open"):
        DeadlineRule("deadline", 1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (date(2024, 7, 3), "ngày 03 tháng 7 năm 2024"),
        (date(2020, 1, 5), "ngày 05 tháng 01 năm 2020"),
        (date(2024, 2, 14), "ngày 14 tháng 02 năm 2024"),
        (date(2024, 12, 10), "ngày 10 tháng 12 năm 2024"),
        (date(2024, 3, 9), "ngày 09 tháng 3 năm 2024"),
    ],
)
def test_format_date_vi(day: date, text: str) -> None:
    assert format_date_vi(day) == text


@pytest.mark.parametrize(
    ("day", "text"), [(date(2024, 6, 10), "10/6/2024"), (date(2024, 12, 1), "1/12/2024")]
)
def test_format_date_short(day: date, text: str) -> None:
    assert format_date_short(day) == text
