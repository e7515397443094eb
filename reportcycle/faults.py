"""Fault injection for the exactly-once tests: `REPORTCYCLE_FAULT=after_store` makes the
process kill itself (SIGKILL, no clean-up) the first time it passes that checkpoint.

Unset in production; the tests set it on a subprocess to kill it at the worst moment."""

from __future__ import annotations

import os
import signal


def checkpoint(name: str) -> None:
    if os.environ.get("REPORTCYCLE_FAULT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
