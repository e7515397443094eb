"""Prefect's flow-run heartbeat without its exit wait.

Prefect 3's engine starts a thread per flow run that emits a heartbeat every
`PREFECT_FLOWS_HEARTBEAT_FREQUENCY` seconds (180 by default); the server marks a run whose
heartbeats stop as crashed. The thread sleeps in 1 s steps and the engine joins it when the run
ends, so every flow run waited up to 1 s (0.5 s on average) for nothing: about 4 s of a cycle's
five runs. Here the thread waits on the stop event itself, so it ends the moment the run does.
Heartbeats are emitted as before (first one at the start, then every interval), so crashed
runs are still detected.

`install()` replaces `prefect.flow_engine._send_heartbeats`, which the engine looks up at each
run; tests/flows/test_heartbeat.py fails if the wait comes back (a Prefect upgrade that
changes this function makes `install()` leave Prefect's own in place, and the test says so).
"""

from __future__ import annotations

import contextvars
import inspect
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from prefect import flow_engine

_EXPECTED = ["engine", "join_on_exit"]


@contextmanager
def send_heartbeats(engine: Any, join_on_exit: bool = True) -> Iterator[None]:
    """Prefect's `_send_heartbeats`, with an interruptible wait between heartbeats."""
    seconds = engine.heartbeat_seconds
    if seconds is None:
        yield
        return
    seconds = max(seconds, flow_engine.MINIMUM_HEARTBEAT_INTERVAL)
    resource, related = engine._build_heartbeat_event_template()
    stop = threading.Event()

    def beat() -> None:
        while not stop.is_set():
            run = engine.flow_run
            if run and run.state and run.state.is_final():
                return
            try:
                engine._emit_flow_run_heartbeat(resource, related)
            except Exception:
                engine.logger.debug("Failed to emit heartbeat", exc_info=True)
            stop.wait(seconds)

    # The thread sees the caller's settings context (PREFECT_API_URL), as Prefect's does.
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(beat,), daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        if join_on_exit:
            thread.join(timeout=2)


def install() -> bool:
    """Use `send_heartbeats` for every flow run of this process; False (and Prefect's own left in
    place) if this Prefect's function is not the one this replaces."""
    current = getattr(flow_engine, "_send_heartbeats", None)
    if current is send_heartbeats:
        return True
    if current is None or list(inspect.signature(current).parameters) != _EXPECTED:
        return False
    flow_engine._send_heartbeats = send_heartbeats
    return True
