"""The `chase-late-units` flow's task: one for every open cycle and unit (DESIGN §9)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from reportcycle.cycle import chase

queue_reminders = task(name="queue_reminders", cache_policy=NO_CACHE)(chase.queue_reminders)
