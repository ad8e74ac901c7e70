"""The JSON report (schema_version 1; documented in README.md)."""
from __future__ import annotations

import json

from ocscheck.reports import RunReport

SCHEMA_VERSION = 1


def render(report: RunReport, verbose: bool) -> str:
    document = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "ocscheck", "version": report.tool_version},
        "phase": report.phase,
        "site": report.site,
        "replayed_from": report.replayed_from or None,
        "started": report.started.isoformat(timespec="seconds"),
        "duration_s": round(report.duration_s, 3),
        "summary": report.counts(),
        "interrupted": report.interrupted or None,
        # null without --baseline; with one, empty lists when nothing changed.
        "changes": report.changes.to_json() if report.changes else None,
        "checks": [{
            "id": o.id, "area": o.area, "title": o.title, "severity": o.severity.value, "status": o.status.value,
            "summary": o.summary, "evidence": list(o.evidence), "remediation": o.remediation,
            "duration_s": o.duration_s, **({"detail": o.detail} if verbose and o.detail else {}),
        } for o in report.outcomes],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
