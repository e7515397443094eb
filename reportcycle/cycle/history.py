"""A cycle compared with an earlier one, following the units' lineage: a merged unit's earlier
figures are its predecessors' together, a renamed unit's are its old self's, under the names
they had then (each request keeps the unit's name at the time).

`compare_cycles` is the data behind `reportcycle status CODE --compare EARLIER`; the JSON is
`reportcycle.compare/1` (README "Units that change between cycles").
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from models.tables import Cycle, DataRequest, Unit
from reportcycle.lookup import counted_submission, submissions_by_request

SCHEMA = "reportcycle.compare/1"


def successor_in(units: dict[int, Unit], unit_id: int, wanted: set[int]) -> int | None:
    """The unit among `wanted` that `unit_id` became, following successors; None if it ended."""
    seen: set[int] = set()
    current: int | None = unit_id
    while current is not None and current not in seen:
        if current in wanted:
            return current
        seen.add(current)
        unit = units.get(current)
        current = unit.successor_id if unit else None
    return None


def compare_cycles(db: Session, cycle: Cycle, earlier: Cycle) -> dict[str, Any]:
    units = {u.id or 0: u for u in db.exec(select(Unit)).all()}
    now_rows = _rows(db, cycle)
    then_rows = _rows(db, earlier)
    wanted = {row["unit_id"] for row in now_rows}
    history: dict[int, list[dict[str, Any]]] = {unit_id: [] for unit_id in wanted}
    ended: list[dict[str, Any]] = []
    for row in then_rows:
        target = successor_in(units, row["unit_id"], wanted)
        (history[target] if target is not None else ended).append(row)
    lines = [_line(row, history[row["unit_id"]]) for row in now_rows]
    with_history = [line for line in lines if line["earlier"]]
    reported = [line for line in with_history if line["earlier_counted"]]
    return {
        "schema": SCHEMA,
        "cycle": cycle.code,
        "earlier": earlier.code,
        "units": lines,
        "ended": [_public(row) for row in ended],
        "totals": {
            "units": len(lines),
            "counted": sum(1 for line in lines if line["counted"]),
            "reporting_rate": _rate(sum(1 for line in lines if line["counted"]), len(lines)),
            "earlier_units": len(then_rows),
            "earlier_counted": sum(1 for row in then_rows if row["counted"]),
            "earlier_reporting_rate": _rate(
                sum(1 for row in then_rows if row["counted"]), len(then_rows)
            ),
            # today's units that existed then (themselves or their predecessors), and how many
            # of them reported then in full (every predecessor counted)
            "with_history": len(with_history),
            "earlier_rate_of_today_units": _rate(len(reported), len(with_history)),
        },
    }


def _rows(db: Session, cycle: Cycle) -> list[dict[str, Any]]:
    requests = db.exec(
        select(DataRequest).where(DataRequest.cycle_id == cycle.id).order_by(col(DataRequest.id))
    ).all()
    versions = submissions_by_request(db, cycle)
    rows = []
    for request in requests:
        counted = counted_submission(versions.get(request.id or 0, []))
        values = {  # stored as decimal text ("212000"): as numbers here
            code: _sum([entry.get("value")])
            for code, entry in (counted.indicators if counted else {}).items()
            if isinstance(entry, dict) and _number(entry.get("value")) is not None
        }
        rows.append(
            {
                "unit_id": request.unit_id,
                "unit": request.unit_code,
                "name": request.unit_name,
                "counted": counted is not None,
                "indicators": values,
            }
        )
    return rows


def _line(row: dict[str, Any], earlier: list[dict[str, Any]]) -> dict[str, Any]:
    codes = sorted({*row["indicators"], *(c for e in earlier for c in e["indicators"])})
    then = [e["indicators"] for e in earlier]
    return {
        **_public(row),
        "earlier": [_public(e) for e in earlier],
        "earlier_counted": bool(earlier) and all(e["counted"] for e in earlier),
        "indicators": {
            code: {
                "value": row["indicators"].get(code),
                "earlier": _sum([values[code] for values in then if code in values]),
            }
            for code in codes
        },
    }


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("unit", "name", "counted")}


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def _sum(values: list[Any]) -> int | float | None:
    if not values:
        return None
    total = sum((_number(v) or Decimal(0) for v in values), Decimal(0))
    return int(total) if total == total.to_integral_value() else float(total)


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0
