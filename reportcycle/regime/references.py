"""Cross-references inside a regime file that the schema alone cannot check (units, sections,
indicators naming each other)."""

from __future__ import annotations

from typing import Any

from reportcycle.regime.aggregates import aggregate_problems
from reportcycle.regime.lineage import lineage_problems


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


Problem = tuple[tuple[Any, ...], str]


def cross_reference_problems(data: dict[str, Any]) -> list[Problem]:
    """Codes that must refer to each other, checked on the raw data so that these errors are
    reported together with the field errors, not after they are fixed."""
    leaves = _leaves(_items(data, "sections"))
    leaf_codes = sorted(str(s.get("code")) for s in leaves)
    indicator_codes = sorted(
        str(i.get("code")) for i in _items(data, "indicators") if isinstance(i, dict)
    )
    units = _items(data, "units")
    return [
        *_indicator_section_problems(data, leaf_codes),
        *_unit_problems(units, leaf_codes, indicator_codes),
        *_duplicate_problems(units, leaf_codes, indicator_codes),
        *_unanswered_section_problems(leaves, units),
        *_lead_unit_problems(leaves, units),
        *aggregate_problems(_items(data, "indicators")),
        *lineage_problems(units, _items(data, "dissolved")),
    ]


def _indicator_section_problems(data: dict[str, Any], leaf_codes: list[str]) -> list[Problem]:
    problems: list[Problem] = []
    for i, indicator in enumerate(_items(data, "indicators")):
        if isinstance(indicator, dict) and str(indicator.get("section")) not in leaf_codes:
            problems.append(
                (
                    ("indicators", i, "section"),
                    f"unknown section {indicator.get('section')!r}; expected one of {leaf_codes}",
                )
            )
    return problems


def _unit_problems(
    units: list[Any], leaf_codes: list[str], indicator_codes: list[str]
) -> list[Problem]:
    """Per unit, in file order: unknown sections, unknown indicators, then an empty assignment."""
    problems: list[Problem] = []
    for u, unit in enumerate(units):
        for s, code in enumerate(_items(unit, "sections")):
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
    return problems


def _duplicate_problems(
    units: list[Any], leaf_codes: list[str], indicator_codes: list[str]
) -> list[Problem]:
    problems: list[Problem] = []
    for kind, codes in (
        ("section", leaf_codes),
        ("indicator", indicator_codes),
        ("unit", [str(x.get("code")) for x in units if isinstance(x, dict)]),
    ):
        for code in sorted({c for c in codes if codes.count(c) > 1}):
            problems.append(((f"{kind}s",), f"{kind} code {code!r} is used twice"))
    return problems


def _unanswered_section_problems(leaves: list[dict[str, Any]], units: list[Any]) -> list[Problem]:
    answered = {str(code) for unit in units for code in _items(unit, "sections")}
    problems: list[Problem] = []
    for section in leaves:
        if (
            section.get("written_by", "units") == "units"
            and str(section.get("code")) not in answered
            and units
        ):
            problems.append(
                (
                    ("sections",),
                    f"section {section.get('code')} "
                    f"({section.get('title')}) is written by units but no unit answers "
                    "it; assign it to a unit or set `written_by: secretariat`",
                )
            )
    return problems


def _lead_unit_problems(leaves: list[dict[str, Any]], units: list[Any]) -> list[Problem]:
    units_by_code = {str(x.get("code")): x for x in units if isinstance(x, dict)}
    problems: list[Problem] = []
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
