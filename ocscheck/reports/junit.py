"""JUnit XML valid against both the Ant (windyroad, strict) and the Jenkins (junit-10) schemas.

The strict schema fixes the shape: <testsuites> without attributes; in each <testsuite>, the
attributes package/id/timestamp/hostname, then <properties>, the <testcase>s, <system-out>,
<system-err>; a testcase holds at most one of <failure>/<error>/<skipped> and no output of its
own, so warnings go to the suite's <system-out>.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

from ocscheck.model import Outcome, Status
from ocscheck.reports import RunReport, sanitize


def _body(outcome: Outcome) -> str:
    lines = [sanitize(e) for e in outcome.evidence]
    if outcome.remediation:
        lines.append("fix: " + sanitize(outcome.remediation))
    if outcome.detail:
        lines.append(sanitize(outcome.detail))
    return "\n".join(lines)


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def render(report: RunReport, verbose: bool) -> str:
    root = ET.Element("testsuites")
    timestamp = report.started.strftime("%Y-%m-%dT%H:%M:%S")
    for index, (area, outcomes) in enumerate(report.by_area()):
        failures = sum(1 for o in outcomes if report.is_failure(o))
        suite = ET.SubElement(root, "testsuite", {
            "name": f"ocscheck.{area}", "package": "ocscheck", "id": str(index), "timestamp": timestamp,
            "hostname": sanitize(report.hostname) or "localhost", "tests": str(len(outcomes)),
            "failures": str(failures), "errors": str(sum(1 for o in outcomes if o.status is Status.ERROR)),
            "skipped": str(sum(1 for o in outcomes if o.status is Status.SKIP)),
            "time": _seconds(sum(o.duration_s for o in outcomes))})
        properties = ET.SubElement(suite, "properties")
        for name, value in (("phase", report.phase), ("site", report.site), ("tool.version", report.tool_version),
                            ("replayed_from", report.replayed_from)):
            if value:
                ET.SubElement(properties, "property", {"name": name, "value": sanitize(value)})
        out_lines = []
        for outcome in outcomes:
            case = ET.SubElement(suite, "testcase", {"classname": f"ocscheck.{area}", "name": outcome.id,
                                                     "time": _seconds(outcome.duration_s)})
            message = sanitize(f"{outcome.status.value}: {outcome.summary}")
            if report.is_failure(outcome):
                ET.SubElement(case, "failure", {"message": message, "type": outcome.status.value}).text = \
                    _body(outcome)
            elif outcome.status is Status.ERROR:
                ET.SubElement(case, "error", {"message": message, "type": "error"}).text = _body(outcome)
            elif outcome.status is Status.SKIP:
                ET.SubElement(case, "skipped", {"message": message})
            if outcome.status is not Status.PASS or verbose:
                out_lines.append(f"[{outcome.status.value}] {outcome.id}: {sanitize(outcome.summary)}")
                if outcome.status is Status.WARN:
                    out_lines += [f"    {line}" for line in _body(outcome).splitlines()]
        ET.SubElement(suite, "system-out").text = "\n".join(out_lines)
        ET.SubElement(suite, "system-err").text = ""
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
