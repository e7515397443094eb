"""The commands that run no flow never import Prefect, so they never start a server and answer
in about a second (README "Where Prefect runs"); the flow commands do import it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from models.settings import Settings
from tests.conftest import REFERENCE_REGIME
from tests.factories import open_reference_cycle

CODE = "dong-nai-ttdn-6-thang-2024-H1"
RUN = """
import json, sys
from reportcycle.cli.app import app
for args in json.loads(sys.argv[1]):
    try:
        app(args, standalone_mode=False)
    except SystemExit as exc:
        assert not exc.code, (args, exc.code)
print("PREFECT", json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "prefect")))
"""


def _modules_after(*commands: list[str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", RUN, json.dumps(list(commands))],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("PREFECT "))
    modules: list[str] = json.loads(line.removeprefix("PREFECT "))
    return modules


def test_status_regime_check_review_outbox_and_reports_never_import_prefect(
    settings: Settings,
) -> None:
    open_reference_cycle()
    loaded = _modules_after(
        ["status", CODE],
        ["status", CODE, "--json"],
        ["regime", "check", str(REFERENCE_REGIME)],
        ["review", "list"],
        ["outbox", "send", "--now", "2024-06-17T09:00"],
        ["report", "list", CODE],
        ["calendar", "show", "2024"],
        ["db", "upgrade"],
    )
    assert loaded == []


def test_the_flow_commands_are_the_ones_that_do(settings: Settings) -> None:
    """The other side, so the first test cannot pass because nothing was measured: merely
    building the `collect` command's flow imports Prefect."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, flows.collect_submissions; print('prefect' in sys.modules)",
        ],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.strip() == "True"
