"""Benchmark (not a test): how long each CLI command takes as a user runs it, a fresh process
each time, imports included, on the reference regime (8 units) or on a cycle of N units.

    .venv/bin/python bench/cli_commands.py [--units 8] [--repeat 3]

Two ways Prefect can be set up, each on its own REPORTCYCLE_HOME:
- "no server": no PREFECT_API_URL, so a flow command starts Prefect's temporary server;
- "server": a `prefect server start` running, PREFECT_API_URL pointing at it.
Commands that run no flow (status, regime check, review list, outbox send) never import
Prefect, so they are timed once, in the second set-up. A repeated `cycle open` finds its cycle
open and a repeated `collect` an empty inbox: they still run their flow, which is what this
measures. Prints the median and the spread of each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bench.full_cycle_services import prefect_server  # noqa: E402
from bench.open_cycle import synthetic_regime  # noqa: E402

REFERENCE = HERE.parent / "regimes" / "dong-nai-ttdn-6-thang.yaml"
CLI = [sys.executable, "-m", "reportcycle.cli"]
CODE = "dong-nai-ttdn-6-thang-2024-H1"


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(CLI + args, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 2):
        raise RuntimeError(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return seconds


def env_for(home: Path, api_url: str | None, prefect_home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "REPORTCYCLE_"))}
    env.update(
        REPORTCYCLE_HOME=str(home),
        PREFECT_HOME=str(prefect_home),
        PREFECT_LOGGING_LEVEL="WARNING",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PYTHONPATH=str(HERE.parent),
    )
    if api_url:
        env["PREFECT_API_URL"] = api_url
    return env


def commands(regime: Path) -> list[tuple[str, list[str], bool]]:
    """(label, arguments, runs a flow); `cycle open` first: the others need its cycle."""
    return [
        ("cycle open", ["cycle", "open", str(regime), "--period", "2024-H1",
                        "--now", "2024-06-17T08:00"], True),
        ("collect", ["collect", "--now", "2024-06-19T09:00"], True),
        ("chase", ["chase", "--now", "2024-06-24T09:00"], True),
        ("status", ["status", CODE], False),
        ("status --json", ["status", CODE, "--json"], False),
        ("regime check", ["regime", "check", str(regime)], False),
        ("review list", ["review", "list"], False),
        ("outbox send", ["outbox", "send", "--now", "2024-06-24T09:00"], False),
    ]  # fmt: skip


def run(setup: str, regime: Path, root: Path, api_url: str | None, repeat: int) -> None:
    home = root / f"home-{setup.replace(' ', '-')}"
    env = env_for(home, api_url, root / f"prefect-{setup.replace(' ', '-')}")
    subprocess.run([*CLI, "db", "upgrade"], env=env, capture_output=True, check=True)
    for label, args, flow in commands(regime):
        if not flow and setup == "no server":
            continue  # no Prefect in them either way: timed with the server set-up
        times = [timed(args, env) for _ in range(repeat)]
        spread = f"{min(times):.1f}–{max(times):.1f}" if len(times) > 1 else ""
        print(
            f"| {setup} | {label} | {'yes' if flow else 'no'} | {statistics.median(times):.1f}"
            f" | {spread} |",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=8, help="8: the reference regime itself")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="rc-bench-cli-"))
    regime = REFERENCE if args.units == 8 else synthetic_regime(args.units, root / "regime.yaml")
    print(f"{args.units} units; load average {os.getloadavg()[0]:.1f}")
    print("| Prefect | command | runs a flow | median s | min–max s |")
    print("|---|---|---|---|---|")
    run("no server", regime, root, None, args.repeat)
    with prefect_server(root) as url:
        run("server", regime, root, url, args.repeat)
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
