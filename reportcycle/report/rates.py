"""Indicators that are not summed: the mean of the units' percentages, and a province-level
rate from the units' numerators and denominators (Σ đúng hạn / Σ tiếp nhận × 100)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol

from reportcycle.regime.schema import Aggregate, Indicator
from reportcycle.vietnamese import format_number_vi

_PLACES = Decimal("0.1")  # rates to one decimal: "98,5"


class _Contribution(Protocol):
    @property
    def unit_name(self) -> str: ...

    @property
    def indicators(self) -> Mapping[str, Mapping[str, Any]]: ...


def _number(value: Mapping[str, Any] | None) -> Decimal | None:
    if not value or value.get("problem") or value.get("value") is None:
        return None
    try:
        return Decimal(str(value["value"]))
    except (InvalidOperation, TypeError):
        return None


def _shown(number: Decimal) -> str:
    rounded = number.quantize(_PLACES, rounding=ROUND_HALF_UP)
    return format_number_vi(rounded.normalize() if rounded == rounded.to_integral() else rounded)


def mean_value(indicator: Indicator, values: Sequence[Mapping[str, Any]]) -> tuple[str, int]:
    """The mean of the readable values and how many units it is over ("" when none)."""
    numbers = [n for v in values if (n := _number(v)) is not None]
    if not numbers:
        return "", 0
    return _shown(sum(numbers, Decimal(0)) / len(numbers)), len(numbers)


def rate_value(indicator: Indicator, contributions: Sequence[_Contribution]) -> tuple[str, int]:
    """Σ numerator / Σ denominator × 100 over the units that gave both; "" when none did or the
    denominators add up to zero."""
    assert indicator.aggregate == Aggregate.RATE
    assert indicator.numerator
    assert indicator.denominator
    above = below = Decimal(0)
    counted = 0
    for c in contributions:
        top = _number(c.indicators.get(indicator.numerator))
        bottom = _number(c.indicators.get(indicator.denominator))
        if top is not None and bottom is not None:
            above, below, counted = above + top, below + bottom, counted + 1
    if not counted or not below:
        return "", 0
    return _shown(above * 100 / below), counted
