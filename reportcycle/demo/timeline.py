"""The demo's simulated days (17/6 → 3/7/2024) and how it shows its progress."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from reportcycle.cli.common import out
from reportcycle.clock import VN_TZ
from reportcycle.vietnamese import format_share_vi

FIRST_DAY, LAST_DAY = date(2024, 6, 17), date(2024, 7, 3)


def days() -> list[date]:
    return [FIRST_DAY + timedelta(days=n) for n in range((LAST_DAY - FIRST_DAY).days + 1)]


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, clock_time(hour, minute), tzinfo=VN_TZ)


def progress_bar() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=out,
        transient=True,
    )


def rate(totals: dict[str, Any], key: str, part: str) -> str:
    return f"{format_share_vi(totals[key])} ({totals[part]}/{totals['units']})"
