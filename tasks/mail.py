"""Mail tasks: sending the outbox (used by every flow after it queues messages)."""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime

from prefect import task
from prefect.cache_policies import NO_CACHE

from models.settings import get_settings
from reportcycle.outbox.sending import SendReport, send_pending
from reportcycle.outbox.smtp import open_transport


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def send_outbox_now(now: datetime, cycle_id: int | None = None) -> SendReport:
    """Send every due message over one connection per batch (the plain function)."""
    settings = get_settings()
    with open_transport(settings) as transport:
        return send_pending(
            now=now,
            transport=transport,
            worker=worker_name(),
            batch_size=settings.send_batch_size,
            retry_delays=settings.send_retry_delays,
            lease_seconds=settings.sending_lease_seconds,
            cycle_id=cycle_id,
        )


@task(name="send_outbox", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=[10, 60])
def send_outbox(now: datetime, cycle_id: int | None = None) -> SendReport:
    return send_outbox_now(now, cycle_id)
