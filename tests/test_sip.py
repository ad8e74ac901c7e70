"""sip.tls and sip.options against Kamailio, bare TLS listeners that misbehave, a closed and a blackholed port,
and the SRV target read from a real dnsmasq internal view."""
from __future__ import annotations

import socket
import threading
import time

import pytest

from ocscheck.model import Status
from tests.helpers import judge, make_site
from tests.lab import DEAD, OCS_ALT, blackhole as lab_blackhole
from tests.lab.dnsmasq import good_internal
from tests.lab.pki import Pki
from tests.lab.tls_lab import answer, stay_silent

IDS = ["sip.*"]


def statuses(outcomes):
    return {check_id: o.status.value for check_id, o in outcomes.items()}


def timed(site, ids=IDS):
    started = time.monotonic()
    outcomes = judge(site, ids)
    return outcomes, time.monotonic() - started


@pytest.fixture
def blackhole():
    """TCP to 127.0.0.60:5061 dropped: connects get no answer at all."""
    with lab_blackhole("ocslab_tls", DEAD, [5061]):
        yield


def test_kamailio_answers_options(tls_lab):
    outcomes = judge(make_site(tls_lab().site()), IDS)
    assert statuses(outcomes) == {"sip.tls": "pass", "sip.options": "pass"}
    assert outcomes["sip.options"].summary == "ocs.todorovic.adds SIP/2.0 200 OK"
    assert any(e.startswith("ocs.todorovic.adds (127.0.0.20, tls.server_address):5061: TLSv1.3 ")
               for e in outcomes["sip.tls"].evidence)


def test_kamailio_answering_503_fails_naming_the_status(tls_lab):
    # A front end that is up while its services or back end are not answers 503: not alive.
    outcomes = judge(make_site(tls_lab(options_status="503 Service Unavailable").site()), IDS)
    assert statuses(outcomes) == {"sip.tls": "pass", "sip.options": "fail"}
    outcome = outcomes["sip.options"]
    assert "SIP/2.0 503 Service Unavailable" in outcome.summary and "cannot serve requests" in outcome.summary
    assert "MSSQL$RTC" in outcome.remediation


@pytest.mark.parametrize("status_line, expected", [
    (b"SIP/2.0 407 Proxy Authentication Required", "pass"),
    (b"SIP/2.0 403 Forbidden", "pass"),
    (b"SIP/2.0 202 Accepted", "pass"),
    (b"SIP/2.0 404 Not Found", "warn"),
    (b"SIP/2.0 504 Server Time-out", "fail"),
])
def test_sip_status_classes(stub_tls, status_line, expected):
    stub_tls(answer(status_line + b"\r\nContent-Length: 0\r\n\r\n"))
    outcome = judge(make_site({"tls": {"server_address": OCS_ALT}}), IDS)["sip.options"]
    assert outcome.status.value == expected, outcome.summary
    assert status_line.decode()[8:] in outcome.summary


def test_5061_closed_fails_fast():
    outcomes, seconds = timed(make_site({"tls": {"server_address": DEAD}}))
    assert statuses(outcomes) == {"sip.tls": "fail", "sip.options": "skip"}
    assert outcomes["sip.tls"].summary == "ocs.todorovic.adds:5061 refused the connection (nothing listens)"
    assert "net start RtcSrv" in outcomes["sip.tls"].remediation
    assert outcomes["sip.options"].summary == "skipped because sip.tls (fail) did not pass"
    assert seconds < 1.0


@pytest.mark.lab
def test_5061_blackholed_errors_within_the_timeout(blackhole):
    site = make_site({"tls": {"server_address": DEAD}, "run": {"timeout": 1.5}})
    outcomes, seconds = timed(site)
    assert statuses(outcomes) == {"sip.tls": "error", "sip.options": "skip"}
    assert outcomes["sip.tls"].summary.startswith("ocs.todorovic.adds:5061: timed out: ")
    assert "no TCP answer from 127.0.0.60:5061" in outcomes["sip.tls"].summary
    assert "localport=5061" in outcomes["sip.tls"].remediation
    assert 1.4 < seconds < 2.5


def test_tls_server_that_never_answers_options(stub_tls):
    stub_tls(stay_silent)
    outcomes, seconds = timed(make_site({"tls": {"server_address": OCS_ALT}, "run": {"timeout": 1.5}}))
    assert statuses(outcomes) == {"sip.tls": "pass", "sip.options": "fail"}
    assert outcomes["sip.options"].summary == "no SIP response from ocs.todorovic.adds (127.0.0.21):5061 within 1.5 s"
    assert "ocs.todorovic.adds (127.0.0.21):5061: received nothing" in outcomes["sip.options"].evidence
    assert seconds < 3.5


def test_server_answering_garbage(stub_tls):
    stub_tls(answer(b"HTTP/1.1 400 Bad Request\r\nServer: \x1b[2Jevil\x07<b>\r\n\r\n"))
    outcomes = judge(make_site({"tls": {"server_address": OCS_ALT}}), IDS)
    assert statuses(outcomes) == {"sip.tls": "pass", "sip.options": "fail"}
    summary = outcomes["sip.options"].summary
    assert summary.startswith("ocs.todorovic.adds (127.0.0.21):5061 answered with non-SIP bytes: 'HTTP/1.1 400 Bad ")
    assert "\\x1b[2Jevil\\x07" in summary and "\x1b" not in summary and "\x07" not in summary


def test_server_sending_an_endless_non_sip_stream_is_cut(stub_tls):
    stub_tls(answer(b"\x00garbage-without-end" * 10, close=False))
    outcomes = judge(make_site({"tls": {"server_address": OCS_ALT}, "run": {"timeout": 1.0}}), IDS)
    outcome = outcomes["sip.options"]
    assert outcome.status is Status.FAIL
    assert outcome.summary.startswith("ocs.todorovic.adds (127.0.0.21):5061 sent 200 bytes that are not a complete "
                                      "SIP response within 1 s: '\\x00garbage")
    assert outcome.summary.endswith("…'")


def test_any_sip_status_passes_and_the_request_is_well_formed(stub_tls):
    seen = []

    def unauthorized(tls, request):
        seen.append(request)
        answer(b"SIP/2.0 401 Unauthorized\r\nWWW-Authenticate: NTLM realm=\"SIP Communications Service\"\r\n"
               b"Content-Length: 0\r\n\r\n")(tls, request)

    stub_tls(unauthorized)
    outcomes = judge(make_site({"tls": {"server_address": OCS_ALT}}), IDS)
    assert statuses(outcomes) == {"sip.tls": "pass", "sip.options": "pass"}
    assert outcomes["sip.options"].summary == "ocs.todorovic.adds SIP/2.0 401 Unauthorized"
    head = next(r for r in seen if r).decode()  # the SNI handshake made beside the no-SNI one carries nothing
    assert head.startswith("OPTIONS sip:ocs.todorovic.adds:5061;transport=tls SIP/2.0\r\n")
    assert head.endswith("\r\nContent-Length: 0\r\n\r\n")
    lines = dict(line.split(": ", 1) for line in head.split("\r\n")[1:] if ": " in line)
    assert lines["Via"].startswith("SIP/2.0/TLS 127.0.0.1:") and ";branch=z9hG4bK" in lines["Via"]
    assert lines["Max-Forwards"] == "70"
    assert lines["From"].startswith("<sip:ocscheck@todorovic.fr>;tag=")
    assert lines["To"] == "<sip:ocs.todorovic.adds:5061>"  # no tag: an out-of-dialog request
    assert lines["CSeq"] == "1 OPTIONS" and lines["Call-ID"]


def test_server_requiring_sni_is_reached_with_sni(stub_tls):
    stub_tls(answer(b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"), require_sni=True)
    outcomes = judge(make_site({"tls": {"server_address": OCS_ALT}}), IDS)
    assert statuses(outcomes) == {"sip.tls": "pass", "sip.options": "pass"}
    assert any("SNI ocs.todorovic.adds needed (no-SNI attempt: TLS handshake with 127.0.0.21:5061 failed: "
               in e for e in outcomes["sip.tls"].evidence)


def test_target_from_the_internal_srv_record(tls_lab, dns_views):
    lab = tls_lab()
    site = make_site({**lab.site(pin_address=False), "dns": dns_views(good_internal())})
    outcomes = judge(site, IDS + ["cert.*"])
    # cert.ca-published reads LDAP, which this site has not: it skips
    assert {i: o.status for i, o in outcomes.items() if o.status is not Status.PASS} == \
        {"cert.ca-published": Status.SKIP}
    evidence = outcomes["sip.tls"].evidence
    assert evidence[0] == "target sip.todorovic.fr:5061: SRV _sip._tls.todorovic.fr -> 0 0 5061 sip.todorovic.fr"
    assert evidence[1].startswith("sip.todorovic.fr (127.0.0.20, internal DNS):5061: TLSv1.3")
    assert outcomes["sip.options"].summary == "sip.todorovic.fr SIP/2.0 200 OK"


def test_srv_target_missing_from_the_certificate(tls_lab, dns_views):
    lab = tls_lab(leaf=Pki().leaf(sans=("ocs.todorovic.adds",)))
    site = make_site({**lab.site(pin_address=False), "dns": dns_views(good_internal())})
    outcomes = judge(site, IDS)
    assert statuses(outcomes) == {"sip.tls": "fail", "sip.options": "skip"}
    assert outcomes["sip.tls"].summary == ("the certificate on sip.todorovic.fr:5061 does not carry the name "
                                           "sip.todorovic.fr (clients refuse it)")


def test_no_srv_record_falls_back_to_the_server_fqdn(tls_lab, dns_views):
    zone = good_internal()
    zone.srv = []
    lab = tls_lab()
    outcomes = judge(make_site({**lab.site(pin_address=False), "dns": dns_views(zone)}), IDS)
    assert statuses(outcomes) == {"sip.tls": "pass", "sip.options": "pass"}
    assert outcomes["sip.tls"].evidence[0].startswith(
        "target ocs.todorovic.adds:5061: the server FQDN (_sip._tls.todorovic.fr has no SRV record")


def test_tls_1_0_only_server_like_windows_2008_r2(stub_tls):
    stub_tls(answer(b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"), tls10_only=True)
    outcomes = judge(make_site({"tls": {"server_address": OCS_ALT}}), IDS)
    assert statuses(outcomes) == {"sip.tls": "pass", "sip.options": "pass"}
    assert any(e.startswith("ocs.todorovic.adds (127.0.0.21, tls.server_address):5061: TLSv1 ")
               for e in outcomes["sip.tls"].evidence)


def test_plain_tcp_garbage_instead_of_tls():
    """Something else holds 5061 and answers in clear text: the handshake fails, sip.tls names it."""
    listener = socket.create_server((OCS_ALT, 5061))
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            with connection:
                connection.sendall(b"220 not a TLS server\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        outcomes = judge(make_site({"tls": {"server_address": OCS_ALT}}), IDS)
    finally:
        stop.set()
        thread.join(2)
        listener.close()
    assert statuses(outcomes) == {"sip.tls": "fail", "sip.options": "skip"}
    summary = outcomes["sip.tls"].summary
    assert summary.startswith("TLS handshake with ocs.todorovic.adds:5061 failed: ocs.todorovic.adds (127.0.0.21, "
                              "tls.server_address):5061: without SNI: TLS handshake with 127.0.0.21:5061 failed: ")
    assert "with SNI ocs.todorovic.adds:" in summary
    assert "netstat -abno | findstr :5061" in outcomes["sip.tls"].remediation
