"""Benchmark (not a test): peak memory of a collect run that receives big mail.

    .venv/bin/python bench/collect_big_mail.py [--messages 20] [--mb 30] [--plain]

Opens a cycle of N synthetic units, drops N replies each carrying an attachment of MB
megabytes (random bytes, so base64 ~1.37x on the wire) in the inbox, then runs a real
`reportcycle collect` process (`--plain`: the collect step without Prefect) and reads its
peak RSS from the kernel (wait4). Every reply must be stored and refused as too large.
Target on the 2-core reference machine: peak RSS <= 300 MB, whatever arrives.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.open_cycle import synthetic_regime  # noqa: E402

TARGET_MB = 300
PLAIN = (
    "from reportcycle.clock import parse_now; from reportcycle.inbox.collect import collect_mail;"
    " from reportcycle.outbox.sending import send_outbox; at = parse_now('2024-06-19T10:00');"
    " print(collect_mail(at)); send_outbox(at)"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--mb", type=float, default=30.0)
    parser.add_argument("--plain", action="store_true", help="collect_mail without Prefect")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout to measure")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rc-bench-bigmail-"))
    os.environ["REPORTCYCLE_HOME"] = str(work / "home")
    cycle_id = open_cycle(synthetic_regime(args.messages, work / "regime.yaml"))
    start = time.perf_counter()
    written = fill_inbox(cycle_id, int(args.mb * 2**20))
    print(f"setup: {written} replies of {args.mb:g} MB in {time.perf_counter() - start:.1f} s")

    command = ["-c", PLAIN] if args.plain else ["-m", "reportcycle.cli", "collect"]
    command += [] if args.plain else ["--now", "2024-06-19T10:00"]
    env = {
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",  # a busy 2-core machine
        **os.environ,
        "PYTHONPATH": str(args.repo),
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, *command], cwd=args.repo, env=env)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    peak_mb = usage.ru_maxrss / 1024  # kilobytes on Linux
    print(f"collect: exit {os.waitstatus_to_exitcode(status)} in {seconds:.1f} s")
    from models.settings import get_settings

    refused, stored = outcomes()
    too_large = args.mb * 2**20 > get_settings().max_attachment_bytes
    print(f"stored raw: {stored}, refused as too large: {refused} of {written}")
    expected = written if too_large else 0  # under the limit: read, whatever the outcome
    ok = stored == written and refused == expected
    verdict = "PASS" if peak_mb <= TARGET_MB and ok else "MISS"
    print(f"peak RSS: {peak_mb:.0f} MB (target <= {TARGET_MB} MB) {verdict}")


def open_cycle(regime_path: Path) -> int:
    from models.db import migrate, session
    from reportcycle.clock import VN_TZ
    from reportcycle.cycle import opening
    from reportcycle.regime.loading import load_regime

    now = datetime(2024, 6, 17, 8, tzinfo=VN_TZ)
    migrate()
    with session() as db:
        opened = opening.open_cycle(
            db, loaded=load_regime(regime_path), period_code="2024-H1", request=None, now=now
        )
        db.commit()
    return opened.cycle_id


def fill_inbox(cycle_id: int, size: int) -> int:
    """One reply per unit: a small body and a big scanned annex (one random blob, reused)."""
    from sqlmodel import select

    from models.db import session
    from models.settings import get_settings
    from models.tables import DataRequest
    from tests.factories import deliver, reply_with_form

    extra = [("Bản chụp có chữ ký.pdf", os.urandom(size), "application/pdf")]
    model = reply_with_form(token="TOKEN", sender="SENDER@x", form=None, extra=extra)
    head, body = model.split(b"\r\n\r\n", 1)  # built once; each copy gets its own headers
    inbox = get_settings().inbox_maildir
    inbox.parent.mkdir(parents=True, exist_ok=True)
    with session() as db:
        rows = db.exec(select(DataRequest).where(DataRequest.cycle_id == cycle_id)).all()
        for number, request in enumerate(rows):
            mine = head.replace(b"TOKEN", request.token.encode())
            mine = mine.replace(b"SENDER@x", request.to_addresses[0].encode())
            mine = mine.replace(b"@unit.example.org>", f".{number}@unit.example.org>".encode())
            deliver(inbox, mine + b"\r\n\r\n" + body)
    return len(rows)


def outcomes() -> tuple[int, int]:
    from sqlmodel import select

    from models.db import session
    from models.inbound import InboundMessage

    with session() as db:
        rows = db.exec(select(InboundMessage.reason, InboundMessage.size)).all()
    return sum(r == "attachment_too_large" for r, _ in rows), len(rows)


if __name__ == "__main__":
    main()
