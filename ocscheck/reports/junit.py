"""JUnit XML, in two flavours.

``junit`` is valid against both the Ant (windyroad, strict) and the Jenkins (junit-10) schemas. The
strict schema fixes the shape: <testsuites> without attributes; in each <testsuite>, the attributes
package/id/timestamp/hostname, then <properties>, the <testcase>s, <system-out>, <system-err>; a
testcase holds at most one of <failure>/<error>/<skipped> and nothing else (no <system-out>, no
<properties>, no extra attribute), and the timestamp has no time zone. So a failing, erroring or
skipped check carries its status word, severity and title in its own element (message = the summary,
text = the block below); a passing or warning check can carry nothing in its testcase, and its block
goes to the suite's <system-out>, one per check. The timestamp attribute is UTC (said in a property
``timestamp`` that has the zone).

``junit-jenkins`` is valid against junit-10 (Jenkins, Surefire; what GitLab and most CI read): the same,
but a passing or warning check carries its block in its own testcase's <system-out>, so a warning
shows on its test rather than as a plain pass, and the timestamp attribute has the zone.

The block starts with the status word: ``warn · severity high · <title>``, then the summary, the
evidence, the fix.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from typing import List, Sequence

from ocscheck.model import Outcome, Status
from ocscheck.reports import RunReport, sanitize


def _block(outcome: Outcome, verbose: bool, with_summary: bool = True) -> str:
    lines = [f"{outcome.status.value} · severity {outcome.severity.value} · {sanitize(outcome.title)}"]
    if with_summary:
        lines.append(sanitize(outcome.summary))
    if verbose or outcome.status is not Status.PASS:
        lines += [f"evidence: {sanitize(e)}" for e in outcome.evidence]
        if outcome.remediation:
            fix = sanitize(outcome.remediation).splitlines() or [""]
            lines.append(f"fix: {fix[0]}")
            lines += [f"     {line}" for line in fix[1:]]
    if outcome.detail and verbose:
        lines.append(sanitize(outcome.detail))
    return "\n".join(lines)


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def suite_span(outcomes: Sequence[Outcome], run_duration_s: float) -> float:
    """Wall-clock seconds an area took.

    With start offsets (Outcome.started_s, set by a runner that records them): from the first start
    to the last end. Without: the sum of the durations, but never more than the whole run (checks run
    concurrently, so the sum can exceed it many times) nor less than the longest check — an upper
    bound, exact when the area's checks ran one after the other.
    """
    if not outcomes:
        return 0.0
    if all(o.started_s is not None for o in outcomes):
        return max(o.started_s + o.duration_s for o in outcomes) - min(o.started_s for o in outcomes)
    total = sum(o.duration_s for o in outcomes)
    longest = max(o.duration_s for o in outcomes)
    return max(longest, min(total, run_duration_s)) if run_duration_s > 0 else total


def _local(started: datetime) -> datetime:
    """The run's start as an aware datetime (a naive one is the machine's local time)."""
    return started if started.tzinfo else started.astimezone()


def _build(report: RunReport, verbose: bool, per_case_output: bool) -> str:
    root = ET.Element("testsuites")
    local = _local(report.started).replace(microsecond=0)
    utc_naive = local.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    timestamp = local.isoformat() if per_case_output else utc_naive
    for index, (area, outcomes) in enumerate(report.by_area()):
        failures = sum(1 for o in outcomes if report.is_failure(o))
        suite = ET.SubElement(root, "testsuite", {
            "name": f"ocscheck.{area}", "package": "ocscheck", "id": str(index), "timestamp": timestamp,
            "hostname": sanitize(report.hostname) or "localhost", "tests": str(len(outcomes)),
            "failures": str(failures), "errors": str(sum(1 for o in outcomes if o.status is Status.ERROR)),
            "skipped": str(sum(1 for o in outcomes if o.status is Status.SKIP)),
            "time": _seconds(suite_span(outcomes, report.duration_s))})
        properties = ET.SubElement(suite, "properties")
        for name, value in (("phase", report.phase), ("site", report.site), ("tool.version", report.tool_version),
                            ("replayed_from", report.replayed_from), ("timestamp", local.isoformat())):
            if value:
                ET.SubElement(properties, "property", {"name": name, "value": sanitize(value)})
        suite_out: List[str] = []
        for outcome in outcomes:
            case = ET.SubElement(suite, "testcase", {"classname": f"ocscheck.{area}", "name": outcome.id,
                                                     "time": _seconds(outcome.duration_s)})
            message = sanitize(outcome.summary)
            if report.is_failure(outcome):
                ET.SubElement(case, "failure", {"message": message, "type": outcome.status.value}).text = \
                    _block(outcome, verbose)
            elif outcome.status is Status.ERROR:
                ET.SubElement(case, "error", {"message": message, "type": "error"}).text = _block(outcome, verbose)
            elif outcome.status is Status.SKIP:
                ET.SubElement(case, "skipped", {"message": message}).text = _block(outcome, verbose)
            elif per_case_output:
                ET.SubElement(case, "system-out").text = _block(outcome, verbose)
            else:
                suite_out.append(f"{outcome.id}: {_block(outcome, verbose)}")
        ET.SubElement(suite, "system-out").text = "\n\n".join(suite_out)
        ET.SubElement(suite, "system-err").text = ""
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def render(report: RunReport, verbose: bool) -> str:
    """Valid against both the strict Ant schema and junit-10."""
    return _build(report, verbose, per_case_output=False)


def render_jenkins(report: RunReport, verbose: bool) -> str:
    """Valid against junit-10: each passing or warning check says so in its own <system-out>."""
    return _build(report, verbose, per_case_output=True)
