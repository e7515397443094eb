"""Regime files (DESIGN §7): YAML a secretariat edits, validated strictly.

An error names the file, the line and the field, and says what was expected. All strings are
NFC-normalised on the way in.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from reportcycle.vntext import nfc_deep
from reportcycle.workcal import PeriodKind

Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=40)]
Email = Annotated[str, StringConstraints(pattern=r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Aggregate(StrEnum):
    SUM = "sum"
    LIST = "list"  # one value per unit, in the regime's unit order
    LATEST = "latest"


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


class UnitSpec(Strict):
    code: Code
    name: Text
    emails: tuple[Email, ...] = Field(min_length=1)
    head_email: Email | None = None
    sections: tuple[Code, ...] = ()
    indicators: tuple[Code, ...] = ()


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


@dataclass(frozen=True)
class RegimeIssue:
    path: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.field}: {self.message}"


class RegimeError(Exception):
    def __init__(self, issues: list[RegimeIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


@dataclass(frozen=True)
class LoadedRegime:
    regime: Regime
    path: Path
    sha256: str


def load_regime(path: str | Path) -> LoadedRegime:
    """Read and validate a regime file; raise RegimeError listing every problem at once."""
    path = Path(path)
    raw_bytes = path.read_bytes()
    name = str(path)
    try:
        node, data = _parse_yaml(raw_bytes.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise RegimeError([RegimeIssue(name, None, "(file)", f"not UTF-8 text: {exc}")]) from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise RegimeError(
            [RegimeIssue(name, line, "(syntax)", f"invalid YAML: {problem}")]
        ) from exc
    if not isinstance(data, dict):
        raise RegimeError([RegimeIssue(name, 1, "(file)", "expected a mapping of regime fields")])
    lines = _line_index(node)
    data = nfc_deep(data)
    issues = [
        RegimeIssue(name, _line_for(lines, loc), _dotted(loc), msg)
        for loc, msg in _cross_reference_problems(data)
    ]
    try:
        regime = Regime.model_validate(data)
    except ValidationError as exc:
        fields = [_issue(name, lines, e) for e in exc.errors()]
        seen = {i.field for i in fields}
        raise RegimeError(fields + [i for i in issues if i.field not in seen]) from exc
    if issues:
        raise RegimeError(issues)
    return LoadedRegime(regime, path, hashlib.sha256(raw_bytes).hexdigest())


def _parse_yaml(text: str) -> tuple[yaml.Node | None, Any]:
    """Compose once (the nodes carry line numbers), then construct the data from the nodes."""
    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~10x faster
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        return node, (loader.construct_document(node) if node is not None else None)
    finally:
        loader.dispose()


def _items(data: Any, key: str) -> list[Any]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, list) else []


def _leaves(sections: list[Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for section in sections:
        if isinstance(section, dict):
            children = _items(section, "subsections")
            out.extend(_leaves(children) if children else [section])
    return out


def _cross_reference_problems(data: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    """Codes that must refer to each other, checked on the raw data so that these errors are
    reported together with the field errors, not after they are fixed."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    leaves = _leaves(_items(data, "sections"))
    leaf_codes = sorted(str(s.get("code")) for s in leaves)
    indicator_codes = sorted(
        str(i.get("code")) for i in _items(data, "indicators") if isinstance(i, dict)
    )
    for i, indicator in enumerate(_items(data, "indicators")):
        if isinstance(indicator, dict) and str(indicator.get("section")) not in leaf_codes:
            problems.append(
                (
                    ("indicators", i, "section"),
                    f"unknown section {indicator.get('section')!r}; expected one of {leaf_codes}",
                )
            )
    answered: set[str] = set()
    for u, unit in enumerate(_items(data, "units")):
        for s, code in enumerate(_items(unit, "sections")):
            answered.add(str(code))
            if str(code) not in leaf_codes:
                problems.append(
                    (
                        ("units", u, "sections", s),
                        f"unknown section {code!r}; expected one of {leaf_codes}",
                    )
                )
        for s, code in enumerate(_items(unit, "indicators")):
            if str(code) not in indicator_codes:
                problems.append(
                    (
                        ("units", u, "indicators", s),
                        f"unknown indicator {code!r}; expected one of {indicator_codes}",
                    )
                )
        if (
            isinstance(unit, dict)
            and not _items(unit, "sections")
            and not _items(unit, "indicators")
        ):
            problems.append(
                (
                    ("units", u),
                    f"unit {unit.get('code')} is assigned no section "
                    "and no indicator; give it `sections:` or `indicators:`",
                )
            )
    for kind, codes in (
        ("section", leaf_codes),
        ("indicator", indicator_codes),
        ("unit", [str(x.get("code")) for x in _items(data, "units") if isinstance(x, dict)]),
    ):
        for code in sorted({c for c in codes if codes.count(c) > 1}):
            problems.append(((f"{kind}s",), f"{kind} code {code!r} is used twice"))
    for section in leaves:
        if (
            section.get("written_by", "units") == "units"
            and str(section.get("code")) not in answered
            and _items(data, "units")
        ):
            problems.append(
                (
                    ("sections",),
                    f"section {section.get('code')} "
                    f"({section.get('title')}) is written by units but no unit answers "
                    "it; assign it to a unit or set `written_by: secretariat`",
                )
            )
    units_by_code = {str(x.get("code")): x for x in _items(data, "units") if isinstance(x, dict)}
    for section in leaves:
        lead = section.get("lead_unit")
        if lead is None:
            continue
        unit = units_by_code.get(str(lead))
        answers = [str(c) for c in _items(unit, "sections")] if unit else []
        if str(section.get("code")) not in answers:
            problems.append(
                (
                    ("sections",),
                    f"section {section.get('code')} names lead_unit {lead!r}, which is not a "
                    "unit answering it; add the section to that unit's `sections:`",
                )
            )
    return problems


def _line_index(node: yaml.Node | None) -> dict[tuple[Any, ...], int]:
    """Map each path (keys and list indexes) to its 1-based line in the file."""
    index: dict[tuple[Any, ...], int] = {}

    def walk(n: yaml.Node, path: tuple[Any, ...]) -> None:
        index[path] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            for key, value in n.value:
                index[(*path, key.value)] = key.start_mark.line + 1
                walk(value, (*path, key.value))
                index[(*path, key.value)] = key.start_mark.line + 1
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, (*path, i))

    if node is not None:
        walk(node, ())
    return index


def _line_for(lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> int | None:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(file)"


def _issue(path: str, lines: dict[tuple[Any, ...], int], error: Any) -> RegimeIssue:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    kind = error["type"]
    if kind == "extra_forbidden":
        message = "unknown field; check its spelling against the regime format in README.md"
    elif kind == "missing":
        message = "required field is missing"
    else:
        message = error["msg"]
        if "input" in error and not isinstance(error["input"], dict | list):
            message += f" (got {error['input']!r})"
    return RegimeIssue(path, _line_for(lines, loc), _dotted(loc), message)
