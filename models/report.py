"""The consolidated report's tables: the secretariat's texts, every rendered version, and the
document numbers issued (DESIGN §8)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, LargeBinary, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.tables import _json, _ts


class ReportKind(StrEnum):
    DRAFT = "draft"  # rendered from the contributions, with attribution
    EDITED = "edited"  # a DOCX the secretariat edited and handed back with its approval
    FINAL = "final"  # numbered, dated, no attribution; has a PDF


class ReportStatus(StrEnum):
    AWAITING = "awaiting"  # a draft waiting for the decision
    SUPERSEDED = "superseded"  # a newer draft replaced it before any decision
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"  # the draft (or its edited copy) the final was made from
    ISSUED = "issued"  # the final


class CycleText(SQLModel, table=True):
    """A section the secretariat writes itself (context, direction, next steps), per cycle."""

    __table_args__ = (UniqueConstraint("cycle_id", "section_code", name="uq_cycletext_section"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    section_code: str
    paragraphs: list[str] = _json(default=list)  # "- " starts a bullet
    source_name: str  # the file it was read from
    updated_at: datetime = _ts()
    updated_by: str = "secretariat"


class ReportVersion(SQLModel, table=True):
    """One version of a cycle's report, kept for good (the archive): drafts, an edited copy,
    the final. The bytes live here; `path` is where the copy on disk was written."""

    __table_args__ = (UniqueConstraint("cycle_id", "version", name="uq_report_cycle_version"),)

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", index=True)
    version: int
    kind: ReportKind = Field(sa_type=String(16))
    status: ReportStatus = Field(sa_type=String(24), index=True)
    # The flow run that rendered a draft: a resumed run starts from the top and must find
    # its draft instead of making another one.
    flow_run_id: str | None = Field(default=None, unique=True)
    based_on_id: int | None = Field(default=None, foreign_key="reportversion.id")
    created_at: datetime = _ts()
    docx: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    docx_sha256: str
    pdf: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    path: str | None = None
    pdf_path: str | None = None
    number_text: str | None = None  # "05/BC-UBND" on the final
    summary: dict[str, Any] = _json(default=dict)  # counts, missing units, review notes
    context: dict[str, Any] = _json(default=dict)  # report_model.context_to_json of a draft
    decision_comment: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = _ts(nullable=True)


class DocumentCounter(SQLModel, table=True):
    """The last number an issuing body gave in a year: numbers restart at 01 each 1 January."""

    __table_args__ = (UniqueConstraint("issuer", "year", name="uq_counter_issuer_year"),)

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)  # "<issuer>/<year>", for INSERT … ON CONFLICT
    issuer: str
    year: int
    last_number: int = 0


class IssuedNumber(SQLModel, table=True):
    """A number given to a cycle's report; one per cycle, so a rerun reuses it."""

    __table_args__ = (
        UniqueConstraint("issuer", "year", "number", name="uq_issued_issuer_year_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    cycle_id: int = Field(foreign_key="cycle.id", unique=True)
    issuer: str
    year: int
    number: int
    text: str  # "05/BC-UBND"
    issued_at: datetime = _ts()
