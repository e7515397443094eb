"""The sections the secretariat writes itself (context, next steps): read from a file and kept
per cycle (`reportcycle cycle set-text`)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlmodel import Session, select

from models.db import audit
from models.report import CycleText
from models.tables import Cycle
from reportcycle.lookup import regime_of
from reportcycle.report.errors import ConsolidationError
from reportcycle.vietnamese import nfc


def read_text_file(path: Path) -> list[str]:
    """Paragraphs of a .txt (UTF-8) or .docx file: one per non-empty line/paragraph, NFC."""
    if not path.is_file():
        raise ConsolidationError(f"{path}: no such file / không tìm thấy tệp")
    if path.suffix.lower() == ".docx":
        from docx import Document

        try:
            lines = [p.text for p in Document(str(path)).paragraphs]
        except Exception as exc:  # python-docx raises several kinds on a bad package
            raise ConsolidationError(f"{path}: not a readable .docx ({exc})") from None
    else:
        try:
            lines = path.read_text(encoding="utf-8-sig").splitlines()
        except UnicodeDecodeError:
            raise ConsolidationError(
                f"{path}: not UTF-8 text; save it as UTF-8 (or as .docx) and try again / "
                "tệp không phải văn bản UTF-8, đề nghị lưu lại dạng UTF-8 hoặc .docx"
            ) from None
    paragraphs = [" ".join(nfc(line).split()) for line in lines]
    paragraphs = [p for p in paragraphs if p]
    if not paragraphs:
        raise ConsolidationError(f"{path}: the file has no text / tệp không có nội dung")
    return paragraphs


def set_text(
    db: Session,
    cycle: Cycle,
    section_code: str,
    paragraphs: list[str],
    *,
    source_name: str,
    now: datetime,
    actor: str = "secretariat",
) -> CycleText:
    """Set (or replace) the secretariat's text of a section for this cycle."""
    _check_leaf_section(db, cycle, section_code)
    row = _text_row(db, cycle, section_code, source_name=source_name, now=now)
    row.paragraphs, row.source_name, row.updated_at, row.updated_by = (
        paragraphs,
        source_name,
        now,
        actor,
    )
    db.add(row)
    db.flush()
    audit(
        db,
        at=now,
        actor=actor,
        action="report.text_set",
        entity="cycletext",
        entity_id=row.id,
        cycle_id=cycle.id,
        section=section_code,
        source=source_name,
        paragraphs=len(paragraphs),
    )
    return row


def _check_leaf_section(db: Session, cycle: Cycle, section_code: str) -> None:
    regime = regime_of(db, cycle)
    leaves = {s.code: s for s in regime.leaf_sections()}
    if section_code not in leaves:
        raise ConsolidationError(
            f"section {section_code!r} is not a section of {regime.code} without subsections; "
            f"use one of: {', '.join(leaves)}"
        )


def _text_row(
    db: Session, cycle: Cycle, section_code: str, *, source_name: str, now: datetime
) -> CycleText:
    """The cycle's row for this section, or a new one (not yet added)."""
    row = db.exec(
        select(CycleText).where(
            CycleText.cycle_id == cycle.id, CycleText.section_code == section_code
        )
    ).first()
    if row is None:
        row = CycleText(
            cycle_id=cycle.id or 0,
            section_code=section_code,
            paragraphs=[],
            source_name=source_name,
            updated_at=now,
        )
    return row
