"""Flow run names that say when: the `now` a run was given, or when it was scheduled."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from prefect.runtime import flow_run

from reportcycle.clock import VN_TZ


def run_name(prefix: str) -> Callable[[], str]:
    def name() -> str:
        given = flow_run.parameters.get("now")
        when = given if isinstance(given, datetime) else flow_run.scheduled_start_time
        if not isinstance(when, datetime):
            return prefix
        return f"{prefix} {when.astimezone(VN_TZ):%Y-%m-%d %H:%M}"

    return name
