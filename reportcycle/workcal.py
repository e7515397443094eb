"""Working days and Decree 09/2019/NĐ-CP reporting periods (DESIGN §6).

The one calendar: Saturday and Sunday off, the `holidays` package's Vietnam calendar, the
Government's announced 2024/2025 days (OFFICIAL_SWAPS, only where the library lacks them), then
the province's configured overrides, which win over everything else.
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cache
from itertools import islice
from types import MappingProxyType
from typing import Final, Literal

import holidays

SWAP_DAY_OFF: Final = "nghỉ bù"
CONFIGURED_DAY_OFF: Final = "ngày nghỉ theo cấu hình"


@dataclass(frozen=True)
class DaySwaps:
    """Days off beyond the statutory ones (with their names) and make-up working Saturdays."""

    days_off: Mapping[date, str] = field(default_factory=dict)
    working_days: frozenset[date] = frozenset()


# holidays 0.109 already has every one of these; pyproject allows >=0.50, which lacks all of
# them (no 29 Tết, no adjacent National Day, no swaps, no make-up Saturdays). They only fill
# gaps: where the library names a day, its name is kept.
OFFICIAL_SWAPS: Final = DaySwaps(
    days_off=MappingProxyType(
        {
            date(2024, 2, 8): SWAP_DAY_OFF,  # Tết 2024: 8–14/2
            date(2024, 4, 29): SWAP_DAY_OFF,  # Công văn 2450/VPCP-KGVX: worked on Sat 4/5
            date(2024, 9, 3): "Quốc khánh",  # 2/9 plus the adjacent day
            date(2025, 1, 27): SWAP_DAY_OFF,  # Tết 2025: 25/1–2/2 (TB 6150/TB-LĐTBXH)
            date(2025, 5, 2): SWAP_DAY_OFF,  # TB 6150/TB-LĐTBXH: worked on Sat 26/4
            date(2025, 9, 1): "Quốc khánh",
        }
    ),
    working_days=frozenset({date(2024, 5, 4), date(2025, 4, 26)}),
)


@cache
def _library_year(year: int) -> tuple[Mapping[date, str], frozenset[date]]:
    """The library's holidays in `year`, and the weekend working days it knows of (any year)."""
    lib = holidays.country_holidays("VN", years=year, language="vi")
    days = MappingProxyType({d: str(name) for d, name in lib.items() if d.year == year})
    return days, frozenset(getattr(lib, "weekend_workdays", ()))


def _day(d: date) -> date:
    if isinstance(d, datetime):  # a datetime never equals a date key: fail loudly instead
        raise TypeError(f"expected a date, got datetime {d!r}; convert in Asia/Ho_Chi_Minh first")
    return d


def _as_date(value: date | str) -> date:
    return _day(value) if isinstance(value, date) else date.fromisoformat(value)


class WorkCalendar:
    """Vietnamese working days; configured overrides win over the official and library days."""

    def __init__(
        self,
        extra_days_off: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
        years: Iterable[int] | None = None,
        *,
        official_swaps: DaySwaps | None = OFFICIAL_SWAPS,
    ) -> None:
        self._off = frozenset(_day(d) for d in extra_days_off)
        self._working = frozenset(_day(d) for d in extra_working_days)
        if both := self._off & self._working:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"days configured both as day off and as working day: {listed}")
        self._swaps = official_swaps or DaySwaps()
        for year in years or ():  # preload; other years load on first use
            _library_year(year)

    @classmethod
    def from_config(
        cls,
        overrides: Mapping[str, Iterable[date | str]] | None = None,
        *,
        official_swaps: DaySwaps | None = OFFICIAL_SWAPS,
    ) -> WorkCalendar:
        """Build from a configuration mapping with keys `days_off` and `working_days`."""
        overrides = overrides or {}
        if unknown := set(overrides) - {"days_off", "working_days"}:
            raise ValueError(
                f"unknown calendar override keys {sorted(unknown)}; "
                "expected `days_off` and/or `working_days` (lists of ISO dates)"
            )
        return cls(
            extra_days_off=[_as_date(v) for v in overrides.get("days_off", ())],
            extra_working_days=[_as_date(v) for v in overrides.get("working_days", ())],
            official_swaps=official_swaps,
        )

    def holiday_name(self, d: date) -> str | None:
        """Why `d` is a day off besides being a weekend; None on working days and plain weekends."""
        d = _day(d)
        if d in self._off:
            return CONFIGURED_DAY_OFF
        if d in self._working or d in self._swaps.working_days:
            return None
        return _library_year(d.year)[0].get(d) or self._swaps.days_off.get(d)

    def is_working_day(self, d: date) -> bool:
        d = _day(d)
        if d in self._working:
            return True
        if self.holiday_name(d) is not None:  # includes configured days off
            return False
        if d.weekday() < 5:
            return True
        return d in self._swaps.working_days or any(
            d in _library_year(y)[1] for y in (d.year - 1, d.year, d.year + 1)
        )

    def next_working_day(self, d: date, include_self: bool = True) -> date:
        if include_self and self.is_working_day(d):
            return d
        return next(self._walk(d, 1))

    def add_working_days(self, d: date, n: int) -> date:
        """The n-th working day after `d` (before it if n < 0); `d` itself never counts.

        n == 0 gives `d` if it is a working day, else the next working day.
        """
        if n == 0:
            return self.next_working_day(d)
        return next(islice(self._walk(d, 1 if n > 0 else -1), abs(n) - 1, None))

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in (a, b]; negative when b < a."""
        if b < a:
            return -self.working_days_between(b, a)
        return sum(self.is_working_day(a + timedelta(days=i)) for i in range(1, (b - a).days + 1))

    def _walk(self, d: date, step: int) -> Iterator[date]:
        """Working days strictly after (step=1) or before (step=-1) `d`, nearest first."""
        idle = 0
        while True:
            d = _day(d) + timedelta(days=step)
            if self.is_working_day(d):
                idle = 0
                yield d
            elif (idle := idle + 1) > 366:  # a misconfigured override list, not a real year
                raise ValueError(f"no working day within a year of {d.isoformat()}")


# --- Decree 09 periods and data-cutoff windows


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
                head = f"tháng {_month_vi(self.index)} "
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


def _month_vi(month: int) -> str:
    # Decree 30/2020: months 1 and 2 take a leading zero, so "1" cannot be turned into "11"/"12".
    return f"{month:02d}" if month < 3 else str(month)


def format_date_vi(d: date) -> str:
    """E.g. "ngày 03 tháng 7 năm 2024", "ngày 05 tháng 01 năm 2020" (Decree 30/2020, Annex I)."""
    return f"ngày {d.day:02d} tháng {_month_vi(d.month)} năm {d.year}"


def format_date_short(d: date) -> str:
    """E.g. "10/6/2024", as in "ngày 10/6/2024"."""
    return f"{d.day}/{d.month}/{d.year}"
