"""The `open-cycle` flow's tasks: each a domain step wrapped once (`.fn` is the plain path)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from reportcycle.cycle import opening, request_emails

create_cycle = task(name="create_cycle", cache_policy=NO_CACHE)(opening.create_cycle)
queue_requests = task(name="queue_requests", cache_policy=NO_CACHE)(request_emails.queue_requests)
record_request_outcomes = task(name="record_request_outcomes", cache_policy=NO_CACHE)(
    request_emails.record_request_outcomes
)
