"""`.ci/postgres.sh`: each checkout gets its own test cluster (port and folder from its path),
unless REPORTCYCLE_TEST_PGPORT / REPORTCYCLE_TEST_PGDATA say otherwise."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow  # runs bash


def _url(checkout: Path, **env: str) -> str:
    script = checkout / ".ci" / "postgres.sh"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REPORTCYCLE_TEST_PG")}
    done = subprocess.run(
        ["bash", str(script), "url"],
        capture_output=True,
        text=True,
        check=True,
        env={**clean, **env},
        cwd="/",
    )
    return done.stdout.strip()


def test_two_checkouts_get_two_ports_and_an_override_wins(tmp_path: Path) -> None:
    for name in ("a", "b"):
        (tmp_path / name / ".ci").mkdir(parents=True)
        shutil.copy(REPO / ".ci" / "postgres.sh", tmp_path / name / ".ci" / "postgres.sh")
    first, second = _url(tmp_path / "a"), _url(tmp_path / "b")
    assert first != second
    assert first == _url(tmp_path / "a")  # stable for a checkout
    port = int(first.rsplit(":", 1)[1].split("/")[0])
    assert 55400 <= port < 55900
    assert ":55439/" in _url(tmp_path / "a", REPORTCYCLE_TEST_PGPORT="55439")
