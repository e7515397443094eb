"""What bench/full_cycle.py starts around its steps: one Prefect server for the whole bench,
and the database of each run: SQLite in the run's home (the default), or a fresh PostgreSQL
database per N and mode on a server (`--database-url`, or `--postgres` for the checkout's
throwaway cluster from .ci/postgres.sh)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def throwaway_cluster() -> str:
    """Start (or reuse) the checkout's loopback PostgreSQL cluster and return its URL."""
    done = subprocess.run(
        ["bash", str(ROOT / ".ci" / "postgres.sh"), "start"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"could not start PostgreSQL: {done.stderr.strip()}")
    return done.stdout.strip().splitlines()[-1]


def fresh_database(server_url: str, name: str) -> str:
    """Drop and create database `name` on the server of `server_url`; return its URL.

    Each N and mode gets its own empty database, so a run never sees the previous one's rows
    (migrations run in the open step, as they do on SQLite)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError(f"--database-url must be a PostgreSQL URL, got {server_url!r}")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


def drop_database(server_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def prefect_server(root: Path) -> Iterator[str]:
    """One Prefect server for the whole bench, in its own process group; always stopped."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=str(root / "server-home"),
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_LOGGING_LEVEL="WARNING",
    )
    log = (root / "prefect-server.log").open("wb")
    prefect = Path(sys.executable).parent / "prefect"
    command = [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    start = time.perf_counter()
    server = subprocess.Popen(
        command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    url = f"http://127.0.0.1:{port}/api"
    try:
        wait_healthy(url, server)
        warm_up(url, env, root)
        seconds = time.perf_counter() - start
        print(f"Prefect server on {url}: started and warmed in {seconds:.1f} s (not counted)")
        yield url
    finally:
        try:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        except ProcessLookupError:
            pass
        log.close()


WARM_UP = """
from prefect import flow, task
@task
def nothing() -> None: ...
@flow(name="bench-warm-up")
def warm_up() -> None:
    nothing()
warm_up()
"""


def warm_up(url: str, env: dict[str, str], root: Path) -> None:
    """One empty flow run against the new server: a server's first requests load its routes
    and database (up to 2 s on the first `open`), which a server that runs all the time does
    not pay, so the bench does not count it."""
    client_env = {**env, "PREFECT_API_URL": url, "PREFECT_LOGGING_LEVEL": "WARNING"}
    client_env["PREFECT_HOME"] = str(root / "client-home")
    subprocess.run([sys.executable, "-c", WARM_UP], env=client_env, check=True, timeout=300)


def wait_healthy(url: str, server: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the Prefect server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the Prefect server did not answer on {url} within {timeout:.0f} s")


@contextmanager
def prefect_or_none(root: Path, wanted: bool) -> Iterator[str | None]:
    if not wanted:
        yield None
        return
    with prefect_server(root) as url:
        yield url
