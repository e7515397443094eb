"""Regime files (DESIGN §7): YAML a secretariat edits, validated strictly.

An error names the file, the line and the field, and says what was expected. All strings are
NFC-normalised on the way in.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from reportcycle.calendar.periods import PeriodKind
from reportcycle.regime.aggregates import is_percent_measure

Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=40)]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Aggregate(StrEnum):
    SUM = "sum"
    LIST = "list"  # one value per unit, in the regime's unit order
    LATEST = "latest"
    MEAN = "mean"  # the units' values averaged (a percentage each unit reports)
    RATE = "rate"  # Σ numerator / Σ denominator × 100 over the units: a province-level rate


class IssuingBody(Strict):
    name: Text  # "Ủy ban nhân dân tỉnh Đồng Nai"
    short_name: Text  # "UBND tỉnh", used in sentences
    header: Text  # "ỦY BAN NHÂN DÂN TỈNH ĐỒNG NAI", the header block's capitals
    supervisor: Text | None = None  # the line above it, may be absent
    place: Text  # "Đồng Nai" in "Đồng Nai, ngày 03 tháng 7 năm 2024"
    symbol: Text = "BC-UBND"  # "Số: 12/BC-UBND"
    drafting_unit: Code  # "THNC" in "Lưu: VT, THNC."


class Signer(Strict):
    authority: Text | None = None  # "KT. CHỦ TỊCH"
    title: Text  # "PHÓ CHỦ TỊCH"
    name: Text


class Recipient(Strict):
    name: Text
    email: Email | None = None


class Requester(Strict):
    name: Text  # "Ban Tuyên giáo Tỉnh ủy"
    email: Email | None = None


class Section(Strict):
    code: Code
    title: Text
    written_by: Literal["units", "secretariat"] = "units"
    guidance: Text | None = None  # what the form asks the unit to write
    # For a secretariat section: the unit whose contribution fills it when the cycle has no
    # text of the secretariat's own (`reportcycle cycle set-text`); it must answer the section.
    lead_unit: Code | None = None
    subsections: tuple[Section, ...] = ()


class Indicator(Strict):
    code: Code
    label: Text
    measure: Text  # "người", "trang", "doanh nghiệp"
    section: Code
    value_type: Literal["integer", "decimal", "text"] = "integer"
    aggregate: Aggregate = Aggregate.SUM
    numerator: Code | None = None  # for `rate`: the indicators counted above and below the line
    denominator: Code | None = None

    @property
    def is_percentage(self) -> bool:
        return is_percent_measure(self.measure)


class UnitSpec(Strict):
    code: Code
    name: Text
    emails: tuple[Email, ...] = Field(min_length=1)
    head_email: Email | None = None
    sections: tuple[Code, ...] = ()
    indicators: tuple[Code, ...] = ()
    # Lineage between cycles (README "Units that change between cycles"): the code this unit
    # had before a rename, and the units merged into it. Earlier cycles keep the old units.
    renamed_from: Code | None = None
    replaces: tuple[Code, ...] = ()

    def predecessors(self) -> tuple[Code, ...]:
        return ((self.renamed_from,) if self.renamed_from else ()) + self.replaces


class WindowSpec(Strict):
    start_day: int = Field(default=15, ge=1, le=28)


class DeadlineSpec(Strict):
    anchor: Literal["window_end", "period_end", "open"] = "window_end"
    working_days: int = Field(ge=-60, le=60)


class ReminderStep(Strict):
    working_days: int = Field(ge=-30, le=60, description="relative to the deadline")
    escalate: bool = False  # copy the unit's head
    final: bool = False


class CalendarOverrides(Strict):
    days_off: tuple[date, ...] = ()
    working_days: tuple[date, ...] = ()


class ReportOptions(Strict):
    # False: the indicator tables stay in the draft (for the secretariat to quote from) and
    # are left out of the final, as in the reference report.
    indicator_tables_in_final: bool = True


class ParentSpec(Strict):
    """The regime this body reports up to (README "Reports that feed a higher report")."""

    regime: Code  # the parent regime's code
    unit: Code  # this body's unit code in the parent regime
    cutoff_working_days: int = Field(default=0, ge=0, le=30)  # before the parent's deadline
    sections: dict[Code, Code] = {}  # this regime's section -> the parent's; default: same code


class Regime(Strict):
    code: Code
    name: Text
    report_title: Text  # summary line; "{period}" is replaced by the period's label
    period: PeriodKind
    window: WindowSpec = WindowSpec()
    deadline: DeadlineSpec
    report_deadline: DeadlineSpec | None = None
    issuer: IssuingBody
    requester: Requester | None = None
    signer: Signer
    sections: tuple[Section, ...] = Field(min_length=1)
    indicators: tuple[Indicator, ...] = ()
    units: tuple[UnitSpec, ...] = Field(min_length=1)
    reminders: tuple[ReminderStep, ...] = ()
    recipients: tuple[Recipient, ...] = ()
    calendar: CalendarOverrides = CalendarOverrides()
    report: ReportOptions = ReportOptions()
    dissolved: tuple[Code, ...] = ()  # units of earlier cycles that ended with no successor
    parent: ParentSpec | None = None

    def leaf_sections(self) -> list[Section]:
        out: list[Section] = []

        def walk(items: tuple[Section, ...]) -> None:
            for s in items:
                if s.subsections:
                    walk(s.subsections)
                else:
                    out.append(s)

        walk(self.sections)
        return out

    def all_sections(self) -> list[Section]:
        out: list[Section] = []

        def walk(items: tuple[Section, ...]) -> None:
            for s in items:
                out.append(s)
                walk(s.subsections)

        walk(self.sections)
        return out

    def section(self, code: str) -> Section:
        return next(s for s in self.all_sections() if s.code == code)

    def indicator(self, code: str) -> Indicator:
        return next(i for i in self.indicators if i.code == code)
