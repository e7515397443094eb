"""Artifacts every flow leaves for the coordinator in the Prefect UI."""

from __future__ import annotations

import re
from collections.abc import Sequence

from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
)

from models.db import session
from reportcycle.status import cycle_status, find_cycle


def artifact_key(prefix: str, cycle_code: str) -> str:
    # Prefect keys allow lowercase letters, digits and dashes only.
    return f"{prefix}-{re.sub(r'[^a-z0-9-]+', '-', cycle_code.lower())}".strip("-")


def publish_unit_table(cycle_id: int) -> None:
    """One table per cycle, under a fixed key, so the UI shows its latest version."""
    with session() as db:
        status = cycle_status(db, find_cycle(db, str(cycle_id)))
    rows = [
        {
            "Đơn vị": u["name"],
            "Mã": u["unit"],
            "Mục": ", ".join(u["sections"]),
            "Yêu cầu": u["request"]["status"],
            "Trả lời": u["reply"]["outcome"] or "chưa nhận",
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


def publish_progress(cycle_id: int) -> None:
    """Received / expected, as a progress bar under a key per cycle."""
    with session() as db:
        status = cycle_status(db, find_cycle(db, str(cycle_id)))
    totals = status["totals"]
    create_progress_artifact(
        progress=100.0 * totals["counted"] / totals["units"] if totals["units"] else 0.0,
        key=artifact_key("progress", status["cycle"]["code"]),
        description=f"Đã nhận {totals['counted']}/{totals['units']} đơn vị — "
        f"{status['cycle']['code']}",
    )


def publish_summary(cycle_id: int, kind: str, title: str, lines: Sequence[str]) -> None:
    """What this run did, as markdown under a key per cycle and kind of run (`summary-chase-…`),
    with where the cycle stands after it."""
    with session() as db:
        status = cycle_status(db, find_cycle(db, str(cycle_id)))
    code, totals = status["cycle"]["code"], status["totals"]
    markdown = [
        f"## {title} — {code}",
        "",
        *lines,
        "",
        f"Sau lượt chạy: đã nhận {totals['counted']}/{totals['units']} đơn vị, "
        f"tỷ lệ báo cáo {totals['reporting_rate']:.0%}, đúng hạn {totals['on_time_rate']:.0%}, "
        f"chờ rà soát {totals['needs_review']}.",
    ]
    create_markdown_artifact(
        key=artifact_key(f"summary-{kind}", code),
        markdown="\n".join(markdown),
        description=f"{title} — {code}",
    )


def open_cycle_ids() -> list[int]:
    from sqlmodel import col, select

    from models.tables import Cycle, CycleStatus

    with session() as db:
        ids = db.exec(select(Cycle.id).where(col(Cycle.status) != CycleStatus.CLOSED)).all()
    return [cycle_id for cycle_id in ids if cycle_id is not None]


def unit_codes(cycle_id: int) -> list[str]:
    with session() as db:
        status = cycle_status(db, find_cycle(db, str(cycle_id)))
    return [u["unit"] for u in status["units"]]


def publish_open_cycles() -> None:
    """The unit table and progress of every cycle not yet closed."""
    for cycle_id in open_cycle_ids():
        publish_unit_table(cycle_id)
        publish_progress(cycle_id)
