"""Sending the outbox, the last task of every flow. It retries, as it talks to a mail server;
the outbox makes a retry send nothing twice."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from reportcycle.outbox import sending

send_outbox = task(
    name="send_outbox", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[10, 60]
)(sending.send_outbox)
