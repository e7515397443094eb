"""The coordinator's view: in the Prefect UI, opened in headless Chromium, the run of
`open-cycle` shows the cycle's unit status table with every unit of the reference regime.

The session's Prefect test harness serves the API only (it starts its server with
PREFECT_UI_ENABLED=0), so this module starts a `prefect server start` of its own, UI on."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.artifacts import artifact_key
from flows.open_cycle import open_cycle
from models.settings import Settings
from reportcycle.clock import VN_TZ
from reportcycle.cycles import SuperiorRequest
from reportcycle.regime import load_regime
from tests.browser import CHROMIUM, Browser, BrowserError, stop_process_group
from tests.conftest import REFERENCE_REGIME, REPO

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: `make test` installs Debian chromium"
)

OUT = REPO / "test-output" / "ui"
RUN_NAME = "open-cycle 2024-H1"
KEY = artifact_key("units", "dong-nai-ttdn-6-thang-2024-H1")
HEADERS = ["Đơn vị", "Mã", "Mục", "Yêu cầu", "Trả lời", "Số lần gửi", "Trễ hạn", "Lỗi"]
UI_BASES = {"v1": "", "v2": "/v2"}  # Prefect 3.9 serves both; the root redirects to v2

# The first table on the page: its header cells and the cells of each body row.
TABLE_JS = """(() => {
  const table = document.querySelector("table");
  if (!table) return null;
  const cells = (node, tag) => [...node.querySelectorAll(tag)].map((c) => c.innerText.trim());
  return {
    headers: cells(table, "thead th"),
    rows: [...table.querySelectorAll("tbody tr")].map((tr) => cells(tr, "td")),
  };
})()"""


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


@pytest.fixture(scope="module")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`prefect server start` on a free port, UI on, with its own PREFECT_HOME, database and
    UI files under tmp; yields its base URL."""
    root = tmp_path_factory.mktemp("prefect-ui")
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


@pytest.fixture
def flow_run_id(settings: Settings, ui_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real `open-cycle` run of the reference regime, recorded by the UI's server."""
    api = f"{ui_server}/api"
    monkeypatch.setenv("PREFECT_API_URL", api)
    request = SuperiorRequest(
        ref="2608/CV/BTGTU", date=date(2024, 6, 10), sender="Ban Tuyên giáo Tỉnh ủy"
    )
    # Settings, not only the environment: the session's harness may have pinned its own URL.
    with temporary_settings(updates={PREFECT_API_URL: api}):
        state = open_cycle(
            str(REFERENCE_REGIME),
            "2024-H1",
            request,
            datetime(2024, 6, 17, 8, tzinfo=VN_TZ),
            return_state=True,
        )
    assert state.is_completed(), state
    return str(state.state_details.flow_run_id)


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    chromium = Browser(tmp_path / "chromium-profile")
    try:
        yield chromium
    finally:
        chromium.close()


def _walk_to_unit_table(browser: Browser, base: str, run_id: str, out: Path) -> object:
    """Runs list → the flow run → its Artifacts tab → the unit table; a screenshot each."""
    browser.navigate(f"{base}/runs")
    browser.wait_for_text(RUN_NAME)
    browser.screenshot(out / "1-runs.png")
    run_page = f"/runs/flow-run/{run_id}"
    browser.click(
        RUN_NAME, selector=f'a[href*="{run_page}"]', until=lambda: run_page in browser.url()
    )
    browser.click("Artifacts", until=lambda: browser.has_text(KEY))
    browser.screenshot(out / "2-flow-run-artifacts.png")
    browser.click(
        KEY,
        selector='a[href*="/artifacts/artifact/"]',
        until=lambda: "/artifacts/artifact/" in browser.url(),
    )
    names = [unit.name for unit in load_regime(REFERENCE_REGIME).regime.units]
    browser.wait_for_text(*HEADERS, *names)
    browser.screenshot(out / "3-unit-table.png")
    return browser.evaluate(TABLE_JS)


def _record_failure(browser: Browser, out: Path) -> str:
    """The page as it was when the walk failed: a screenshot and its text, saved and quoted."""
    try:
        shot = browser.screenshot(out / "failure.png")
        text = browser.text()
    except BrowserError as exc:  # the browser itself is gone
        return f"(no screenshot: {exc})"
    (out / "failure.txt").write_text(text)
    return f"screenshot: {shot}\npage text ({out / 'failure.txt'}):\n{text}"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the UI is under test here
@pytest.mark.parametrize("ui", list(UI_BASES))
def test_coordinator_sees_every_unit_of_the_cycle_in_the_prefect_ui_table(
    ui: str, ui_server: str, flow_run_id: str, browser: Browser
) -> None:
    out = OUT / ui
    shutil.rmtree(out, ignore_errors=True)
    try:
        table = _walk_to_unit_table(browser, ui_server + UI_BASES[ui], flow_run_id, out)
    except BrowserError as exc:
        pytest.fail(f"{exc}\n{_record_failure(browser, out)}")

    units = load_regime(REFERENCE_REGIME).regime.units
    assert isinstance(table, dict), f"no table on the artifact page; see {out}"
    assert table["headers"] == HEADERS
    assert [row[:2] for row in table["rows"]] == [[u.name, u.code] for u in units]
    assert {(row[3], row[4]) for row in table["rows"]} == {("sent", "chưa nhận")}
