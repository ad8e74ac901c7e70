"""Every report format; JUnit against both XSDs; hostile text stays inert."""
from __future__ import annotations

import json
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
import xmlschema

from ocscheck.model import Status
from ocscheck.reports import ReportTarget, RunReport, sanitize, write_reports
from ocscheck.reports import html, json_report, junit, text
from tests.helpers import make_outcome

SCHEMAS = Path(__file__).parent / "fixtures" / "schemas"
HOSTILE = "<script>alert(1)</script> \x1b[31mred\x1b[0m \x00\x07\x1b]0;title\x07 & \"quotes\" \ud800"


def outcome(check_id, status, summary="ok", evidence=(), remediation=""):
    return make_outcome(check_id, status, summary, evidence, remediation, duration_s=0.0123)


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
@pytest.mark.parametrize("verbose", [False, True])
def test_junit_validates_against_both_schemas(report, schema, fail_on_warn, verbose):
    import dataclasses

    report = dataclasses.replace(report, fail_on="warn" if fail_on_warn else "fail")
    document = junit.render(report, verbose=verbose)
    xmlschema.XMLSchema(str(SCHEMAS / schema)).validate(document)
    assert "\x1b" not in document and "\x00" not in document and "<script>" not in document


@pytest.mark.parametrize("fail_on_warn", [False, True])
def test_junit_jenkins_validates_against_junit10_and_is_rejected_by_the_strict_schema(report, fail_on_warn):
    """The strict Ant schema allows no <system-out> in a testcase and no zone in the timestamp: the
    per-testcase flavour is for junit-10 readers only (the strict check proves the difference is real)."""
    import dataclasses

    document = junit.render_jenkins(dataclasses.replace(report, fail_on="warn" if fail_on_warn else "fail"), verbose=True)
    xmlschema.XMLSchema(str(SCHEMAS / "junit-10.xsd")).validate(document)
    assert not xmlschema.XMLSchema(str(SCHEMAS / "JUnit.xsd")).is_valid(document)


@pytest.fixture
def paris(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Europe/Paris")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_junit_maps_statuses(report, paris):
    import xml.etree.ElementTree as ET

    root = ET.fromstring(junit.render(report, verbose=False))
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert set(suites) == {"ocscheck.cert", "ocscheck.dns", "ocscheck.ad"}
    cert = suites["ocscheck.cert"]
    cases = {c.get("name"): c for c in cert.findall("testcase")}
    assert cases["cert.subject"].get("classname") == "ocscheck.cert"
    failure = cases["cert.subject"].find("failure")
    # The message is the summary alone (the type says "fail"); the text starts with status, severity, title.
    assert failure.get("type") == "fail"
    assert failure.get("message").startswith("CN is ") and not failure.get("message").startswith("fail")
    assert failure.text.splitlines()[0] == "fail · severity high · title of cert.subject"
    assert "fix: Request a new one" in failure.text
    assert list(cases["cert.key"]) == []  # the strict schema allows nothing in a passing testcase...
    out = cert.find("system-out").text
    # ...so the warning's block is in the suite's output, one per check, starting with the status word.
    assert "cert.key: warn · severity high · title of cert.key\n1024-bit RSA\nevidence: key: RSA 1024" in out
    # 07:30:05 in Paris in November is 06:30:05 UTC; the zone-less attribute is UTC, the property has the zone.
    assert cert.get("failures") == "1" and cert.get("timestamp") == "2026-11-27T06:30:05"
    assert cert.find("properties/property[@name='timestamp']").get("value") == "2026-11-27T07:30:05+01:00"
    dns = {c.get("name"): c for c in suites["ocscheck.dns"].findall("testcase")}
    error = dns["dns.sip-cname"].find("error")
    assert error.get("message") == "timed out: no DNS answer" and error.text.startswith("error · severity high")
    assert "dns.split: pass · severity high · title of dns.split\nall good" in suites["ocscheck.dns"].find(
        "system-out").text
    skipped = suites["ocscheck.ad"].find("testcase/skipped")
    assert skipped.get("message") == "not configured: no LDAP URL" and skipped.text.startswith("skip · ")


def test_junit_jenkins_puts_each_status_in_its_own_testcase(report, paris):
    import xml.etree.ElementTree as ET

    root = ET.fromstring(junit.render_jenkins(report, verbose=False))
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert [child.tag for child in cases["cert.key"]] == ["system-out"]
    assert cases["cert.key"].find("system-out").text.startswith("warn · severity high · title of cert.key\n")
    assert cases["dns.split"].find("system-out").text == "pass · severity high · title of dns.split\nall good"
    assert [child.tag for child in cases["cert.subject"]] == ["failure"]
    assert root.find("testsuite").get("timestamp") == "2026-11-27T07:30:05+01:00"


def test_junit_suite_time_is_the_wall_span_not_the_sum(report):
    import dataclasses
    import xml.etree.ElementTree as ET

    # Ten checks of 0.7 s that ran at once in a 0.75 s run: the sum (7 s) is not what the area took.
    ten = tuple(dataclasses.replace(outcome(f"dns.c{i}", Status.PASS), duration_s=0.7) for i in range(10))
    parallel = dataclasses.replace(report, outcomes=ten, duration_s=0.75)
    suite = ET.fromstring(junit.render(parallel, verbose=False)).find("testsuite")
    assert suite.get("time") == "0.750"  # without start offsets: bounded by the run
    # With start offsets (Outcome.started_s): first start to last end.
    timed = tuple(dataclasses.replace(o, started_s=0.01 * i) for i, o in enumerate(ten))
    suite = ET.fromstring(junit.render(dataclasses.replace(parallel, outcomes=timed), verbose=False)).find(
        "testsuite")
    assert suite.get("time") == "0.790"
    # Checks one after the other in a longer run: the sum, which is then the span.
    serial = dataclasses.replace(parallel, outcomes=ten[:2], duration_s=5.0)
    assert ET.fromstring(junit.render(serial, verbose=False)).find("testsuite").get("time") == "1.400"


def test_junit_fail_on_warn_turns_warn_into_failure(report):
    import dataclasses
    import xml.etree.ElementTree as ET

    root = ET.fromstring(junit.render(dataclasses.replace(report, fail_on="warn"), verbose=False))
    case = root.find(".//testcase[@name='cert.key']")
    assert case.find("failure").get("type") == "warn"
    assert case.find("failure").get("message") == "1024-bit RSA"
    assert case.find("failure").text.startswith("warn · severity high · title of cert.key")


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
    (tmp_path / "out").mkdir()  # a report's directory must exist (never created silently)
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


def test_html_csp_allows_exactly_its_own_script_and_style(report):
    import base64
    import hashlib
    import re

    page = html.render(report, verbose=False)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "unsafe-inline" not in policy and "default-src 'none'" in policy
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    for tag, directive in (("script", "script-src"), ("style", "style-src")):
        body = re.search(f"<{tag}>(.*?)</{tag}>", page, re.S).group(1)
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert directives[directive] == f"'sha256-{digest}'"


def test_html_header_anchors_and_opened_rows(report):
    import dataclasses

    page = html.render(dataclasses.replace(report, server_fqdn="ocs.todorovic.adds", sip_domains=("todorovic.fr",),
                                           ad_domain="todorovic.adds"), verbose=False)
    assert '<div class="verdict fail" id="verdict">FAIL: 1 check(s) failed</div>' in page
    assert "<dt>Server</dt><dd><code>ocs.todorovic.adds</code></dd>" in page
    parser = _Collector()
    parser.feed(page)
    checks = {a["id"]: a for t, a in parser.tags if t == "details" and "check" in a.get("class", "")}
    assert set(checks) == {"cert.subject", "cert.key", "dns.split", "dns.sip-cname", "ad.pool"}
    assert {i for i, a in checks.items() if "open" in a} == {"cert.subject", "cert.key", "dns.sip-cname"}
