"""A small headless-Chromium driver over the Chrome DevTools Protocol (CDP).

It starts the Debian `chromium` with a profile of its own and background networking off, and
speaks CDP over one websocket: no chromedriver, no browser download, no extra package."""

from __future__ import annotations

import base64
import itertools
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
    "--no-first-run",
    "--no-default-browser-check",
    "--hide-scrollbars",
    "--window-size=1440,1100",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",  # a free port, written to <profile>/DevToolsActivePort
]
CLICKABLE = "a, button, [role=tab], [role=tablist] > li"
CLICK = (("mouseMoved", "none"), ("mousePressed", "left"), ("mouseReleased", "left"))

# The smallest visible element matching the selector whose text holds the needle (the link,
# not the row around it), scrolled into view: its centre, or null if something covers it.
FIND_JS = """(([selector, needle]) => {
  const hits = [...document.querySelectorAll(selector)].filter(
    (el) => el.offsetParent !== null && el.innerText && el.innerText.includes(needle));
  hits.sort((a, b) => a.innerText.length - b.innerText.length);
  if (!hits.length) return null;
  hits[0].scrollIntoView({block: "center"});
  const r = hits[0].getBoundingClientRect();
  const [x, y] = [r.left + r.width / 2, r.top + r.height / 2];
  return hits[0].contains(document.elementFromPoint(x, y)) ? {x, y} : null;
})"""


class BrowserError(RuntimeError):
    pass


class Browser:
    """One headless Chromium with one page; every call blocks until CDP answers."""

    def __init__(self, profile: Path, *, executable: Path = CHROMIUM) -> None:
        profile.mkdir(parents=True, exist_ok=True)
        (profile / "DevToolsActivePort").unlink(missing_ok=True)  # a reused profile's is stale
        self._log = profile / "chromium.log"
        with self._log.open("wb") as log:
            self.process = subprocess.Popen(
                [str(executable), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # its helpers join its process group: close() ends all
            )
        self._ids = itertools.count(1)
        self._session: str | None = None
        try:
            self._ws = connect(self._endpoint(profile / "DevToolsActivePort"), max_size=None)
            target = self._send("Target.createTarget", {"url": "about:blank"})["targetId"]
            attached = self._send("Target.attachToTarget", {"targetId": target, "flatten": True})
            self._session = attached["sessionId"]
        except BaseException:
            self.close()
            raise

    def _endpoint(self, port_file: Path, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BrowserError(
                    f"chromium exited with {self.process.returncode}:\n"
                    + self._log.read_text(errors="replace")
                )
            lines = port_file.read_text().split() if port_file.exists() else []
            if len(lines) == 2:  # the port, then the browser's websocket path
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
            time.sleep(0.1)
        raise BrowserError(f"chromium wrote no {port_file} within {timeout:.0f} s")

    def _send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        call_id = next(self._ids)
        message: dict[str, Any] = {"id": call_id, "method": method, "params": params or {}}
        if self._session:
            message["sessionId"] = self._session
        self._ws.send(json.dumps(message))
        while True:  # events come in between; nothing here listens to them
            try:
                reply = json.loads(self._ws.recv(timeout=60))
            except TimeoutError as exc:
                raise BrowserError(f"{method}: no answer from chromium in 60 s") from exc
            if reply.get("id") == call_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self._send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise BrowserError(f"{expression[:80]}…: {result['exceptionDetails']}")
        return result["result"].get("value")

    def navigate(self, url: str) -> None:
        result = self._send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"{url}: {result['errorText']}")

    def url(self) -> str:
        return str(self.evaluate("location.href"))

    def text(self) -> str:
        """What the page shows: `document.body.innerText` (empty before there is a body)."""
        return str(self.evaluate("document.body ? document.body.innerText : ''"))

    def wait_for_text(self, *needles: str, timeout: float = 60) -> str:
        """Poll until the page shows every needle and return its text; or say what is missing."""
        deadline = time.monotonic() + timeout
        while True:
            text = self.text()
            missing = [n for n in needles if n not in text]
            if not missing:
                return text
            if time.monotonic() > deadline:
                raise BrowserError(f"after {timeout:.0f} s, {self.url()} still lacks {missing}")
            time.sleep(0.25)

    def click(
        self,
        needle: str,
        *,
        until: Callable[[], bool],
        selector: str = CLICKABLE,
        timeout: float = 60,
    ) -> None:
        """Click, with real mouse events, the visible element matching `selector` that shows
        `needle`, until `until()` holds. A single-page app moves things while it loads (a chart
        appears above the tabs), so it clicks only where the element has stood still for one
        poll and is on top, and clicks again if the click changed nothing."""
        find = f"{FIND_JS}({json.dumps([selector, needle])})"
        deadline = time.monotonic() + timeout
        last = None
        while not until():
            if time.monotonic() > deadline:
                raise BrowserError(f"after {timeout:.0f} s, clicking {needle!r} had no effect")
            point = self.evaluate(find)
            if point is not None and point == last:
                for kind, button in CLICK:
                    self._send(
                        "Input.dispatchMouseEvent",
                        {"type": kind, **point, "button": button, "clickCount": 1},
                    )
                point = None  # the next click waits for a new, still position
            last = point
            time.sleep(0.5)

    def has_text(self, *needles: str) -> bool:
        text = self.text()
        return all(n in text for n in needles)

    def screenshot(self, path: Path) -> Path:
        """The viewport as a PNG."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self._send("Page.captureScreenshot")["data"]))
        return path

    def close(self) -> None:
        ws = getattr(self, "_ws", None)
        if ws is not None:
            ws.close()
        stop_process_group(self.process)


def stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """End a process this test started, and the helpers in its process group."""
    for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
