"""The flow-run heartbeat keeps beating but no longer makes each run wait for its thread."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest
from prefect import flow_engine

from flows import heartbeat


class _Engine:
    """What the heartbeat needs of Prefect's flow run engine, counting the heartbeats."""

    heartbeat_seconds = 30
    flow_run = None
    logger = logging.getLogger("test-heartbeat")

    def __init__(self) -> None:
        self.first_beat = threading.Event()
        self.beats = 0

    def _build_heartbeat_event_template(self) -> tuple[dict[str, str], list[Any]]:
        return {}, []

    def _emit_flow_run_heartbeat(self, resource: object, related: object) -> None:
        self.beats += 1
        self.first_beat.set()


def test_every_flow_module_installs_the_heartbeat_without_the_exit_wait() -> None:
    import flows.chase_late_units
    import flows.collect_submissions
    import flows.consolidate_report
    import flows.open_cycle  # noqa: F401

    assert heartbeat.install(), "this Prefect's _send_heartbeats is not the one replaced"
    assert flow_engine._send_heartbeats is heartbeat.send_heartbeats


def test_a_run_beats_at_once_and_its_end_does_not_wait_for_a_sleeping_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    heartbeat.install()
    sleeps_off_main: list[float] = []
    real_sleep = time.sleep

    def spy(seconds: float) -> None:
        if threading.current_thread() is not threading.main_thread():
            sleeps_off_main.append(seconds)
        real_sleep(seconds)

    monkeypatch.setattr(time, "sleep", spy)
    engine = _Engine()
    before = set(threading.enumerate())
    with flow_engine._send_heartbeats(engine):
        assert engine.first_beat.wait(5), "no heartbeat at the start of the run"
        (beating,) = set(threading.enumerate()) - before
    assert not beating.is_alive()
    assert engine.beats == 1
    # Prefect's own thread sleeps in 1 s steps and the run's end waits for it to wake.
    assert sleeps_off_main == [], "the heartbeat thread sleeps: the exit wait is back"


def test_no_heartbeat_setting_means_no_thread() -> None:
    heartbeat.install()
    engine = _Engine()
    engine.heartbeat_seconds = None  # type: ignore[assignment]
    before = set(threading.enumerate())
    with flow_engine._send_heartbeats(engine):
        assert set(threading.enumerate()) == before
    assert engine.beats == 0
