"""`reportcycle demo` (what `make demo` runs): the reference scenario end to end against a
Prefect server with its UI, twice on the same home (the `demo_runs` fixture of conftest, which
tests/test_prefect_ui.py also walks through in a browser)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.artifacts import artifact_key
from reportcycle.report.signing import signed_by

pytestmark = [pytest.mark.slow, pytest.mark.libreoffice]

CODE = "dong-nai-ttdn-6-thang-2024-H1"


def _unit_line(stdout: str, unit: str) -> str:
    return next(line for line in stdout.splitlines() if line.strip().startswith(f"{unit} "))


def _check_run(done: subprocess.CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "Prefect server: " in out
    assert "đang chạy; dùng server này" in out
    assert "mở kỳ báo cáo" in out
    assert "8 yêu cầu đã gửi" in out
    docx = Path(re.search(r"DOCX: (\S+)", out).group(1))  # type: ignore[union-attr]
    pdf = Path(re.search(r"PDF:  (\S+)", out).group(1))  # type: ignore[union-attr]
    assert docx.read_bytes()[:2] == b"PK"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert signed_by(pdf.read_bytes()) == "Võ Tân Đức", "the demo signs with its test key"
    assert "PDF ký số (digitally signed: True)" in out
    assert "Báo cáo số 01/BC-UBND" in out
    assert "Tỷ lệ báo cáo: 88% (7/8)" in out
    assert "đúng hạn: 75% (6/8)" in out
    assert "Đơn vị chưa gửi báo cáo (1): Sở Văn hóa, Thể thao và Du lịch." in out
    assert "chưa nhận" in _unit_line(out, "SVHTTDL")
    skhdt = _unit_line(out, "SKHDT")
    assert "đã nhận" in skhdt
    assert "trễ hạn" in skhdt
    # late, after two reminders (18/6 and the deadline 21/6): it answered on Saturday 22/6
    assert skhdt.endswith("nhắc: 18/06 (lần 1), 21/06 (lần 2)")
    assert "Thứ Bảy 22/06/2024 — 09:00 thu nhận 1 thư — SKHDT: đã nhận" in out
    reviewed = r"rà soát thư của STTTT từ nguyenvana\.sotttt@gmail\.example .*→ chấp nhận"
    assert re.search(reviewed, out)
    assert "đã nhận" in _unit_line(out, "STTTT")
    assert "LHHN: đã nhận" in out  # the legacy .doc was read
    # BDN's email lacked its indicator: reminded of it on 21/6, it sent the form, no more
    assert _unit_line(out, "BDN").endswith("nhắc: 18/06 (lần 1), 21/06 (lần 2)")
    assert re.search(r"/runs/flow-run/[0-9a-f-]{36}", out)


def test_demo_runs_the_reference_scenario_twice_on_one_home(
    demo_runs: tuple[Path, list[subprocess.CompletedProcess[str]]],
    ui_server: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home, (first, second) = demo_runs
    _check_run(first)
    assert "đã chuyển sang" not in first.stdout
    _check_run(second)
    assert "thư mục demo trước đã chuyển sang" in second.stdout
    assert (home.parent / "demo.previous" / "reportcycle.db").is_file()

    api = f"{ui_server}/api"
    monkeypatch.setenv("PREFECT_API_URL", api)
    with temporary_settings(updates={PREFECT_API_URL: api}), get_client(sync_client=True) as client:
        for kind in ("open", "collect", "chase"):
            key = artifact_key(f"summary-{kind}", CODE)
            found = client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])), limit=1
            )
            assert found, f"no markdown summary {key}"
            assert found[0].type == "markdown"
