"""Every report format; JUnit against both XSDs; hostile text stays inert."""
from __future__ import annotations

import json
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
import xmlschema

from ocscheck.model import Outcome, Severity, Status
from ocscheck.reports import ReportTarget, RunReport, sanitize, write_reports
from ocscheck.reports import html, json_report, junit, text

SCHEMAS = Path(__file__).parent / "fixtures" / "schemas"
HOSTILE = "<script>alert(1)</script> \x1b[31mred\x1b[0m \x00\x07\x1b]0;title\x07 & \"quotes\" \ud800"


def outcome(check_id, status, summary="ok", evidence=(), remediation=""):
    return Outcome(id=check_id, area=check_id.split(".")[0], title=f"title of {check_id}", severity=Severity.HIGH,
                   status=status, summary=summary, evidence=tuple(evidence), remediation=remediation,
                   duration_s=0.0123)


@pytest.fixture
def report():
    outcomes = (
        outcome("cert.subject", Status.FAIL, f"CN is {HOSTILE}", [f"subject: CN={HOSTILE}"], "Request a new one"),
        outcome("cert.key", Status.WARN, "1024-bit RSA", ["key: RSA 1024"], "Use 2048 bits"),
        outcome("dns.split", Status.PASS, "all good"),
        outcome("dns.sip-cname", Status.ERROR, "timed out: no DNS answer"),
        outcome("ad.pool", Status.SKIP, "not configured: no LDAP URL"),
    )
    return RunReport(phase="post", started=datetime(2026, 11, 27, 7, 30, 5), duration_s=1.25, outcomes=outcomes,
                     tool_version="0.1.0", site="ocscheck.toml", hostname="ci-runner")


@pytest.mark.parametrize("schema", ["JUnit.xsd", "junit-10.xsd"])
@pytest.mark.parametrize("fail_on_warn", [False, True])
def test_junit_validates_against_both_schemas(report, schema, fail_on_warn, tmp_path):
    import dataclasses

    report = dataclasses.replace(report, fail_on_warn=fail_on_warn)
    document = junit.render(report, verbose=True)
    xmlschema.XMLSchema(str(SCHEMAS / schema)).validate(document)
    assert "\x1b" not in document and "\x00" not in document and "<script>" not in document


def test_junit_maps_statuses(report):
    import xml.etree.ElementTree as ET

    root = ET.fromstring(junit.render(report, verbose=False))
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"ocscheck.cert", "ocscheck.dns", "ocscheck.ad"}
    cert = suites["ocscheck.cert"]
    cases = {c.get("name"): c for c in cert.findall("testcase")}
    assert cases["cert.subject"].get("classname") == "ocscheck.cert"
    assert cases["cert.subject"].find("failure") is not None
    assert list(cases["cert.key"]) == []  # warn passes...
    assert "[warn] cert.key: 1024-bit RSA" in cert.find("system-out").text  # ...with the warning in the output
    assert cert.get("failures") == "1" and cert.get("timestamp") == "2026-11-27T07:30:05"
    dns = {c.get("name"): c for c in suites["ocscheck.dns"].findall("testcase")}
    assert dns["dns.sip-cname"].find("error") is not None
    assert suites["ocscheck.ad"].find("testcase/skipped") is not None


def test_junit_fail_on_warn_turns_warn_into_failure(report):
    import dataclasses
    import xml.etree.ElementTree as ET

    root = ET.fromstring(junit.render(dataclasses.replace(report, fail_on_warn=True), verbose=False))
    case = root.find(".//testcase[@name='cert.key']")
    assert case.find("failure").get("type") == "warn"


def test_json_schema(report):
    document = json.loads(json_report.render(report, verbose=False))
    assert document["schema_version"] == 1
    assert document["summary"] == {"pass": 1, "warn": 1, "fail": 1, "error": 1, "skip": 1}
    assert document["started"] == "2026-11-27T07:30:05"
    first = document["checks"][0]
    assert set(first) == {"id", "area", "title", "severity", "status", "summary", "evidence", "remediation",
                          "duration_s"}
    assert first["summary"] == f"CN is {HOSTILE}"  # JSON carries the raw value, escaped by the encoder


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def test_html_is_self_contained_filterable_and_escaped(report):
    page = html.render(report, verbose=True)
    parser = _Collector()
    parser.feed(page)
    tags = [t for t, _ in parser.tags]
    assert tags.count("script") == 1  # only our own filter script
    assert not [a for t, a in parser.tags if t in ("link", "img", "script") and (a.get("src") or a.get("href"))]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\x1b" not in page and "\x00" not in page
    checks = [a for t, a in parser.tags if t == "details"]
    assert [a["data-status"] for a in checks] == ["fail", "warn", "pass", "error", "skip"]
    filters = [a["value"] for t, a in parser.tags if t == "input"]
    assert filters == ["fail", "error", "warn", "pass", "skip"]
    assert "Request a new one" in page and "Use 2048 bits" in page


def test_text_report_groups_by_area_and_strips_escapes(report):
    plain = text.render(report, verbose=True)
    assert "\x1b" not in plain
    assert plain.index("[cert]") < plain.index("[dns]") < plain.index("[ad]")
    assert "fix: Request a new one" in plain and "evidence: key: RSA 1024" in plain
    assert "5 checks in 1.2 s: 1 pass, 1 warn, 1 fail, 1 error, 1 skip" in plain
    coloured = text.render(report, verbose=False, colour=True)
    assert "\x1b[31mFAIL\x1b[0m" in coloured


def test_sanitize_keeps_newlines_and_tabs():
    assert sanitize("a\tb\nc\x1b[1md\x7f") == "a\tb\ncd"


def test_reports_written_atomically_and_a_bad_path_loses_nothing_else(report, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    targets = [ReportTarget.parse(f"json:{tmp_path}/out/r.json"), ReportTarget("junit", blocker / "junit.xml"),
               ReportTarget.parse(f"html:{tmp_path}/out/r.html")]
    problems = write_reports(report, targets, verbose=False)
    assert len(problems) == 1 and "junit" in problems[0]
    assert json.loads((tmp_path / "out" / "r.json").read_text())["phase"] == "post"
    assert (tmp_path / "out" / "r.html").read_text().startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["r.html", "r.json"]  # no temp files left


@pytest.mark.parametrize("spec", ["xml:out.xml", "junit", "junit:", "pdf:x.pdf"])
def test_bad_report_spec(spec):
    with pytest.raises(ValueError):
        ReportTarget.parse(spec)
