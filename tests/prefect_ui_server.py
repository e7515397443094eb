"""A Prefect server with its UI, for the tests that look at it in a browser and for the demo.

The session's Prefect test harness serves the API only (it starts its server with
PREFECT_UI_ENABLED=0); this one is `prefect server start`, UI on, on a free port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.browser import stop_process_group


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body: bytes = response.read()
            return body
    except OSError:
        return None


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until the API is healthy and the UI's settings name this server's API."""
    deadline = time.monotonic() + 120  # first start copies the UI bundles and migrates
    while (settings := _get(f"{url}/ui-settings")) is None or _get(f"{url}/api/health") is None:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"prefect server at {url} did not start:\n{log.read_text()}")
        time.sleep(0.5)
    api_url = json.loads(settings)["api_url"]
    assert api_url == f"{url}/api", f"the UI would talk to {api_url}, not to this test's server"


@contextmanager
def ui_server(root: Path) -> Iterator[str]:
    """`prefect server start` on a free port, UI on, with its own PREFECT_HOME, database and
    UI files under `root`; yields its base URL and stops it (its process group) after."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= {
        "PREFECT_HOME": str(root / "home"),
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": f"sqlite+aiosqlite:///{root / 'prefect.db'}",
        "PREFECT_UI_STATIC_DIRECTORY": str(root / "ui"),  # rather than into the venv
        "PREFECT_UI_API_URL": f"{url}/api",  # what /ui-settings tells the browser to call
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-scheduler", "--no-late-runs"]
    log = root / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_serving(url, process, log)
        yield url
    finally:
        stop_process_group(process)
