"""Vietnamese working days (DESIGN §6).

The one calendar: Saturday and Sunday off, the `holidays` package's Vietnam calendar, the
Government's announced swaps from regimes/calendar/vn-holidays.yaml (a data file extended each
year; only where the library lacks them), then the province's configured overrides, which win
over everything else.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import Enum
from functools import cache
from itertools import islice
from pathlib import Path
from types import MappingProxyType
from typing import Final

import holidays

from reportcycle.calendar.swaps_file import DEFAULT_SWAPS_FILE, as_mapping, load_swaps_file


@dataclass(frozen=True)
class DaySwaps:
    """Days off beyond the statutory ones (with their names) and make-up working Saturdays."""

    days_off: Mapping[date, str] = field(default_factory=dict)
    working_days: frozenset[date] = frozenset()


SWAP_DAY_OFF: Final = "nghỉ bù"
CONFIGURED_DAY_OFF: Final = "ngày nghỉ theo cấu hình"


class _Default(Enum):
    SWAPS = "the Government's swaps from regimes/calendar/vn-holidays.yaml"


DEFAULT: Final = _Default.SWAPS


def official_swaps(path: Path | None = None) -> DaySwaps:
    """The Government's announced days off and make-up Saturdays, from the data file (a
    secretariat adds each year's there). holidays 0.109 already has 2024–2025's; pyproject
    allows >=0.50, which lacks them: they only fill gaps, the library's names are kept."""
    loaded = load_swaps_file(path or DEFAULT_SWAPS_FILE)
    return DaySwaps(
        days_off=as_mapping(loaded.days_off),
        working_days=frozenset(e.day for e in loaded.working_days),
    )


def __getattr__(name: str) -> DaySwaps:
    if name == "OFFICIAL_SWAPS":  # the name earlier code and tests import
        return official_swaps()
    raise AttributeError(name)


@cache
def _library_year(year: int) -> tuple[Mapping[date, str], frozenset[date]]:
    """The library's holidays in `year`, and the weekend working days it knows of (any year)."""
    lib = holidays.country_holidays("VN", years=year, language="vi")
    days = MappingProxyType({d: str(name) for d, name in lib.items() if d.year == year})
    return days, frozenset(getattr(lib, "weekend_workdays", ()))


def swaps_path() -> Path:
    """The data file in use: REPORTCYCLE_HOLIDAYS_FILE if set (a site's own copy), else the
    one in regimes/calendar/. Read when a calendar is made, never at import."""
    return Path(os.environ.get("REPORTCYCLE_HOLIDAYS_FILE") or DEFAULT_SWAPS_FILE)


def _official() -> DaySwaps:
    return official_swaps(swaps_path())


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
        official_swaps: DaySwaps | None | _Default = DEFAULT,
    ) -> None:
        self._off = frozenset(_day(d) for d in extra_days_off)
        self._working = frozenset(_day(d) for d in extra_working_days)
        if both := self._off & self._working:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"days configured both as day off and as working day: {listed}")
        if official_swaps is DEFAULT:
            official_swaps = _official()
        self._swaps = official_swaps or DaySwaps()
        for year in years or ():  # preload; other years load on first use
            _library_year(year)

    @classmethod
    def from_config(
        cls,
        overrides: Mapping[str, Iterable[date | str]] | None = None,
        *,
        official_swaps: DaySwaps | None | _Default = DEFAULT,
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
