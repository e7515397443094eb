"""The `collect-submissions` flow's task: the whole inbox in one task run (a task per message
would cost Prefect ~10 ms each). It retries, as it reads a mailbox over the network."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from reportcycle.inbox import collect

collect_mail = task(
    name="collect_mail", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[10, 60]
)(collect.collect_mail)
