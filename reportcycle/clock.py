"""Time is a parameter: flows take `now` from here, tests and the demo pass a fixed one."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(VN_TZ)


class FixedClock:
    """A clock that says what it is told; `advance` walks a cycle day by day."""

    def __init__(self, at: datetime) -> None:
        self.at = aware(at)

    def now(self) -> datetime:
        return self.at

    def set(self, at: datetime) -> None:
        self.at = aware(at)


def aware(value: datetime) -> datetime:
    """A naive datetime is read as Vietnam time, the zone every secretariat works in."""
    return value if value.tzinfo is not None else value.replace(tzinfo=VN_TZ)


def resolve_now(now: datetime | None, clock: Clock | None = None) -> datetime:
    return aware(now) if now is not None else (clock or SystemClock()).now()


def parse_now(text: str | None) -> datetime | None:
    """`--now 2024-06-10T08:00` (Vietnam time unless an offset is given)."""
    if text is None:
        return None
    try:
        return aware(datetime.fromisoformat(text))
    except ValueError as exc:
        raise ValueError(
            f"--now {text!r} is not an ISO-8601 date-time; write e.g. 2024-06-10T08:00 "
            "or 2024-06-10T08:00+07:00"
        ) from exc
