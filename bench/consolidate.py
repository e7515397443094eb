"""Benchmark (not a test): consolidation of N units' accepted replies, each unit its own text.

    .venv/bin/python bench/consolidate.py [--units 1000,2000,5000] [--tables-in-final 1]

Per N, in a fresh process (its peak RSS its own; soffice is a separate process): a cycle of
the reference regime with N synthetic units (bench/open_cycle.py), opened by the plain
function, no email sent; nine units in ten replied, each with its own paragraphs and figures
(bench/unit_replies.py), stored as the collector stores an accepted form (a Submission per
unit, in the shape contribution.py writes; reading forms is bench/collect.py's subject).
Then the consolidation as the flow runs it, each part timed where it runs: gather + merge
(the draft's context), the draft DOCX, the final DOCX, LibreOffice's PDF, and approval in all
(number, final, PDF, signature, archive, distribution queued). `--tables-in-final 1` (the
default) keeps the indicator tables in the final, so the PDF has the per-unit lists; the
reference regime leaves them in the draft only.
"""

from __future__ import annotations

import argparse
import functools
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.open_cycle import synthetic_regime  # noqa: E402
from reportcycle.clock import VN_TZ  # noqa: E402

OPEN_AT = datetime(2024, 6, 17, 8, tzinfo=VN_TZ)
REPLIED_AT = datetime(2024, 6, 19, 9, tzinfo=VN_TZ)
DRAFT_AT = datetime(2024, 6, 24, 10, tzinfo=VN_TZ)
APPROVE_AT = datetime(2024, 6, 25, 9, tzinfo=VN_TZ)
LATE_EVERY = 10  # one unit in ten never replies: the draft names it


def _regime(units: int, work: Path, tables_in_final: bool) -> Path:
    path = synthetic_regime(units, work / "regime.yaml")
    data = yaml.safe_load(path.read_text("utf-8"))
    data["report"] = {"indicator_tables_in_final": tables_in_final}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")
    return path


def set_up(units: int, work: Path, tables_in_final: bool) -> tuple[str, dict[str, int]]:
    """The cycle opened and its replies stored; the cycle's code and what the units sent."""
    from models.db import migrate, session
    from reportcycle.cycle import opening
    from reportcycle.regime.loading import load_regime

    migrate()
    loaded = load_regime(_regime(units, work, tables_in_final))
    with session() as db:
        opened = opening.open_cycle(
            db, loaded=loaded, period_code="2024-H1", request=None, now=OPEN_AT
        )
        db.commit()
        sent = _store_replies(db, opened.cycle_id)
        db.commit()
    return opened.code, sent


def _store_replies(db: Any, cycle_id: int) -> dict[str, int]:
    """One accepted submission per replying unit, its message stored beside it, in bulk."""
    from sqlalchemy import insert
    from sqlmodel import col, select

    from bench.unit_replies import UnitSpec, unit_replies
    from models.inbound import InboundMessage, Submission
    from models.tables import DataRequest

    rows = db.exec(
        select(DataRequest).where(DataRequest.cycle_id == cycle_id).order_by(col(DataRequest.id))
    ).all()
    replying = [(i, r) for i, r in enumerate(rows) if i % LATE_EVERY != LATE_EVERY - 1]
    specs = [
        UnitSpec(i, r.unit_name, tuple(r.section_codes), tuple(r.indicator_codes))
        for i, r in replying
    ]
    replies = unit_replies(specs)
    messages = [_message(cycle_id, request, k) for k, (_, request) in enumerate(replying)]
    db.execute(insert(InboundMessage), messages)
    ids = dict(
        db.exec(
            select(InboundMessage.request_id, InboundMessage.id).where(
                InboundMessage.cycle_id == cycle_id
            )
        ).all()
    )
    submissions = [
        _submission(cycle_id, request, ids[request.id], reply)
        for (_, request), reply in zip(replying, replies, strict=True)
    ]
    db.execute(insert(Submission), submissions)
    paragraphs = sum(len(t) for r in replies for t in r.sections.values())
    copied = [kind for r in replies for kind, _, _ in r.copied]
    return {
        "replies": len(replies),
        "paragraphs": paragraphs,
        "near": copied.count("near"),
        "exact": copied.count("exact"),
    }


def _message(cycle_id: int, request: Any, k: int) -> dict[str, Any]:
    from models.inbound import InboundStatus

    raw = f"Subject: [RC-{request.token}] Bao cao\r\n\r\n(bench)\r\n".encode()
    return {
        "dedupe_key": f"mid:<bench-{k}@example.org>",
        "sha256": f"{k:064x}",
        "message_id": f"<bench-{k}@example.org>",
        "source": "bench",
        "source_ref": str(k),
        "received_at": REPLIED_AT,
        "size": len(raw),
        "raw": raw,
        "from_address": request.to_addresses[0],
        "status": InboundStatus.ACCEPTED,
        "cycle_id": cycle_id,
        "request_id": request.id,
        "processed_at": REPLIED_AT,
        "details": {},
    }


def _submission(cycle_id: int, request: Any, inbound_id: int, reply: Any) -> dict[str, Any]:
    from reportcycle.documents.form_read import parse_number_vi

    sections = {
        code: [
            {"type": "paragraph", "style": "bullet", "text": t[2:]}
            if t.startswith("- ")
            else {"type": "paragraph", "style": "para", "text": t}
            for t in texts
        ]
        for code, texts in reply.sections.items()
    }
    indicators = {
        code: {"raw": raw, "value": str(parse_number_vi(raw)), "problem": None}
        for code, raw in reply.indicators.items()
    }
    return {
        "request_id": request.id,
        "cycle_id": cycle_id,
        "inbound_id": inbound_id,
        "version": 1,
        "received_at": REPLIED_AT,
        "kind": "form",
        "sections": sections,
        "indicators": indicators,
        "missing_sections": [],
        "missing_indicators": [],
        "warnings": [],
        "evidence": [],
    }


def _timing(parts: dict[str, float], label: str, module: Any, name: str) -> None:
    """Time every call of `module.name` (the real function, called as it is) under `label`."""
    real: Callable[..., Any] = getattr(module, name)

    @functools.wraps(real)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            parts[label] = parts.get(label, 0.0) + time.perf_counter() - start

    setattr(module, name, timed)


def consolidate(code: str) -> tuple[dict[str, float], dict[str, Any]]:
    """The draft, then its approval, as the flow's tasks run them; the parts timed inside."""
    from models.db import session
    from models.settings import get_settings
    from reportcycle.documents import convert
    from reportcycle.lookup import find_cycle
    from reportcycle.report import approval, drafts, render

    parts: dict[str, float] = {}
    _timing(parts, "gather", drafts, "gather")
    _timing(parts, "merge (context)", drafts, "build_report_context")
    _timing(parts, "DOCX (draft + final)", render, "render_docx")
    _timing(parts, "PDF (LibreOffice)", convert, "convert")
    settings = get_settings()
    info: dict[str, Any] = {}
    with session() as db:
        cycle = find_cycle(db, code)
        start = time.perf_counter()
        draft, _ = drafts.make_draft(db, cycle, now=DRAFT_AT, settings=settings)
        db.commit()
        parts["draft in all"] = time.perf_counter() - start
        start = time.perf_counter()
        decision = approval.Decision(approve=True, at=APPROVE_AT)
        final = approval.decide(db, cycle, draft, decision, settings=settings)
        db.commit()
        parts["approval in all"] = time.perf_counter() - start
        info.update(_document_figures(draft.docx, final.pdf or b""))
        info["near_duplicates"] = draft.summary.get("near_duplicates")
    return parts, info


def _document_figures(draft_docx: bytes, pdf: bytes) -> dict[str, Any]:
    import docx
    from pypdf import PdfReader

    document = docx.Document(io.BytesIO(draft_docx))
    return {
        "pages": len(PdfReader(io.BytesIO(pdf)).pages),
        "draft_tables": len(document.tables),
        "draft_largest_table_rows": max((len(t.rows) for t in document.tables), default=0),
    }


def run_one(units: int, tables_in_final: bool) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"rc-consolidate-{units}-"))
    os.environ["REPORTCYCLE_HOME"] = str(work / "home")
    start = time.perf_counter()
    code, sent = set_up(units, work, tables_in_final)
    setup = time.perf_counter() - start
    parts, info = consolidate(code)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"units": units, "setup": setup, "parts": parts, "sent": sent, **info, "rss_mb": rss}


COLUMNS = (
    ("gather", "gather"),
    ("merge", "merge (context)"),
    ("DOCX", "DOCX (draft + final)"),
    ("PDF", "PDF (LibreOffice)"),
    ("draft", "draft in all"),
    ("approval", "approval in all"),
)


def table(results: list[dict[str, Any]]) -> str:
    head = ["N", "paragraphs", "pages", *(c for c, _ in COLUMNS), "total", "ms/unit"]
    head += ["PDF s/page", "largest table rows", "peak RSS MB"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        p = r["parts"]
        total = p["draft in all"] + p["approval in all"]
        cells = [str(r["units"]), str(r["sent"]["paragraphs"]), str(r["pages"])]
        cells += [f"{p.get(key, 0.0):.2f}" for _, key in COLUMNS]
        cells += [f"{total:.2f}", f"{1000 * total / r['units']:.2f}"]
        cells += [f"{p['PDF (LibreOffice)'] / max(r['pages'], 1):.3f}"]
        cells += [str(r["draft_largest_table_rows"]), f"{r['rss_mb']:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", default="1000,2000,5000")
    parser.add_argument("--tables-in-final", type=int, default=1)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child process's N
    args = parser.parse_args()
    if args.one:
        print("RESULT " + json.dumps(run_one(args.one, bool(args.tables_in_final))), flush=True)
        return
    results = []
    for n in (int(x) for x in args.units.split(",")):
        load = os.getloadavg()
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(n), "--tables-in-final",
             str(args.tables_in_final)],
            check=False, capture_output=True, text=True,
        )  # fmt: skip
        if out.returncode != 0:  # LibreOffice's timeout, say: said, and the next N goes on
            tail = " | ".join(out.stderr.strip().splitlines()[-3:])
            print(f"N={n}: failed (exit {out.returncode}, load {load[0]:.2f}): {tail}", flush=True)
            continue
        line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT "))
        result = json.loads(line.removeprefix("RESULT "))
        result["load"] = load
        results.append(result)
        print(
            f"N={n}: set-up {result['setup']:.1f} s, {result['sent']}, near-duplicates flagged "
            f"{result['near_duplicates']}, load before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
            flush=True,
        )
        print(table([result]).splitlines()[-1], flush=True)  # this N's row, in case of a stop
    print(table(results))
    if len(results) < 2:
        return
    first, last = results[0], results[-1]
    ratio = _total(last) / _total(first)
    print(
        f"time {last['units']}/{first['units']}: {ratio:.2f}× for "
        f"{last['units'] / first['units']:.0f}× the units (target ≤ 5.5× for 5×)"
    )
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def _total(result: dict[str, Any]) -> float:
    return float(result["parts"]["draft in all"] + result["parts"]["approval in all"])


if __name__ == "__main__":
    main()
