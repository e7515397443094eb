"""Decree 09/2019/NĐ-CP reporting periods: kinds, codes, data-cutoff windows and deadlines."""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Final, Literal

from reportcycle.calendar.dates import month_vi
from reportcycle.calendar.workdays import WorkCalendar


class PeriodKind(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    HALF_YEAR = "half_year"
    NINE_MONTH = "nine_month"
    YEAR = "year"


# kind -> (periods per year, months per period)
_SHAPE: Final = {
    PeriodKind.MONTH: (12, 1),
    PeriodKind.QUARTER: (4, 3),
    PeriodKind.HALF_YEAR: (2, 6),
    PeriodKind.NINE_MONTH: (1, 9),
    PeriodKind.YEAR: (1, 12),
}
_ROMAN: Final = ("I", "II", "III", "IV")
_CODE_FORMS: Final = "YYYY, YYYY-H1..H2, YYYY-Q1..Q4, YYYY-M01..M12 or YYYY-9M (e.g. 2024-H1)"
_CODE_RE: Final = re.compile(r"(\d{4})(?:-(H\d|Q\d|M\d{1,2}|9M))?")


@dataclass(frozen=True, order=True)
class Period:
    """One reporting period; `index` is the month, quarter or half (1 for nine-month and year)."""

    kind: PeriodKind
    year: int
    index: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", PeriodKind(self.kind))
        count = _SHAPE[self.kind][0]
        if not 1 <= self.index <= count:
            raise ValueError(f"{self.kind} index must be 1..{count}, got {self.index}")
        if not 1900 <= self.year <= 9998:
            raise ValueError(f"year out of range: {self.year}")

    @property
    def first_month(self) -> int:
        return (self.index - 1) * _SHAPE[self.kind][1] + 1

    @property
    def last_month(self) -> int:
        return self.first_month + _SHAPE[self.kind][1] - 1

    @property
    def start(self) -> date:
        """First day of the natural calendar span."""
        return date(self.year, self.first_month, 1)

    @property
    def end(self) -> date:
        """Last day of the natural calendar span."""
        return date(self.year, self.last_month, monthrange(self.year, self.last_month)[1])

    @property
    def code(self) -> str:
        """E.g. "2024-M07", "2024-Q3", "2024-H1", "2024-9M", "2024"."""
        suffix = {
            PeriodKind.MONTH: f"-M{self.index:02d}",
            PeriodKind.QUARTER: f"-Q{self.index}",
            PeriodKind.HALF_YEAR: f"-H{self.index}",
            PeriodKind.NINE_MONTH: "-9M",
        }.get(self.kind, "")
        return f"{self.year}{suffix}"

    @property
    def label_vi(self) -> str:
        """E.g. "tháng 7 năm 2024", "quý III năm 2024", "6 tháng đầu năm 2024", "năm 2024"."""
        match self.kind:
            case PeriodKind.MONTH:
                head = f"tháng {month_vi(self.index)} "
            case PeriodKind.QUARTER:
                head = f"quý {_ROMAN[self.index - 1]} "
            case PeriodKind.HALF_YEAR:
                head = "6 tháng đầu " if self.index == 1 else "6 tháng cuối "
            case PeriodKind.NINE_MONTH:
                head = "9 tháng đầu "
            case _:
                head = ""
        return f"{head}năm {self.year}"

    def __str__(self) -> str:
        return self.code


def parse_period(code: str) -> Period:
    """Inverse of Period.code; case and surrounding spaces are ignored, "M7" means "M07"."""
    found = _CODE_RE.fullmatch(code.strip().upper())
    if found is None:
        raise ValueError(f"invalid period code {code!r}: expected {_CODE_FORMS}")
    year, part = int(found[1]), found[2] or ""
    kinds = {"H": PeriodKind.HALF_YEAR, "Q": PeriodKind.QUARTER, "M": PeriodKind.MONTH}
    try:
        if not part:
            return Period(PeriodKind.YEAR, year)
        if part == "9M":
            return Period(PeriodKind.NINE_MONTH, year)
        return Period(kinds[part[0]], year, int(part[1:]))
    except ValueError as exc:
        raise ValueError(f"invalid period code {code!r} ({exc}): expected {_CODE_FORMS}") from exc


@dataclass(frozen=True)
class WindowRule:
    """Data-cutoff window: from `start_day` of the month before the period's first month to
    `start_day - 1` of its last month; start_day 1 means the calendar months themselves."""

    start_day: int = 15

    def __post_init__(self) -> None:
        if not 1 <= self.start_day <= 28:  # 29–31 do not exist in every month
            raise ValueError(f"window start_day must be 1..28, got {self.start_day}")


def window(period: Period, rule: WindowRule | None = None) -> tuple[date, date]:
    """The Decree 09 data-cutoff window (both ends included)."""
    start_day = (rule or WindowRule()).start_day
    if start_day == 1:
        return period.start, period.end
    before = period.start - timedelta(days=1)  # last day of the previous month
    return before.replace(day=start_day), date(period.year, period.last_month, start_day - 1)


def period_containing(kind: PeriodKind, d: date) -> Period:
    """The period of `kind` whose calendar span contains `d` (2024-07-03, half_year -> 2024-H2)."""
    kind = PeriodKind(kind)
    if kind is PeriodKind.NINE_MONTH and d.month > 9:
        raise ValueError(f"the nine-month period covers January–September; {d} is outside it")
    return Period(kind, d.year, (d.month - 1) // _SHAPE[kind][1] + 1)


def previous_period(p: Period) -> Period:
    return _shift(p, -1)


def next_period(p: Period) -> Period:
    return _shift(p, 1)


def _shift(p: Period, step: int) -> Period:
    count = _SHAPE[p.kind][0]
    position = p.year * count + p.index - 1 + step
    return Period(p.kind, position // count, position % count + 1)


# --- Deadlines and dates


@dataclass(frozen=True)
class DeadlineRule:
    """`working_days` working days after (negative: before) the anchor date."""

    anchor: Literal["window_end", "period_end", "open"]
    working_days: int

    def __post_init__(self) -> None:
        if self.anchor not in ("window_end", "period_end", "open"):
            raise ValueError(
                f"deadline anchor must be window_end, period_end or open, got {self.anchor!r}"
            )


def deadline(
    rule: DeadlineRule,
    *,
    period: Period,
    opened: date,
    calendar: WorkCalendar,
    window_rule: WindowRule | None = None,
) -> date:
    """The anchor moved by `rule.working_days` working days (0: the anchor or the next one)."""
    if rule.anchor == "window_end":
        anchor = window(period, window_rule)[1]
    elif rule.anchor == "period_end":
        anchor = period.end
    else:
        anchor = opened
    return calendar.add_working_days(anchor, rule.working_days)
