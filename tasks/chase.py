"""Chase tasks: reminders and digests for every open cycle (one task for all units)."""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from models.db import session
from models.settings import get_settings
from reportcycle.cycle.chase import ChaseReport, chase


def chase_now(now: datetime) -> ChaseReport:
    with session() as db:
        report = chase(db, now=now, settings=get_settings())
        db.commit()
    return report


@task(name="queue_reminders", cache_policy=NO_CACHE)
def queue_reminders(now: datetime) -> ChaseReport:
    return chase_now(now)
