"""Everything the consolidated report says, gathered from the database (DESIGN §8)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from models.report import CycleText
from models.tables import Cycle, DataRequest
from reportcycle.lookup import counted_submission, regime_of, submissions_by_request
from reportcycle.regime.schema import Regime
from reportcycle.report.merge import UnitContribution

SECRETARIAT = "Văn phòng (cán bộ tổng hợp)"


@dataclass(frozen=True)
class Gathered:
    cycle: Cycle
    regime: Regime
    units: int  # requests in the cycle
    contributions: tuple[UnitContribution, ...]  # counted versions, in the regime's unit order
    not_replied: tuple[str, ...]  # unit names: no reply at all
    not_counted: tuple[str, ...]  # "<unit>: <why>", replied but nothing usable yet
    late: tuple[str, ...]  # unit names whose counted version came after the deadline
    texts: dict[str, list[str]]  # the secretariat's sections: code -> paragraphs
    text_sources: dict[str, str]


def gather(db: Session, cycle: Cycle) -> Gathered:
    regime = regime_of(db, cycle)
    order = {u.code: i for i, u in enumerate(regime.units)}
    requests = sorted(
        db.exec(select(DataRequest).where(DataRequest.cycle_id == cycle.id)).all(),
        key=lambda r: (order.get(r.unit_code, len(order)), r.id or 0),
    )
    versions = submissions_by_request(db, cycle)
    contributions, not_replied, not_counted, late = [], [], [], []
    for request in requests:
        found = versions.get(request.id or 0, [])
        counted = counted_submission(found)
        if not found:
            not_replied.append(request.unit_name)
            continue
        if counted is None:
            not_counted.append(f"{request.unit_name}: {_why_not_counted(found[-1].review)}")
            continue
        if found[-1].id != counted.id:
            not_counted.append(
                f"{request.unit_name}: bản gửi lần {found[-1].version} "
                f"{_why_not_counted(found[-1].review)}; dự thảo dùng bản lần {counted.version}"
            )
        if counted.late:
            late.append(request.unit_name)
        contributions.append(
            UnitContribution(
                unit_code=request.unit_code,
                unit_name=request.unit_name,
                sections=counted.sections,
                indicators=counted.indicators,
                received_at=counted.received_at,
            )
        )
    texts = db.exec(
        select(CycleText).where(CycleText.cycle_id == cycle.id).order_by(col(CycleText.id))
    ).all()
    return Gathered(
        cycle=cycle,
        regime=regime,
        units=len(requests),
        contributions=tuple(contributions),
        not_replied=tuple(not_replied),
        not_counted=tuple(not_counted),
        late=tuple(late),
        texts={t.section_code: list(t.paragraphs) for t in texts},
        text_sources={t.section_code: t.source_name for t in texts},
    )


def _why_not_counted(review: str) -> str:
    return {
        "pending": "đang chờ rà soát",
        "rejected": "đã bị từ chối",
    }.get(review, "chưa được chấp nhận")
