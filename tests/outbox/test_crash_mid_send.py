"""A sender killed (SIGKILL, a real `reportcycle cycle open`) while a slow outside relay takes
its messages leaves at most the message in flight in doubt; the rest go out exactly once."""

from __future__ import annotations

import asyncio
import os
import pty
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bench.open_cycle import synthetic_regime
from models.db import session
from models.settings import Settings
from models.tables import MessageStatus, OutboundMessage
from reportcycle.outbox.local_server import LocalMailServer, MaildirHandler
from tests.conftest import REPO
from tests.factories import maildir_messages, run_cli

pytestmark = pytest.mark.slow

UNITS = 30
CYCLE = "dong-nai-ttdn-6-thang-2024-H1"


class SlowRelay(MaildirHandler):
    """An outside relay that takes 0.5 s per message, then keeps it (whatever the client does)."""

    started = 0  # DATA commands begun

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.started += 1
        await asyncio.sleep(0.5)
        return await super().handle_DATA(server, session, envelope)


def _statuses() -> Counter[str]:
    with session() as db:
        return Counter(str(r.status) for r in db.exec(select(OutboundMessage)).all())


def _wait_for_data(relay: SlowRelay, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        if relay.started >= count:
            return
        if process.poll() is not None:
            pytest.fail(f"cycle open ended before it was killed: {process.stderr}")
        time.sleep(0.05)
    pytest.fail(f"fewer than {count} messages reached the relay in time")


def test_killed_open_leaves_only_the_message_in_flight_in_doubt(
    settings: Settings, prefect: str, tmp_path: Path
) -> None:
    regime = synthetic_regime(UNITS, tmp_path / "regime.yaml")
    relay_box = tmp_path / "relay"
    handler = SlowRelay(relay_box)
    with LocalMailServer(relay_box, handler=handler) as relay:
        env = {
            **os.environ,
            "PREFECT_API_URL": prefect,
            "REPORTCYCLE_SMTP_URL": f"smtp://{relay.host}:{relay.port}",
            "REPORTCYCLE_SMTP_CONNECTIONS": "1",
        }
        opening = subprocess.Popen(
            [sys.executable, "-m", "reportcycle.cli", "cycle", "open", str(regime)]
            + ["--period", "2024-H1", "--now", "2024-06-17T08:00"],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        # The 4th DATA begins only once the 3rd's answer is committed and the 4th is marked.
        _wait_for_data(handler, 4, opening)
        opening.send_signal(signal.SIGKILL)  # the 4th message is in its DATA right now
        assert opening.wait(timeout=30) == -signal.SIGKILL
        time.sleep(1)  # the relay finishes taking the 4th although its client is gone

        assert _statuses() == Counter({"sent": 3, "sending": UNITS - 3})
        with session() as db:
            rows = db.exec(select(OutboundMessage)).all()
            assert sum(r.attempted_at is not None for r in rows if r.status == "sending") == 1

        # The next send (within the lease; its sender is dead): the 26 never attempted go
        # out without a person; the one in flight cannot be checked on this relay: uncertain.
        again = run_cli("outbox", "send", "--now", "2024-06-17T08:02", env=env)
        assert again.returncode == 0, again.stderr
        assert "26 sent" in again.stdout
        assert "27 left by a stopped sender resolved (1 of them uncertain)" in again.stdout

    assert _statuses() == Counter({"sent": UNITS - 1, "uncertain": 1})
    arrived = Counter(str(m["Message-ID"]) for m in maildir_messages(relay_box))
    assert set(arrived.values()) == {1}  # nothing twice
    with session() as db:
        rows = db.exec(select(OutboundMessage)).all()
    (doubt,) = [r for r in rows if r.status == MessageStatus.UNCERTAIN]
    # Every other message arrived; the one in doubt may or may not have (aiosmtpd drops a
    # DATA whose client vanished): exactly why a person decides.
    assert set(arrived) - {doubt.message_id} == {r.message_id for r in rows if r is not doubt}
    assert "not sent again automatically" in (doubt.last_error or "")

    refused = run_cli("outbox", "resend", "--cycle", CYCLE)  # no terminal, no --yes
    assert refused.returncode == 1
    assert "run again with --yes" in refused.stderr
    assert doubt.subject in refused.stdout
    assert doubt.idempotency_key in refused.stdout
    assert doubt.recipients[0] in refused.stdout
    assert _statuses()["uncertain"] == 1

    both = run_cli("outbox", "resend", str(doubt.id), "--cycle", CYCLE)
    assert both.returncode == 1
    assert "exactly one" in both.stderr
    everywhere = run_cli("outbox", "resend", "--all-uncertain")
    assert everywhere.returncode == 1
    assert "1 uncertain message(s) in any cycle will be sent again" in everywhere.stdout

    declined = _answer_on_a_terminal("n", "outbox", "resend", "--cycle", CYCLE)
    assert declined.returncode == 1
    assert "Send these 1 message(s) again? [y/N]" in declined.stdout
    assert "nothing sent again" in declined.stderr
    assert _statuses()["uncertain"] == 1
    confirmed = _answer_on_a_terminal("y", "outbox", "resend", "--cycle", CYCLE)
    assert confirmed.returncode == 0, confirmed.stderr
    assert "1 message(s) queued again" in confirmed.stdout
    assert _statuses() == Counter({"sent": UNITS - 1, "queued": 1})
    assert run_cli("outbox", "resend", "--all-uncertain", "--yes").returncode == 0  # none left


def _answer_on_a_terminal(answer: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`reportcycle ARGS` with its stdin on a pseudo-terminal, answering the question."""
    controller, terminal = pty.openpty()
    try:
        os.write(controller, f"{answer}\n".encode())
        return subprocess.run(
            [sys.executable, "-m", "reportcycle.cli", *args],
            cwd=REPO,
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(terminal)
        os.close(controller)
