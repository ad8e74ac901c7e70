"""Parsers of Windows tool output, on captures in their real encodings (tests/fixtures/windows/README.md),
and property tests: random bytes and truncations never raise, unreadable input is reported as an error."""
from __future__ import annotations

import base64
import codecs
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ocscheck.parsers.appcmd import parse_site_list
from ocscheck.parsers.dcdiag import parse_dcdiag
from ocscheck.parsers.decode import decode_output
from ocscheck.parsers.features import parse_servermanagercmd_xml
from ocscheck.parsers.keyvalue import KeyValues
from ocscheck.parsers.hostinfo import parse_events, parse_features, parse_ocs, parse_system
from ocscheck.parsers.netsh import parse_sslcert
from ocscheck.parsers.repadmin import parse_showrepl_csv

FIXTURES = Path(__file__).parent / "fixtures" / "windows"


def text_of(name: str) -> str:
    return decode_output((FIXTURES / name).read_bytes()).text


# ---- decoding ----

@pytest.mark.parametrize("name, encoding", [
    ("dcdiag-en-full-systemlog-failed.utf16le.txt", "utf-16-le"),
    ("dcdiag-fr-full-passed.cp850.txt", "cp850"),
    ("dcdiag-fr-full-passed.utf16le.txt", "utf-16-le"),
    ("servermanagercmd-query.utf8.xml", "utf-8"),
    ("netsh-sslcert-443.cp437.txt", "utf-8"),  # pure ASCII reads as UTF-8
])
def test_decoding_detects_the_capture_encoding(name, encoding):
    assert decode_output((FIXTURES / name).read_bytes()).encoding == encoding


def test_french_oem_bytes_keep_their_accents():
    text = text_of("dcdiag-fr-full-passed.cp850.txt")
    assert "Démarrage du test : Connectivity" in text and "a réussi" in text
    assert (FIXTURES / "dcdiag-fr-full-passed.cp850.txt").read_bytes().count(b"\x82") > 5  # é in cp850


def test_utf16_without_bom_is_recognised():
    data = "Directory Server Diagnosis\r\n".encode("utf-16-le")
    assert decode_output(data) == decode_output(codecs.BOM_UTF16_LE + data)


# ---- dcdiag ----

@pytest.mark.parametrize("name, quiet, language, failed", [
    ("dcdiag-en-full-systemlog-failed.utf16le.txt", False, "en", [("Test-DC1", "SystemLog")]),
    ("dcdiag-en-q-systemlog-failed.cp437.txt", True, "en", [("Test-DC1", "SystemLog")]),
    ("dcdiag-fr-full-passed.cp850.txt", False, "fr", []),
    ("dcdiag-fr-full-passed.utf16le.txt", False, "fr", []),
    ("dcdiag-fr-full-dfsrevent-failed.cp850.txt", False, "fr", [("DC1", "DFSREvent")]),
    ("dcdiag-fr-full-dfsrevent-failed.utf16le.txt", False, "fr", [("DC1", "DFSREvent")]),
    ("dcdiag-fr-q-dfsrevent-failed.cp850.txt", True, "fr", [("DC1", "DFSREvent")]),
])
def test_dcdiag_verdicts(name, quiet, language, failed):
    report = parse_dcdiag(text_of(name))
    assert report.error is None
    assert report.quiet is quiet and report.language == language
    assert [(t.dc, t.test) for t in report.failed] == failed


def test_dcdiag_english_full_reads_every_test_including_wrapped_names():
    report = parse_dcdiag(text_of("dcdiag-en-full-systemlog-failed.utf16le.txt"))
    assert len(report.tests) == 28
    assert ("ForestDnsZones", "CrossRefValidation", True) in [(t.dc, t.test, t.passed) for t in report.tests]
    systemlog = report.failed[0]
    assert "EventID: 0xC0001B63" in systemlog.detail[0]


def test_dcdiag_french_split_verdicts():
    report = parse_dcdiag(text_of("dcdiag-fr-full-passed.cp850.txt"))
    assert [(t.dc, t.test) for t in report.tests] == [("EPF-AD-2012", "Connectivity"), ("EPF-AD-2012", "Advertising"),
                                                       ("EPF-AD-2012", "SysVolCheck")]


@pytest.mark.parametrize("name", ["dcdiag-en-q-all-passed.cp437.txt", "dcdiag-q-all-passed.utf16le.txt"])
def test_dcdiag_quiet_empty_output_means_all_passed(name):
    report = parse_dcdiag(text_of(name))
    assert report.error is None and report.quiet and report.tests == ()


def test_dcdiag_header_without_verdicts_is_an_error():
    text = text_of("dcdiag-en-full-systemlog-failed.utf16le.txt")
    assert parse_dcdiag(text[:200]).error  # cut before the first verdict


def test_dcdiag_other_text_is_an_error():
    assert parse_dcdiag("The RPC server is unavailable.").error == "not dcdiag output"


# ---- repadmin ----

def test_repadmin_healthy_links():
    report = parse_showrepl_csv(text_of("repadmin-showrepl-healthy.csv"), utc_offset_minutes=120)
    assert report.error is None and len(report.links) == 5
    first = report.links[0]
    assert (first.destination_dc, first.source_dc, first.naming_context) == \
        ("HSHPI220", "SADS055", "CN=Configuration,DC=internal")
    assert first.last_success == "2015-07-07T07:15:37Z"  # 09:15:37 at UTC+2
    assert all(link.consecutive_failures == 0 and link.last_result == 0 for link in report.links)
    assert report.links[-1].naming_context == "DC=internal"


def test_repadmin_failures_and_unreachable_dc():
    report = parse_showrepl_csv(text_of("repadmin-showrepl-failures.csv"))
    failing = [link for link in report.links if link.consecutive_failures]
    assert [(l.source_dc, l.consecutive_failures, l.last_result) for l in failing] == \
        [("DC3", 42, 1722), ("DC3", 41, 8524), ("", 1, 58)]
    assert failing[0].last_success == "2026-08-01T10:00:00Z" and failing[0].last_attempt == "2026-08-29T09:00:00Z"
    assert report.unreachable == (("DC4", "LDAP error 81 (Server Down) Win32 Err 58."),)
    assert any("UTC" in note for note in report.notes)


def test_repadmin_other_text_is_an_error():
    assert parse_showrepl_csv("Access is denied.").error


# ---- netsh, appcmd, ServerManagerCmd ----

def test_netsh_sslcert_hash():
    bindings = parse_sslcert(text_of("netsh-sslcert-443.cp437.txt"))
    assert bindings.hash_for("0.0.0.0:443") == "5E2C8A1F0B7D43E9A6C1F2D3B4A5968778695A4B"


def test_netsh_sslcert_no_binding():
    bindings = parse_sslcert(text_of("netsh-sslcert-none.cp437.txt"))
    assert bindings.error is None and bindings.hash_for("0.0.0.0:443") is None


def test_appcmd_sites():
    sites = parse_site_list(text_of("appcmd-list-site.cp437.txt"))
    assert [s.name for s in sites.sites] == ["Default Web Site", "Shop"]
    assert sites.default_site().bindings == ("http/*:80:", "https/*:443:")
    assert parse_site_list(text_of("appcmd-list-site-nohttps.cp437.txt")).default_site().bindings == ("http/*:80:",)
    assert parse_site_list("ERROR ( message:Configuration error )").error


def test_servermanagercmd_query_xml():
    features = parse_servermanagercmd_xml(text_of("servermanagercmd-query.utf8.xml"))
    assert features.has("Web-Windows-Auth") and features.has("MSMQ-Server")
    assert not features.has("Web-Asp-Net") and not features.has("BitLocker")


def test_features_probe_with_servermanagercmd_xml_inside():
    xml = (FIXTURES / "servermanagercmd-query.utf8.xml").read_bytes()
    probe = f"source=ServerManagerCmd\nxml={base64.b64encode(xml).decode()}"
    assert parse_features(probe).has("web-windows-auth")


# ---- property tests: never raise, unreadable = error ----

# Each parser with what must hold for any input: either an error, or something it really read
# (or the one input that legitimately means "nothing": empty dcdiag /q, a "no binding" netsh...).
PARSERS = [
    (parse_dcdiag, lambda r, t: r.error is not None or r.tests or not t.strip()),
    (parse_showrepl_csv, lambda r, t: r.error is not None or r.links or "showrepl_columns" in t.lower()),
    (parse_sslcert, lambda r, t: r.error is not None or r.hashes or "ssl" in t.lower() or "fichier" in t.lower()
     or "cannot find" in t.lower()),
    (parse_site_list, lambda r, t: r.error is not None or r.sites or not t.strip()),
    (parse_servermanagercmd_xml, lambda r, t: r.error is not None or "ServerManagerConfiguration" in t),
    (parse_system, lambda r, t: r.error is not None or "caption=" in t),
    (parse_features, lambda r, t: r.error is not None or "source=" in t),
    (parse_ocs, lambda r, t: r.error is not None or "service=" in t),
    (parse_events, lambda r, t: r[1] is not None or r[0] or not KeyValues(t).noise),
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2048))
def test_random_bytes_never_raise(data):
    text = decode_output(data).text
    for parse, sane in PARSERS:
        assert sane(parse(text), text)


REAL = sorted(p.name for p in FIXTURES.iterdir() if p.suffix in (".txt", ".csv", ".xml"))


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(REAL), cut=st.integers(min_value=0, max_value=10_000), flip=st.integers(0, 255))
def test_truncated_and_damaged_captures_never_raise(name, cut, flip):
    data = bytearray((FIXTURES / name).read_bytes())
    data = data[:cut % (len(data) + 1)]
    if data:
        data[cut % len(data)] = flip
    text = decode_output(bytes(data)).text
    for parse, sane in PARSERS:
        assert sane(parse(text), text)


def test_unreadable_inputs_are_errors():
    garbage = "\x00\x01 this is not what you think \ufffd\n=broken"
    assert parse_dcdiag(garbage).error
    assert parse_showrepl_csv(garbage).error
    assert parse_sslcert(garbage).error
    assert parse_site_list(garbage).error
    assert parse_servermanagercmd_xml(garbage).error
    assert parse_system(garbage).error
    assert parse_features(garbage).error
    assert parse_ocs(garbage).error
    assert parse_events(garbage)[1]
