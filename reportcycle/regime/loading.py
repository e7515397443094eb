"""Loading a regime file: YAML parsed with line numbers, validated strictly, every error at once
as `file:line: field: message`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from reportcycle.regime.references import cross_reference_problems
from reportcycle.regime.schema import Regime
from reportcycle.vietnamese import nfc_deep


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
        for loc, msg in cross_reference_problems(data)
    ]
    try:
        regime = Regime.model_validate(data)
    except ValidationError as exc:
        fields = [_issue(name, lines, e) for e in _root_errors(exc.errors())]
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


def _root_errors(errors: list[Any]) -> list[Any]:
    """Without the errors that only follow from another: a list left "too short" because its
    one item was invalid says nothing the item's own error does not."""
    locs = [tuple(e["loc"]) for e in errors]
    return [
        e
        for e in errors
        if not (
            e["type"] == "too_short"
            and any(o[: len(e["loc"])] == tuple(e["loc"]) and o != tuple(e["loc"]) for o in locs)
        )
    ]


_PATTERN_MESSAGES = {
    "email": "not an email address; expected name@domain, e.g. sotuphap@binhdinh.gov.vn",
    "code": "not a code; use letters, digits and _ . - (e.g. SNV, 2.1, 3a), at most 40",
}


def _pattern_message(loc: tuple[Any, ...]) -> str:
    named = [p for p in loc if isinstance(p, str)]
    kind = "email" if named and "email" in named[-1] else "code"
    return _PATTERN_MESSAGES[kind]


def _issue(path: str, lines: dict[tuple[Any, ...], int], error: Any) -> RegimeIssue:
    loc = tuple(p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    kind = error["type"]
    if kind == "extra_forbidden":
        message = "unknown field; check its spelling against the regime format in README.md"
    elif kind == "missing":
        message = "required field is missing"
    elif kind == "string_pattern_mismatch":
        message = f"{_pattern_message(loc)} (got {error['input']!r})"
    else:
        message = error["msg"]
        if "input" in error and not isinstance(error["input"], dict | list):
            message += f" (got {error['input']!r})"
    return RegimeIssue(path, _line_for(lines, loc), _dotted(loc), message)


def issue_at(path: Path, loc: tuple[Any, ...], message: str) -> RegimeIssue:
    """An issue found after loading (against the database): at the field's line in the file."""
    node, _ = _parse_yaml(path.read_text(encoding="utf-8"))
    return RegimeIssue(str(path), _line_for(_line_index(node), loc), _dotted(loc), message)
