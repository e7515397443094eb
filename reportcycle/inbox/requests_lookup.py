"""Matching needs to know the requests: the database behind `RequestLookup`."""

from __future__ import annotations

from sqlmodel import Session, col, select

from models.db import session
from models.tables import Cycle, CycleStatus, DataRequest, OutboundMessage, Unit
from reportcycle.inbox.matching import RequestRef
from reportcycle.lookup import regime_of


class DbLookup:
    """Requests by token and by the Message-ID of any email we sent for them.

    The requests of open cycles are loaded once, in one query per table: per-message queries
    were a fifth of the collector's time."""

    def __init__(self) -> None:
        self._by_token: dict[str, RequestRef] | None = None

    def _load(self) -> dict[str, RequestRef]:
        if self._by_token is None:
            with session() as db:
                cycles = {
                    c.id: c
                    for c in db.exec(
                        select(Cycle).where(col(Cycle.status) != CycleStatus.CLOSED)
                    ).all()
                }
                units = {u.id: u for u in db.exec(select(Unit)).all()}
                requests = db.exec(
                    select(DataRequest).where(col(DataRequest.cycle_id).in_(list(cycles)))
                ).all()
                texts = {cid: _text_indicators(db, c) for cid, c in cycles.items()}
                self._by_token = {
                    r.token: _make_ref(
                        r, cycles[r.cycle_id], units.get(r.unit_id), texts[r.cycle_id]
                    )
                    for r in requests
                }
        return self._by_token

    def by_token(self, token: str) -> RequestRef | None:
        return self._load().get(token)

    def by_message_id(self, message_id: str) -> RequestRef | None:
        with session() as db:
            request_id = db.exec(
                select(OutboundMessage.request_id).where(OutboundMessage.message_id == message_id)
            ).first()
            token = (
                db.exec(select(DataRequest.token).where(DataRequest.id == request_id)).first()
                if request_id
                else None
            )
        return self.by_token(token) if token else None


def request_ref(db: Session, request: DataRequest) -> RequestRef | None:
    """What matching and answering need to know of a request (None once its cycle closed)."""
    cycle = db.get(Cycle, request.cycle_id)
    if cycle is None or cycle.status == CycleStatus.CLOSED:
        return None  # a closed cycle takes no more replies: its token no longer matches
    return _make_ref(request, cycle, db.get(Unit, request.unit_id), _text_indicators(db, cycle))


def _text_indicators(db: Session, cycle: Cycle) -> tuple[str, ...]:
    """The cycle's indicators answered in words: their cells are read as text, not numbers."""
    return tuple(i.code for i in regime_of(db, cycle).indicators if i.value_type == "text")


def _make_ref(
    request: DataRequest, cycle: Cycle, unit: Unit | None, text_codes: tuple[str, ...] = ()
) -> RequestRef:
    emails = {
        *request.to_addresses,
        *(unit.emails if unit else []),
        *([unit.head_email] if unit and unit.head_email else []),
    }
    assert request.id is not None
    return RequestRef(
        request.id,
        request.cycle_id,
        cycle.code,
        request.token,
        request.unit_code,
        request.unit_name,
        tuple(sorted(emails)),
        tuple(request.section_codes),
        tuple(request.indicator_codes),
        request.deadline,
        tuple(c for c in request.indicator_codes if c in text_codes),
    )
