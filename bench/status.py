"""Benchmark (not a test): `reportcycle status` on a cycle of N units, as a user runs it.

    .venv/bin/python bench/status.py [--units 5000] [--repeat 5] [--work DIR]

The cycle is made the way bench/full_cycle.py makes it (plain mode, SQLite): opened with every
request sent through the embedded SMTP server, nine units in ten replying with their own text,
and the replies collected with their receipts sent. So every unit has a sent request, most a
counted reply with its inbound message and outcome. `--work DIR` keeps that cycle in DIR, and
a later run with the same DIR reuses it (building 5,000 units takes ~5 min).

Then, each in a fresh process: `reportcycle status CODE` and `status CODE --json`, `--repeat`
times each, their median and spread; and one process that times the parts of the command
(importing the CLI, importing the models and migrating, the query, drawing the table,
and the `--json` text of the same data). Target: under 2 s at 5,000 units.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.full_cycle import child_env, run_steps  # noqa: E402

TARGET_SECONDS = 2.0
CLI = [sys.executable, "-m", "reportcycle.cli", "status"]


def make_cycle(units: int, work: Path) -> dict[str, str]:
    """The cycle's environment; built once per work directory (its state.json says so)."""
    env = child_env(work / "home", "plain", None, work, None)
    if not (work / "collect.log").exists():
        work.mkdir(parents=True, exist_ok=True)
        run_steps(units, "plain", work, env, ("open", "replies", "collect"))
    return env


def timed(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def parts(code: str) -> dict[str, float]:
    """The command's parts, in this process (which must be fresh for the imports to count)."""
    start = time.perf_counter()
    from reportcycle.cli import views
    from reportcycle.cli.app import app  # noqa: F401  (what `reportcycle` imports first)
    from reportcycle.cli.common import out, to_json

    imported = time.perf_counter()
    from models.db import migrate, session
    from reportcycle.cycle.status import cycle_status
    from reportcycle.lookup import find_cycle

    migrate()
    migrated = time.perf_counter()
    with session() as db:
        data = cycle_status(db, find_cycle(db, code))
    queried = time.perf_counter()
    with open(os.devnull, "w", encoding="utf-8") as sink:
        out.file = sink
        views.status_table(out, data)
    drawn = time.perf_counter()
    to_json(data)
    return {
        "cli imports": imported - start,
        "models + migrate": migrated - imported,
        "query": queried - migrated,
        "table": drawn - queried,
        "json": time.perf_counter() - drawn,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", type=Path, help="keep (or reuse) the cycle in this directory")
    parser.add_argument("--parts", help=argparse.SUPPRESS)  # a child process: this cycle's code
    args = parser.parse_args()
    if args.parts:
        print("RESULT " + json.dumps(parts(args.parts)), flush=True)
        return
    work = args.work or Path(tempfile.mkdtemp(prefix=f"rc-bench-status-{args.units}-"))
    env = make_cycle(args.units, work)
    env["PYTHONPATH"] = str(HERE.parent)
    env["COLUMNS"] = "120"
    code = json.loads((work / "state.json").read_text("utf-8"))["cycle_code"]
    print(f"cycle {code}, {args.units} units, in {work}; load {os.getloadavg()[0]:.2f}")
    for flags in ([], ["--json"]):
        seconds = []
        for _ in range(args.repeat):
            took, stdout = timed([*CLI, code, *flags], env)
            seconds.append(took)
        lines = stdout.count("\n")
        median = statistics.median(seconds)
        verdict = "pass" if median < TARGET_SECONDS else "missed"
        print(
            f"status {' '.join(flags) or '(table)':7s}: median {median:.2f} s, "
            f"{min(seconds):.2f}–{max(seconds):.2f} over {args.repeat}, {lines} lines "
            f"(target < {TARGET_SECONDS:.0f} s: {verdict})"
        )
    _, stdout = timed([sys.executable, __file__, "--parts", code], env)
    result = json.loads(next(x for x in stdout.splitlines() if x.startswith("RESULT "))[7:])
    print("parts: " + ", ".join(f"{k} {v:.2f} s" for k, v in result.items()))
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
