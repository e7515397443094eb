"""How an indicator is aggregated, checked on the raw data: a sum of percentages means nothing
(95,5% + 100% is not 195,5%), a rate needs the indicators above and below its line."""

from __future__ import annotations

from typing import Any

Problem = tuple[tuple[Any, ...], str]

PERCENT_MEASURES = frozenset({"%", "phần trăm", "tỷ lệ %"})
_NUMERIC_ONLY = {"sum", "mean", "rate"}


def is_percent_measure(measure: object) -> bool:
    return str(measure or "").strip() in PERCENT_MEASURES


def aggregate_problems(indicators: list[Any]) -> list[Problem]:
    codes = {str(i.get("code")): i for i in indicators if isinstance(i, dict)}
    problems: list[Problem] = []
    for n, indicator in enumerate(indicators):
        if isinstance(indicator, dict):
            problems.extend(_one(n, indicator, codes))
    return problems


def _one(n: int, indicator: dict[str, Any], codes: dict[str, Any]) -> list[Problem]:
    aggregate = str(indicator.get("aggregate", "sum"))
    code = indicator.get("code")
    where = ("indicators", n, "aggregate")
    if aggregate == "sum" and is_percent_measure(indicator.get("measure")):
        return [
            (
                where,
                f"indicator {code!r} is a percentage: a sum of the units' percentages means "
                "nothing (95,5% + 100% = 195,5%); use `aggregate: rate` with `numerator:` and "
                "`denominator:` (the province's rate from the units' counts), `mean` or `list`",
            )
        ]
    if aggregate in _NUMERIC_ONLY and indicator.get("value_type") == "text":
        return [(where, f"indicator {code!r} is text; `{aggregate}` needs numbers, use `list`")]
    if aggregate != "rate":
        return [
            (("indicators", n, key), f"`{key}:` is only used with `aggregate: rate`")
            for key in ("numerator", "denominator")
            if indicator.get(key) is not None
        ]
    return _rate_parts(n, indicator, codes)


def _rate_parts(n: int, indicator: dict[str, Any], codes: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    for key in ("numerator", "denominator"):
        part = indicator.get(key)
        if part is None:
            problems.append(
                (
                    ("indicators", n, "aggregate"),
                    f"`aggregate: rate` needs `{key}:`, the code of the indicator counted "
                    + ("above" if key == "numerator" else "below")
                    + " the line (e.g. hồ sơ đúng hạn / hồ sơ tiếp nhận)",
                )
            )
        elif str(part) not in codes or str(part) == str(indicator.get("code")):
            known = sorted(c for c in codes if c != str(indicator.get("code")))
            problems.append(
                (("indicators", n, key), f"unknown indicator {part!r}; expected one of {known}")
            )
    return problems
