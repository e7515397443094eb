"""The command line as a user runs it: a real `reportcycle` process per command."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from models.settings import Settings
from tests.conftest import REFERENCE_REGIME
from tests.factories import maildir_messages
from tests.factories import run_cli as run

pytestmark = pytest.mark.slow

OPEN = [
    "cycle",
    "open",
    str(REFERENCE_REGIME),
    "--period",
    "2024-H1",
    "--request-ref",
    "2608/CV/BTGTU",
    "--request-date",
    "2024-06-10",
    "--now",
    "2024-06-17T08:00",
]


def test_regime_check_prints_a_summary_of_the_reference_regime() -> None:
    done = run("regime", "check", str(REFERENCE_REGIME))
    assert done.returncode == 0, done.stderr
    assert "dong-nai-ttdn-6-thang" in done.stdout
    assert "Đài Phát thanh – Truyền hình Đồng Nai" in done.stdout
    assert "8 đơn vị" in done.stdout


def test_regime_check_lists_every_error_with_its_line_and_exits_1(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    text = REFERENCE_REGIME.read_text(encoding="utf-8")
    bad.write_text(
        text.replace("period: half_year", "period: fortnight").replace(
            "    sections: [3c]\n", "    sections: [9z]\n", 1
        ),
        encoding="utf-8",
    )
    done = run("regime", "check", str(bad))
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.startswith(str(bad))]
    assert len(lines) == 2
    assert any(": period:" in line for line in lines)
    assert any("unknown section '9z'" in line for line in lines)


def test_opening_twice_from_the_cli_sends_once_and_says_so(
    settings: Settings, prefect: str
) -> None:
    first = run(*OPEN, prefect=prefect)
    assert first.returncode == 0, first.stderr
    assert "8 yêu cầu xếp gửi, 8 đã gửi, 0 gửi lỗi" in first.stdout
    second = run(*OPEN, prefect=prefect)
    assert second.returncode == 0, second.stderr
    assert "đã mở từ trước; không tạo thêm, không gửi gì" in second.stdout
    assert len(maildir_messages(settings.sent_maildir)) == 8

    status = run("status", "dong-nai-ttdn-6-thang-2024-H1", "--json")
    data = json.loads(status.stdout)
    assert data["schema"] == "reportcycle.status/1"
    assert data["totals"]["sent"] == 8
    assert {u["request"]["status"] for u in data["units"]} == {"sent"}


def test_unknown_cycle_is_an_error_naming_the_known_ones(settings: Settings) -> None:
    done = run("status", "no-such-cycle")
    assert done.returncode == 1
    assert "không có kỳ báo cáo 'no-such-cycle'" in done.stderr


def test_a_flow_command_with_no_server_starts_a_temporary_one(
    settings: Settings, tmp_path: Path
) -> None:
    """No PREFECT_API_URL and a new PREFECT_HOME, as on a new machine: the temporary server
    first builds its database, which outlasted Prefect's own 20 s start-up limit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "new-prefect-home")
    done = run("collect", "--now", "2024-06-19T09:00", env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Đã đọc 0 thư, 0 thư mới" in done.stdout, done.stdout
