"""The coordinator's view: the Prefect UI, opened in headless Chromium, on the server the demo
ran against (conftest `ui_server`, `demo_runs`): from the runs list to the demo's
consolidate-report run, its Artifacts tab, the unit status table with every unit of the
reference regime and what each answered, and the links to the report's files."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.artifacts import artifact_key
from reportcycle.regime.loading import load_regime
from tests.browser import CHROMIUM, Browser, BrowserError
from tests.conftest import REFERENCE_REGIME, REPO

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.libreoffice,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing: `make test` installs Debian chromium"
    ),
]

OUT = REPO / "test-output" / "ui"
CODE = "dong-nai-ttdn-6-thang-2024-H1"
RUN_NAME = f"consolidate {CODE}"
KEY = artifact_key("units", CODE)
REPORT_KEY = artifact_key("report", CODE)
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


@pytest.fixture(scope="module")
def consolidate_run(demo_runs: tuple[Path, list[subprocess.CompletedProcess[str]]]) -> str:
    """The id of the demo's consolidate-report run (its second demo), from what it printed."""
    _, (_, last) = demo_runs
    assert last.returncode == 0, last.stdout + last.stderr
    found = re.search(
        r"Lượt chạy consolidate-report: \S+/runs/flow-run/([0-9a-f-]{36})", last.stdout
    )
    assert found, last.stdout
    return found.group(1)


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
    table = browser.evaluate(TABLE_JS)
    browser.navigate(f"{base}{run_page}")
    browser.click("Artifacts", until=lambda: browser.has_text(REPORT_KEY))
    browser.click(  # the final's artifact, not the draft's under the same key
        "Báo cáo số 01/BC-UBND đã phát hành",
        selector='a[href*="/artifacts/artifact/"]',
        until=lambda: "/artifacts/artifact/" in browser.url(),
    )
    browser.wait_for_text("Báo cáo số 01/BC-UBND đã phát hành", ".pdf")
    browser.screenshot(out / "4-report-files.png")
    return table


def _record_failure(browser: Browser, out: Path) -> str:
    """The page as it was when the walk failed: a screenshot and its text, saved and quoted."""
    try:
        shot = browser.screenshot(out / "failure.png")
        text = browser.text()
    except BrowserError as exc:  # the browser itself is gone
        return f"(no screenshot: {exc})"
    (out / "failure.txt").write_text(text)
    return f"screenshot: {shot}\npage text ({out / 'failure.txt'}):\n{text}"


@pytest.mark.parametrize("ui", list(UI_BASES))
def test_coordinator_sees_the_demo_cycle_in_the_prefect_ui(
    ui: str, ui_server: str, consolidate_run: str, browser: Browser
) -> None:
    out = OUT / ui
    shutil.rmtree(out, ignore_errors=True)
    try:
        table = _walk_to_unit_table(browser, ui_server + UI_BASES[ui], consolidate_run, out)
    except BrowserError as exc:
        pytest.fail(f"{exc}\n{_record_failure(browser, out)}")

    units = load_regime(REFERENCE_REGIME).regime.units
    assert isinstance(table, dict), f"no table on the artifact page; see {out}"
    assert table["headers"] == HEADERS
    assert [row[:2] for row in table["rows"]] == [[u.name, u.code] for u in units]
    replies = {row[1]: row[4] for row in table["rows"]}
    assert replies.pop("SVHTTDL") == "chưa nhận"  # the unit that never answered
    assert set(replies.values()) == {"đã nhận"}
    assert {row[3] for row in table["rows"]} == {"đã gửi"}  # the requests, in Vietnamese too
