"""Inbox tasks: read the mailbox, store, process and answer (one task for the whole inbox:
a task per message would cost Prefect ~10 ms each)."""

from __future__ import annotations

from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from models.settings import get_settings
from reportcycle.inbox.collect import CollectReport, collect
from reportcycle.inbox.sources import source_from_settings


def collect_now(now: datetime) -> CollectReport:
    settings = get_settings()
    with source_from_settings(settings) as source:
        return collect(source=source, settings=settings, now=now)


@task(name="collect_mail", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[10, 60])
def collect_mail(now: datetime) -> CollectReport:
    return collect_now(now)
