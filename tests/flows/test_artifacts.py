"""Every flow run leaves, for the coordinator in the Prefect UI, a per-cycle table of units and
a progress artifact (received / expected) under keys that keep the latest version."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
from prefect.client.schemas.sorting import ArtifactSort

from flows.artifacts import artifact_key
from flows.chase_late_units import chase_late_units
from flows.collect_submissions import collect_submissions
from models.settings import Settings
from reportcycle.clock import VN_TZ
from tests.factories import deliver, open_reference_cycle
from tests.inbox.test_collect import _dptth_reply

pytestmark = pytest.mark.slow

CODE = "dong-nai-ttdn-6-thang-2024-H1"


def _latest(key: str) -> object:
    with get_client(sync_client=True) as client:
        found = client.read_artifacts(  # other tests on this server used the same keys
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    assert found, f"no artifact {key}"
    return found[0]


def test_collect_and_chase_runs_leave_the_unit_table_and_progress(
    settings: Settings, prefect: str
) -> None:
    open_reference_cycle()
    deliver(settings.inbox_maildir, _dptth_reply())
    result = collect_submissions(datetime(2024, 6, 19, 9, tzinfo=VN_TZ))
    assert result.outcomes == {"accepted": 1}
    state = chase_late_units(datetime(2024, 6, 21, 9, tzinfo=VN_TZ), return_state=True)
    chased = state.result()
    assert len(chased.reminders) == 7  # everyone but the unit that answered
    # published at once, from threads: each still belongs to the run that made it
    for prefix in ("units", "progress", "summary-chase"):
        artifact = _latest(artifact_key(prefix, CODE))
        assert artifact.flow_run_id == state.state_details.flow_run_id, prefix  # type: ignore[attr-defined]

    table = _latest(artifact_key("units", CODE))
    data = table.data  # type: ignore[attr-defined]
    rows = json.loads(data) if isinstance(data, str) else data  # stored as JSON text
    assert [r["Mã"] for r in rows] == [
        "SNGV",
        "STTTT",
        "DPTTH",
        "BDN",
        "SVHTTDL",
        "SCT",
        "LHHN",
        "SKHDT",
    ]
    assert next(r for r in rows if r["Mã"] == "DPTTH")["Trả lời"] == "đã nhận"
    progress = _latest(artifact_key("progress", CODE))
    assert float(progress.data) == 12.5  # type: ignore[attr-defined]
