"""Benchmark (not a test): the full cycle at N synthetic units, with and without Prefect.

    .venv/bin/python bench/full_cycle.py [--units 20,200,1000] [--modes plain,prefect]
        [--postgres | --database-url postgresql+psycopg://…] [--steps open,replies,collect,chase]

For each N and mode, on its own REPORTCYCLE_HOME and SQLite database (or, with --postgres or
--database-url, a fresh PostgreSQL database per N and mode on that server): open the cycle
(forms and requests sent through the embedded SMTP server), let the units reply (a generator
fills the forms and drops the replies in the inbox Maildir; one unit in ten stays late),
collect the replies (receipts sent), chase the late units the working day after their deadline, and
consolidate (draft, approval, final DOCX and PDF through LibreOffice, distribution).

Each step runs in a fresh process (bench/full_cycle_steps.py), so its peak RSS is its own; its
wall time excludes imports and migrations. The Prefect mode runs the flows against one Prefect
server started for the whole bench (its start-up is printed, not counted); the plain mode calls
the functions the flows' tasks wrap, in the same order, sending included.

Targets on the 2-core reference machine: N=1000 end to end <= 60 s; Prefect / plain <= 1.3;
time at 1000 / time at 200 <= 5.5; peak RSS <= 500 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.full_cycle_services import (  # noqa: E402
    drop_database,
    fresh_database,
    prefect_or_none,
    throwaway_cluster,
)

HERE = Path(__file__).resolve().parent
STEPS = ("open", "replies", "collect", "chase", "consolidate")
PIPELINE = ("open", "collect", "chase", "consolidate")  # replies simulate the units
TARGET_SECONDS, TARGET_RATIO, TARGET_SCALE, TARGET_MB = 60.0, 1.3, 5.5, 500.0

Results = dict[tuple[int, str], dict[str, dict[str, Any]]]


def child_env(
    home: Path, mode: str, api_url: str | None, root: Path, db_url: str | None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REPORTCYCLE_"))}
    env.update(
        REPORTCYCLE_HOME=str(home),
        PREFECT_HOME=str(root / "client-home"),
        PREFECT_LOGGING_LEVEL="WARNING",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
    )
    if db_url is not None:
        env["REPORTCYCLE_DATABASE_URL"] = db_url
    if mode == "prefect":
        assert api_url is not None
        env["PREFECT_API_URL"] = api_url
    return env


def run_step(step: str, mode: str, units: int, work: Path, env: dict[str, str]) -> dict[str, Any]:
    command = [sys.executable, str(HERE / "full_cycle_steps.py"), step, mode, str(units), str(work)]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    log = work / f"{step}.log"
    log.write_text(done.stdout + done.stderr, "utf-8")
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        why = f"exit {done.returncode}" if done.returncode >= 0 else f"signal {-done.returncode}"
        raise RuntimeError(f"{step} ({mode}, N={units}) failed ({why}); see {log}:\n{tail}")
    result: dict[str, Any] = json.loads(lines[-1][len("RESULT ") :])
    result["process"] = time.perf_counter() - started
    result["exit"] = result["process"] - result["setup"] - result["wall"]
    result["load"] = os.getloadavg()[0]  # other work on the machine skews the figures
    return result


@dataclass(frozen=True)
class Run:
    """What every cycle of the bench shares: its directory, servers and steps."""

    root: Path
    api_url: str | None
    pg_server: str | None  # a PostgreSQL server URL: one fresh database per N and mode
    steps: tuple[str, ...]
    keep: bool  # keep the work directory and the PostgreSQL databases


def run_cycle(units: int, mode: str, run: Run) -> dict[str, Any]:
    work = run.root / f"{mode}-{units}"
    work.mkdir()
    name = f"rc_bench_{mode}_{units}"
    db_url = fresh_database(run.pg_server, name) if run.pg_server else None
    env = child_env(work / "home", mode, run.api_url, run.root, db_url)
    try:
        return run_steps(units, mode, work, env, run.steps)
    finally:
        if run.pg_server and not run.keep:
            drop_database(run.pg_server, name)


def run_steps(
    units: int, mode: str, work: Path, env: dict[str, str], steps: tuple[str, ...]
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for step in steps:
        results[step] = run_step(step, mode, units, work, env)
        r = results[step]
        print(
            f"  N={units:<5} {mode:8s} {step:12s} {r['wall']:7.2f} s  {r['rss_mb']:6.0f} MB"
            f"  (process {r['process']:.1f} s: set-up {r['setup']:.1f}, exit {r['exit']:.1f};"
            f" load {r['load']:.1f})"
            f"  {json.dumps(r['info'], ensure_ascii=False)}",
            flush=True,
        )
    return results


def total(steps: dict[str, dict[str, Any]]) -> float:
    return sum(steps[s]["wall"] for s in PIPELINE if s in steps)


def peak(steps: dict[str, dict[str, Any]]) -> float:
    return max(steps[s]["rss_mb"] for s in PIPELINE if s in steps)


def cell(value: float | None, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def table(results: Results, units: list[int], steps: tuple[str, ...]) -> list[str]:
    out = [
        "| N | step | plain s | Prefect s | Prefect / plain | plain peak RSS MB"
        " | Prefect peak RSS MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for n in units:
        plain, flow = results.get((n, "plain")), results.get((n, "prefect"))
        for step in (*steps, "end to end"):
            walls: list[float | None] = []
            mbs: list[float | None] = []
            for res in (plain, flow):
                if res is None:
                    walls.append(None)
                    mbs.append(None)
                elif step == "end to end":
                    walls.append(total(res))
                    mbs.append(peak(res))
                else:
                    walls.append(res[step]["wall"])
                    mbs.append(res[step]["rss_mb"])
            ratio = walls[1] / walls[0] if walls[0] and walls[1] is not None else None
            label = "replies (units, not counted)" if step == "replies" else step
            if step == "end to end":
                label = "**end to end**"
            out.append(
                f"| {n} | {label} | {cell(walls[0], '.2f')} | {cell(walls[1], '.2f')}"
                f" | {cell(ratio, '.2f')} | {cell(mbs[0], '.0f')} | {cell(mbs[1], '.0f')} |"
            )
    return out


def verdicts(results: Results, units: list[int], modes: list[str]) -> list[str]:
    def mark(ok: bool) -> str:
        return "PASS" if ok else "MISS"

    out = []
    for mode in modes:
        big = results.get((1000, mode))
        if big is not None:
            seconds = total(big)
            out.append(
                f"- {mark(seconds <= TARGET_SECONDS)} N=1000 end to end ({mode}):"
                f" {seconds:.1f} s (target <= {TARGET_SECONDS:.0f} s)"
            )
        small = results.get((200, mode))
        if big is not None and small is not None:
            scale = total(big) / total(small)
            out.append(
                f"- {mark(scale <= TARGET_SCALE)} 1000 / 200 ({mode}): {scale:.2f}x"
                f" (target <= {TARGET_SCALE}x)"
            )
        for n in units:
            if (n, mode) in results:
                mb = peak(results[(n, mode)])
                out.append(
                    f"- {mark(mb <= TARGET_MB)} peak RSS N={n} ({mode}): {mb:.0f} MB"
                    f" (target <= {TARGET_MB:.0f} MB)"
                )
    for n in units:
        if (n, "plain") in results and (n, "prefect") in results:
            ratio = total(results[(n, "prefect")]) / total(results[(n, "plain")])
            out.append(
                f"- {mark(ratio <= TARGET_RATIO)} Prefect / plain N={n}: {ratio:.2f}"
                f" (target <= {TARGET_RATIO})"
            )
    return out


def parts(results: Results) -> list[str]:
    out = []
    for (n, mode), steps in sorted(results.items()):
        for step in steps:
            if steps[step]["parts"]:
                split = ", ".join(f"{k} {v:.2f} s" for k, v in steps[step]["parts"].items())
                out.append(f"- N={n} {mode} {step}: {split}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", default="20,200,1000", help="comma-separated unit counts")
    parser.add_argument("--modes", default="plain,prefect", help="plain, prefect or both")
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--steps", default=",".join(STEPS), help="a subset of " + ",".join(STEPS))
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database-url", help="a PostgreSQL server: a fresh database per run")
    where.add_argument("--postgres", action="store_true", help="the .ci/postgres.sh cluster")
    args = parser.parse_args()
    units = [int(n) for n in args.units.split(",")]
    modes = [m.strip() for m in args.modes.split(",")]
    if not set(modes) <= {"plain", "prefect"}:
        parser.error("--modes takes plain, prefect or plain,prefect")
    steps = tuple(s for s in STEPS if s in args.steps.split(","))  # in the cycle's order
    if not steps or set(args.steps.split(",")) - set(STEPS):
        parser.error("--steps takes " + ",".join(STEPS))
    pg_server = throwaway_cluster() if args.postgres else args.database_url
    if pg_server:
        print(f"PostgreSQL: {pg_server} (a fresh database per N and mode)")
    if shutil.which("soffice") is None:
        print("warning: soffice not found; the consolidation step will fail", file=sys.stderr)
    root = Path(tempfile.mkdtemp(prefix="rc-bench-full-"))
    results: Results = {}
    try:
        with prefect_or_none(root, "prefect" in modes) as api_url:
            run = Run(root, api_url, pg_server, steps, args.keep)
            for n in units:
                for mode in modes:
                    results[(n, mode)] = run_cycle(n, mode, run)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"work directory kept: {root}")
    report(results, units, modes, steps, args.json)


def report(
    results: Results, units: list[int], modes: list[str], steps: tuple[str, ...], path: Path | None
) -> None:
    print()
    print("\n".join(table(results, units, steps)))
    print("\nTargets:")
    print("\n".join(verdicts(results, units, modes)))
    print("\nParts of the steps:")
    print("\n".join(parts(results)))
    if path is not None:
        raw = {f"{n}/{mode}": steps for (n, mode), steps in results.items()}
        path.write_text(json.dumps(raw, indent=1, default=str), "utf-8")


if __name__ == "__main__":
    main()
