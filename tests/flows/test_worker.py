"""prefect.yaml run for real: a Prefect server on PostgreSQL, the deployments created from the
file with `prefect deploy`, and a `prefect worker` on a process pool running their flow runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from models.db import session
from models.inbound import InboundMessage, InboundStatus
from models.settings import Settings
from models.tables import DataRequest, OutboundMessage
from reportcycle.cycle.request_emails import render_form
from reportcycle.documents import form_fill
from reportcycle.outbox.local_server import free_port
from tests.conftest import POSTGRES_URL, REPO, _drop_postgres_database, _fresh_postgres_database
from tests.factories import deliver, maildir_messages, open_reference_cycle, reply_with_form

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(POSTGRES_URL is None, reason="needs REPORTCYCLE_TEST_POSTGRES_URL"),
]
PREFECT = str(Path(sys.executable).with_name("prefect"))
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture
def server_env(tmp_path: Path, settings: Settings) -> Iterator[dict[str, str]]:
    """A Prefect server backed by a fresh PostgreSQL database; the environment to reach it."""
    assert POSTGRES_URL is not None
    database = _fresh_postgres_database(POSTGRES_URL)
    port = free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_API_DATABASE_CONNECTION_URL": database.replace("+psycopg", "+asyncpg"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "REPORTCYCLE_CHECKOUT": str(REPO),  # prefect.yaml's pull step
        "PYTHONPATH": str(REPO),
    }
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_healthy(env["PREFECT_API_URL"], server, tmp_path / "server.log")
        yield env
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
        _drop_postgres_database(POSTGRES_URL, database)


def _wait_healthy(api: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, log.read_text()
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    pytest.fail(f"the Prefect server did not come up:\n{log.read_text()}")


def _prefect(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [PREFECT, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _run(env: dict[str, str], deployment: str, *params: str) -> str:
    output = _prefect(env, "deployment", "run", deployment, *params)
    found = UUID.search(output.split("UUID")[-1]) or UUID.search(output)
    assert found, output
    return found.group(0)


def _final_state(api: str, run_id: str, timeout: float = 240) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = httpx.get(f"{api}/flow_runs/{run_id}", timeout=10).json()["state"]
        if state and state["type"] in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return dict(state)
        time.sleep(1)
    pytest.fail(f"flow run {run_id} did not finish in {timeout} s")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_process_worker_runs_the_collect_and_chase_deployments_of_prefect_yaml(
    settings: Settings, server_env: dict[str, str], tmp_path: Path
) -> None:
    env, api = server_env, server_env["PREFECT_API_URL"]
    open_reference_cycle()
    with session() as db:
        request = db.exec(select(DataRequest).where(DataRequest.unit_code == "BDN")).one()
        assert request.id is not None
        _, blank = render_form(db, request_id=request.id, settings=settings)
    form = form_fill.fill_form(
        blank, sections={"3b": ["Nội dung của Báo Đồng Nai."]}, indicators={}
    )
    deliver(
        settings.inbox_maildir,
        reply_with_form(token=request.token, sender=request.to_addresses[0], form=form),
    )

    _prefect(env, "work-pool", "create", "reportcycle", "--type", "process")
    deployed = _prefect(
        env, "--no-prompt", "deploy", "--name", "collect-submissions", "--name", "chase-late-units"
    )
    assert "collect-submissions" in deployed
    assert "chase-late-units" in deployed
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen(
        [PREFECT, "worker", "start", "--pool", "reportcycle", "--type", "process"],
        cwd=tmp_path,  # the pull step, not the worker's directory, finds the checkout
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        collect = _run(env, "collect-submissions/collect-submissions")
        state = _final_state(api, collect)
        assert state["type"] == "COMPLETED", (tmp_path / "worker.log").read_text()
        chase = _run(
            env, "chase-late-units/chase-late-units", "--param", 'now="2024-06-26T08:00:00+07:00"'
        )
        state = _final_state(api, chase)
        assert state["type"] == "COMPLETED", (tmp_path / "worker.log").read_text()
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        log.close()

    with session() as db:
        (inbound,) = db.exec(select(InboundMessage)).all()
        reminders = db.exec(select(OutboundMessage).where(OutboundMessage.kind == "reminder")).all()
    assert inbound.status != InboundStatus.STORED  # the collect run read the planted reply
    assert inbound.request_id == request.id
    answers = [
        m
        for m in maildir_messages(settings.sent_maildir)
        if str(m["In-Reply-To"]) == inbound.message_id
    ]
    assert len(answers) == 1  # the receipt
    # The chase run, at 26/6 (after the deadline), reminded the 7 units that never answered.
    assert {r.status for r in reminders} == {"sent"}
    assert request.id not in {r.request_id for r in reminders}
    assert len(reminders) == 7
