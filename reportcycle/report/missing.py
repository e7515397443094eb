"""Which units' parts a section of the draft lacks, so no contribution goes missing silently."""

from __future__ import annotations

from reportcycle.regime.schema import Section
from reportcycle.report.gather import Gathered


def missing_units_note(section: Section, gathered: Gathered) -> str | None:
    """ "Sở A (chưa gửi báo cáo); Sở B (đã gửi, để trống mục này)" for the units assigned to a
    unit-written section whose part is not in it; None when every assigned unit's part is."""
    if section.written_by != "units":
        return None
    counted = {c.unit_code: c for c in gathered.contributions}
    indicator_codes = {i.code for i in gathered.regime.indicators if i.section == section.code}
    missing = []
    for unit in gathered.regime.units:
        if section.code not in unit.sections:
            continue
        contribution = counted.get(unit.code)
        if contribution is not None:
            wrote = any(
                str(b.get("text", "")).strip() or b.get("rows")
                for b in contribution.sections.get(section.code, ())
            )
            gave = any(
                (contribution.indicators.get(code) or {}).get("raw") for code in indicator_codes
            )
            if not wrote and not gave:
                missing.append(f"{unit.name} (đã gửi báo cáo nhưng để trống mục này)")
        elif unit.name in gathered.not_replied:
            missing.append(f"{unit.name} (chưa gửi báo cáo)")
        else:
            prefix = f"{unit.name}: "
            whys = [n[len(prefix) :] for n in gathered.not_counted if n.startswith(prefix)]
            why = whys[0] if whys else None
            if why is not None:
                missing.append(f"{unit.name} (bản gửi {why})")
    return "; ".join(missing) or None
