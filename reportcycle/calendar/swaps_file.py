"""The Government's yearly day swaps, from a data file a secretariat extends each year
(regimes/calendar/vn-holidays.yaml), validated with `file:line: field: message` errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from reportcycle.vietnamese import nfc

DEFAULT_SWAPS_FILE = (
    Path(__file__).resolve().parents[2] / "regimes" / "calendar" / "vn-holidays.yaml"
)
_KEYS = ("days_off", "working_days")
_FIELDS = {"date", "name", "source"}


@dataclass(frozen=True)
class SwapIssue:
    path: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.field}: {self.message}"


class SwapsFileError(ValueError):
    def __init__(self, issues: list[SwapIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


@dataclass(frozen=True)
class SwapEntry:
    day: date
    name: str
    source: str


@dataclass(frozen=True)
class SwapsFile:
    path: Path
    days_off: tuple[SwapEntry, ...]
    working_days: tuple[SwapEntry, ...]

    def years(self) -> list[int]:
        return sorted({e.day.year for e in (*self.days_off, *self.working_days)})


@cache
def load_swaps_file(path: Path = DEFAULT_SWAPS_FILE) -> SwapsFile:
    """Read and check the file; raise SwapsFileError listing every problem at once."""
    name = str(path)
    try:
        root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise SwapsFileError(
            [SwapIssue(name, mark.line + 1 if mark else None, "(syntax)", f"invalid YAML: {exc}")]
        ) from exc
    if not isinstance(root, yaml.MappingNode):
        raise SwapsFileError(
            [SwapIssue(name, 1, "(file)", "expected `days_off:` and `working_days:`")]
        )
    issues: list[SwapIssue] = []
    lists: dict[str, list[SwapEntry]] = {k: [] for k in _KEYS}
    for key_node, value in root.value:
        key = key_node.value
        if key not in _KEYS:
            issues.append(
                _issue(name, key_node, key, "unknown field; expected days_off or working_days")
            )
        elif not isinstance(value, yaml.SequenceNode):
            issues.append(_issue(name, value, key, "expected a list of entries (- date: …)"))
        else:
            for i, item in enumerate(value.value):
                entry = _entry(name, f"{key}[{i}]", item, issues)
                if entry is not None:
                    lists[key].append(entry)
    issues += _clashes(name, lists)
    if issues:
        raise SwapsFileError(issues)
    return SwapsFile(path, tuple(lists["days_off"]), tuple(lists["working_days"]))


def _issue(path: str, node: yaml.Node, field: str, message: str) -> SwapIssue:
    return SwapIssue(path, node.start_mark.line + 1, field, message)


def _entry(path: str, where: str, node: yaml.Node, issues: list[SwapIssue]) -> SwapEntry | None:
    if not isinstance(node, yaml.MappingNode):
        issues.append(_issue(path, node, where, "expected date:, name: and source:"))
        return None
    fields: dict[str, Any] = {k.value: (k, v) for k, v in node.value}
    found = len(issues)
    for unknown in sorted(set(fields) - _FIELDS):
        issues.append(_issue(path, fields[unknown][0], f"{where}.{unknown}", "unknown field"))
    for needed in sorted(_FIELDS - set(fields)):
        issues.append(_issue(path, node, f"{where}.{needed}", "required field is missing"))
    day = None
    if "date" in fields:
        try:
            day = date.fromisoformat(str(fields["date"][1].value))
        except ValueError:
            issues.append(
                _issue(path, fields["date"][1], f"{where}.date", "expected a date YYYY-MM-DD")
            )
    if len(issues) > found or day is None:
        return None
    return SwapEntry(day, nfc(str(fields["name"][1].value)), nfc(str(fields["source"][1].value)))


def _clashes(path: str, lists: dict[str, list[SwapEntry]]) -> list[SwapIssue]:
    off = {e.day for e in lists["days_off"]}
    return [
        SwapIssue(path, None, "working_days", f"{e.day.isoformat()} is also listed as a day off")
        for e in lists["working_days"]
        if e.day in off
    ]


def as_mapping(entries: tuple[SwapEntry, ...]) -> MappingProxyType[date, str]:
    return MappingProxyType({e.day: e.name for e in entries})
