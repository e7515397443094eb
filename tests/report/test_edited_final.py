"""`approve --edited` with a file that cannot be made final (issue 13 §3): a clear error that
names the file and what is missing, in the regime's own words, no traceback, no number taken;
and the draft stays approvable with a good file or none."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from uuid import UUID

import pytest
from docx import Document
from sqlmodel import select

from flows.consolidate_report import Approval, resume
from models.db import session
from models.report import IssuedNumber, ReportKind, ReportStatus, ReportVersion
from models.settings import Settings
from reportcycle.clock import VN_TZ
from tests.factories import run_cli as run
from tests.report.test_second_regime import CODE, SECOND_REGIME

pytestmark = [pytest.mark.slow, pytest.mark.libreoffice]


def _without_place_date(docx: bytes) -> bytes:
    """The secretariat deleted the header's "Bình Định, ngày … tháng … năm …" line in Word."""
    document = Document(io.BytesIO(docx))
    for table in document.tables:
        for cell in table._cells:
            for paragraph in cell.paragraphs:
                if ", ngày" in paragraph.text:
                    paragraph._p.getparent().remove(paragraph._p)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_a_bad_edited_file_is_refused_clearly_and_the_draft_stays_approvable(
    settings: Settings, prefect: str, tmp_path: Path
) -> None:
    opened = run(
        "cycle", "open", str(SECOND_REGIME), "--period", "2025-Q1", "--now", "2025-03-10T08:00"
    )
    assert opened.returncode == 0, opened.stderr
    done = run("consolidate", CODE, "--now", "2025-03-24T09:00", prefect=prefect)
    assert done.returncode == 0, done.stderr
    with session() as db:
        (draft,) = db.exec(select(ReportVersion)).all()
    bad = tmp_path / "bao-cao-da-sua.docx"
    bad.write_bytes(_without_place_date(draft.docx))

    refused = run(
        "approve", CODE, "--edited", str(bad), "--now", "2025-03-25T09:00", prefect=prefect
    )
    assert refused.returncode == 1
    message = " ".join(refused.stderr.split())
    assert "Traceback" not in refused.stderr
    assert str(bad.name) in message
    assert "Không tìm thấy dòng địa danh, ngày tháng năm" in message
    assert "“Bình Định, ngày … tháng … năm …”" in message
    assert "Đồng Nai" not in message
    assert "chưa lấy số" in message
    with session() as db:
        assert db.exec(select(IssuedNumber)).all() == []

    # the same bad file given through the Prefect UI's Resume form: refused, the run waits again
    state = resume(
        UUID(draft.flow_run_id or ""),
        Approval(edited_docx=str(bad), decided_at=datetime(2025, 3, 25, 9, 30, tzinfo=VN_TZ)),
    )
    assert state.is_paused(), state
    with session() as db:
        assert db.exec(select(IssuedNumber)).all() == []
        assert db.get(ReportVersion, draft.id).status == ReportStatus.AWAITING  # type: ignore[union-attr]

    again = run("approve", CODE, "--now", "2025-03-25T10:00", prefect=prefect)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "báo cáo số 01/BC-UBND đã phát hành" in again.stdout
    with session() as db:
        finals = db.exec(select(ReportVersion).where(ReportVersion.kind == ReportKind.FINAL)).all()
    assert len(finals) == 1
