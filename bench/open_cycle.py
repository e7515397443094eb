"""Benchmark (not a test): open a cycle of N synthetic units against the local SMTP server.

    .venv/bin/python bench/open_cycle.py --units 1000 [--prefect]

Prints the time of each step and messages per second. Target on the 2-core reference machine:
>= 200 messages/s for the whole open (create + forms + queue + send).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

T = TypeVar("T")
REFERENCE = Path(__file__).resolve().parents[1] / "regimes" / "dong-nai-ttdn-6-thang.yaml"


def synthetic_regime(units: int, target: Path) -> Path:
    """The reference regime with `units` units, cycling through the reference assignments."""
    data: dict[str, Any] = yaml.safe_load(REFERENCE.read_text(encoding="utf-8"))
    templates = data["units"]
    data["units"] = [
        {
            **templates[i % len(templates)],
            "code": f"U{i:04d}",
            "name": f"{templates[i % len(templates)]['name']} số {i}",
            "emails": [f"unit{i:04d}@example.org"],
            "head_email": f"head{i:04d}@example.org",
        }
        for i in range(units)
    ]
    target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return target


def timed(label: str, results: dict[str, float], fn: Callable[[], T]) -> T:
    start = time.perf_counter()
    value = fn()
    results[label] = time.perf_counter() - start
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--prefect", action="store_true", help="also run it as the Prefect flow")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rc-bench-"))
    os.environ["REPORTCYCLE_HOME"] = str(work / "plain")
    regime_path = synthetic_regime(args.units, work / "regime.yaml")

    from models.db import migrate, session
    from reportcycle.clock import VN_TZ
    from reportcycle.cycle import opening, request_emails
    from reportcycle.outbox.sending import send_outbox
    from reportcycle.regime.loading import load_regime

    now = datetime(2024, 6, 17, 8, tzinfo=VN_TZ)
    migrate()
    steps: dict[str, float] = {}
    loaded = timed("load regime", steps, lambda: load_regime(regime_path))

    def create() -> opening.OpenedCycle:
        with session() as db:
            opened = opening.open_cycle(
                db, loaded=loaded, period_code="2024-H1", request=None, now=now
            )
            db.commit()
            return opened

    def queue(cycle_id: int) -> int:
        from models.settings import get_settings

        with session() as db:
            count = request_emails.queue_request_emails(
                db, cycle_id=cycle_id, now=now, settings=get_settings()
            )
            db.commit()
            return count

    opened = timed("create cycle + requests", steps, create)
    queued = timed("forms + compose + enqueue", steps, lambda: queue(opened.cycle_id))
    report = timed(
        "send (one connection per batch)", steps, lambda: send_outbox(now, opened.cycle_id)
    )
    total = sum(steps.values())
    print(f"units: {args.units}; queued {queued}, sent {report.sent}, failed {report.failed}")
    for label, seconds in steps.items():
        print(f"  {label:34s} {seconds:7.2f} s")
    print(f"  {'total':34s} {total:7.2f} s  -> {report.sent / total:.0f} messages/s")
    if args.prefect:
        run_flow(regime_path, work / "prefect", now, args.units)


def run_flow(regime_path: Path, home: Path, now: datetime, units: int) -> None:
    os.environ["REPORTCYCLE_HOME"] = str(home)
    from models.db import get_engine, migrate
    from models.settings import get_settings

    get_settings.cache_clear()
    get_engine.cache_clear()
    migrate()
    from flows.open_cycle import open_cycle

    open_cycle(str(regime_path), "2023-H2", None, now)  # warm-up: starts Prefect's server
    start = time.perf_counter()
    result = open_cycle(str(regime_path), "2024-H1", None, now)
    seconds = time.perf_counter() - start
    print(
        f"prefect flow: {result.sent} sent in {seconds:.2f} s -> {result.sent / seconds:.0f}"
        f" messages/s ({units} units)"
    )


if __name__ == "__main__":
    main()
