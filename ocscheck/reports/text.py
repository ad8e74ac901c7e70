"""The terminal report: one table per area, totals, evidence and remediation with -v."""
from __future__ import annotations

import textwrap
from typing import List

from tabulate import tabulate

from ocscheck.model import Outcome, Status
from ocscheck.reports import RunReport, sanitize

_COLOURS = {Status.PASS: "32", Status.WARN: "33", Status.FAIL: "31", Status.ERROR: "35", Status.SKIP: "2"}


def _status(status: Status, colour: bool) -> str:
    text = status.value.upper()
    return f"\x1b[{_COLOURS[status]}m{text}\x1b[0m" if colour else text


def _wrap(text: str, width: int = 88) -> str:
    return "\n".join(textwrap.wrap(sanitize(text), width) or [""])


def _details(outcome: Outcome) -> List[str]:
    lines = []
    for item in outcome.evidence:
        lines.append(f"    evidence: {sanitize(item)}")
    if outcome.remediation:
        fix = sanitize(outcome.remediation).splitlines()
        lines.append(f"    fix: {fix[0]}")
        lines += [f"         {line}" for line in fix[1:]]
    if outcome.detail:
        lines += [f"    {line}" for line in sanitize(outcome.detail).splitlines()]
    return lines


def render(report: RunReport, verbose: bool, colour: bool = False) -> str:
    out = [f"ocscheck {report.tool_version} — {report.phase} — {report.site}"
           + (f" (replayed from {report.replayed_from})" if report.replayed_from else ""), ""]
    for area, outcomes in report.by_area():
        rows = [(o.id, _status(o.status, colour), _wrap(o.summary)) for o in outcomes]
        out.append(f"[{area}]")
        out.append(tabulate(rows, headers=("check", "status", "summary"), tablefmt="simple"))
        if verbose:
            for outcome in outcomes:
                details = _details(outcome)
                if details:
                    out.append(f"  {outcome.id}:")
                    out += details
        out.append("")
    counts = report.counts()
    totals = ", ".join(f"{counts[s.value]} {s.value}" for s in Status)
    out.append(f"{len(report.outcomes)} checks in {report.duration_s:.1f} s: {totals}")
    if not verbose and any(o.remediation for o in report.outcomes if o.status is not Status.PASS):
        out.append("Run with -v for evidence and the exact fixes.")
    return "\n".join(out) + "\n"
