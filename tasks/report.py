"""The `consolidate-report` flow's tasks: each a domain step wrapped once."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from reportcycle.report import runs

render_draft = task(name="render_draft", cache_policy=NO_CACHE)(runs.render_draft)
record_decision = task(name="record_decision", cache_policy=NO_CACHE)(runs.record_decision)
