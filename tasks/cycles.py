"""Tasks that open a cycle: thin wrappers over reportcycle.cycles (each opens its own session)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from models.db import session
from models.settings import get_settings
from reportcycle.cycle import opening, request_emails
from reportcycle.regime.loading import load_regime
from reportcycle.superior_request import SuperiorRequest


@task(name="create_cycle", cache_policy=NO_CACHE)
def create_cycle(
    regime_path: str, period: str, request: SuperiorRequest | None, now: datetime
) -> opening.OpenedCycle:
    loaded = load_regime(Path(regime_path))
    with session() as db:
        opened = opening.open_cycle(db, loaded=loaded, period_code=period, request=request, now=now)
        db.commit()
    return opened


@task(name="queue_requests", cache_policy=NO_CACHE)
def queue_requests(cycle_id: int, now: datetime) -> int:
    """Render forms and queue request emails for every unit not yet queued (one batch)."""
    with session() as db:
        count = request_emails.queue_request_emails(
            db, cycle_id=cycle_id, now=now, settings=get_settings()
        )
        db.commit()
    return count


@task(name="record_request_outcomes", cache_policy=NO_CACHE)
def record_request_outcomes(cycle_id: int, now: datetime) -> None:
    with session() as db:
        request_emails.sync_request_status(db, cycle_id=cycle_id, now=now)
        db.commit()
