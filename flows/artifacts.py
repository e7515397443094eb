"""Artifacts every flow leaves for the coordinator in the Prefect UI."""

from __future__ import annotations

import contextvars
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
)

from reportcycle.cycle.labels import NOT_RECEIVED, label
from reportcycle.cycle.status import open_cycle_ids, read_status


def artifact_key(prefix: str, cycle_code: str) -> str:
    # Prefect keys allow lowercase letters, digits and dashes only.
    return f"{prefix}-{re.sub(r'[^a-z0-9-]+', '-', cycle_code.lower())}".strip("-")


Status = dict[str, Any]  # reportcycle.status.cycle_status


@dataclass(frozen=True)
class Summary:
    """What a run did, for its markdown artifact: `lines(status)` gets the cycle's status."""

    kind: str  # "open", "collect", "chase": the key is summary-<kind>-<cycle>
    title: str
    lines: Callable[[Status], Sequence[str]]


def publish_cycle(cycle_id: int, summary: Summary | None = None) -> None:
    """The cycle's unit table, its progress and, if given, the run's summary, all from one
    reading of the cycle's status (a 1,000-unit status takes ~0.4 s), sent at once."""
    status = read_status(str(cycle_id))
    calls = [partial(publish_unit_table, status), partial(publish_progress, status)]
    if summary is not None:
        calls.append(partial(publish_summary, status, summary))
    at_once(calls)


def at_once(calls: Sequence[Callable[[], object]]) -> None:
    """Each call in a thread of its own, in this context (so each artifact belongs to the run
    that makes it): the server's round trips overlap instead of adding up. A run paid one
    round trip per artifact, up to 0.5 s each while the server was busy; errors are raised."""
    with ThreadPoolExecutor(max_workers=len(calls) or 1) as pool:
        futures = [pool.submit(contextvars.copy_context().run, call) for call in calls]
    for future in futures:
        future.result()


def publish_open_cycles(summary: Summary | None = None) -> None:
    """`publish_cycle` for every cycle not yet closed."""
    for cycle_id in open_cycle_ids():
        publish_cycle(cycle_id, summary)


def publish_unit_table(status: Status) -> None:
    """One table per cycle, under a fixed key, so the UI shows its latest version."""
    rows = [
        {
            "Đơn vị": u["name"],
            "Mã": u["unit"],
            "Mục": ", ".join(u["sections"]),
            "Yêu cầu": label(u["request"]["status"]),
            "Trả lời": label(u["reply"]["outcome"], none=NOT_RECEIVED),
            "Số lần gửi": u["reply"]["versions"],
            "Trễ hạn": "có" if u["reply"]["late"] else "",
            "Lỗi": u["request"]["error"] or "",
        }
        for u in status["units"]
    ]
    totals = status["totals"]
    create_table_artifact(
        key=artifact_key("units", status["cycle"]["code"]),
        table=rows,
        description=(
            f"Tình trạng các đơn vị — {status['cycle']['code']}: đã nhận {totals['received']}"
            f"/{totals['units']}, tỷ lệ báo cáo {totals['reporting_rate']:.0%}, "
            f"đúng hạn {totals['on_time_rate']:.0%}"
        ),
    )


def publish_progress(status: Status) -> None:
    """Received / expected, as a progress bar under a key per cycle."""
    totals = status["totals"]
    create_progress_artifact(
        progress=100.0 * totals["counted"] / totals["units"] if totals["units"] else 0.0,
        key=artifact_key("progress", status["cycle"]["code"]),
        description=f"Đã nhận {totals['counted']}/{totals['units']} đơn vị — "
        f"{status['cycle']['code']}",
    )


def publish_summary(status: Status, summary: Summary) -> None:
    """What this run did, as markdown under a key per cycle and kind of run (`summary-chase-…`),
    with where the cycle stands after it."""
    code, totals = status["cycle"]["code"], status["totals"]
    markdown = [
        f"## {summary.title} — {code}",
        "",
        *summary.lines(status),
        "",
        f"Sau lượt chạy: đã nhận {totals['counted']}/{totals['units']} đơn vị, "
        f"tỷ lệ báo cáo {totals['reporting_rate']:.0%}, đúng hạn {totals['on_time_rate']:.0%}, "
        f"chờ rà soát {totals['needs_review']}.",
    ]
    create_markdown_artifact(
        key=artifact_key(f"summary-{summary.kind}", code),
        markdown="\n".join(markdown),
        description=f"{summary.title} — {code}",
    )
