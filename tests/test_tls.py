"""The TLS connections a run makes (issue 11): a handshake fact's no-SNI and SNI handshakes are in flight
together, and SIP OPTIONS goes over a handshake's own connection when it is clean — against bare TLS
listeners that record what each connection carried, and Kamailio behind the lab's internal DNS view."""
from __future__ import annotations

import socket
import time

import pytest

from ocscheck.api import RunSetup
from ocscheck.facts.dial import Dials
from ocscheck.facts.tls import TlsFacts
from ocscheck.model import Status
from tests.helpers import judge, make_site
from tests.lab import OCS, OCS_ALT
from tests.lab.dnsmasq import good_internal
from tests.lab.tls_lab import answer

SIP_OK = b"SIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n"
FQDN = "ocs.todorovic.adds"


def soon(condition) -> bool:
    """``condition()`` once it holds (the server's threads record a connection when the client leaves it)."""
    deadline = time.monotonic() + 5
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def sni_evidence(outcome):
    return next(e for e in outcome.evidence if e.startswith(f"{FQDN} (127.0.0.21, tls.server_address):5061: "))


@pytest.mark.parametrize("require_sni", [True, False])
def test_the_no_sni_and_sni_handshakes_are_in_flight_together(stub_tls, require_sni):
    # Both connections are held until both are open: a client retrying with SNI only after the refusal
    # without it would wait in vain, and its first handshake time out.
    server = stub_tls(answer(SIP_OK), require_sni=require_sni, together=2)
    outcome = judge(make_site({"tls": {"server_address": OCS_ALT}, "run": {"timeout": 3}}), ["sip.tls"])["sip.tls"]
    assert outcome.status is Status.PASS, outcome.summary
    assert not server.gate.held_apart
    # the verdict's evidence is the sequential one's: the no-SNI handshake decides
    assert ("SNI ocs.todorovic.adds needed (no-SNI attempt: TLS handshake with 127.0.0.21:5061 failed: "
            in sni_evidence(outcome)) == require_sni
    assert sni_evidence(outcome).endswith(", no SNI") != require_sni


def test_options_go_over_the_connection_of_the_handshake(stub_tls):
    server = stub_tls(answer(SIP_OK))
    outcomes = judge(make_site({"tls": {"server_address": OCS_ALT}}), ["sip.*"])
    assert outcomes["sip.options"].summary == f"{FQDN} SIP/2.0 200 OK"
    # two handshakes (without and with SNI, at once) and no third connection for the request: it went over
    # the no-SNI one, which decided
    assert soon(lambda: len(server.sessions) == 2) and len(server.connections) == 2
    assert sorted((name or "", request[:8]) for name, request in server.sessions) == \
        [("", b"OPTIONS "), (FQDN, b"")]


def test_a_kept_connection_the_server_closed_is_not_used(stub_tls):
    server = stub_tls(answer(SIP_OK))
    with RunSetup(make_site({"tls": {"server_address": OCS_ALT}}), "post") as setup:
        tls = setup.facts.tls
        tls.keep_sessions(5061)
        tls.handshake(FQDN, 5061)
        assert soon(lambda: len(server.handshaken) == 2)
        for connection in server.handshaken:  # the server drops its side of both
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the unused SNI session, already closed by the client
        options = setup.facts.sip.options(FQDN, 5061)
    assert options.status == 200
    assert [request[:8] for name, request in server.sessions if request] == [b"OPTIONS "]
    assert len(server.connections) == 3  # the request went over a new connection


def test_a_run_against_kamailio_opens_no_connection_for_options(tls_lab, dns_views, monkeypatch):
    # The SRV target sip.todorovic.fr and the server FQDN are both at 127.0.0.20:5061: each handshake fact
    # dials twice (without and with SNI), and the OPTIONS request goes over one of those connections.
    dialled, opened = [], []
    connect, open_ = Dials.connect, TlsFacts.open
    monkeypatch.setattr(Dials, "connect", lambda self, address, port, deadline:
                        dialled.append((address, port)) or connect(self, address, port, deadline))
    monkeypatch.setattr(TlsFacts, "open", lambda self, *args: opened.append(args) or open_(self, *args))
    site = make_site({**tls_lab().site(pin_address=False), "dns": dns_views(good_internal())})
    outcomes = judge(site, ["sip.*", "cert.subject"])
    assert {i: o.status for i, o in outcomes.items()} == {"sip.tls": Status.PASS, "sip.options": Status.PASS,
                                                          "cert.subject": Status.PASS}
    assert outcomes["sip.options"].summary == "sip.todorovic.fr SIP/2.0 200 OK"
    assert opened == []  # no connection of its own for the request
    assert dialled.count((OCS, 5061)) == 4  # tls:ocs.todorovic.adds:5061 and tls:sip.todorovic.fr:5061
