"""The DNS queries a check (or the prefetch) reads from a list are in flight together (issue 11), against
real dnsmasq views behind a relay that holds each question until all of them are asked: a check asking
one name after another's answer would stall there, its first query timing out."""
from __future__ import annotations

import time

from ocscheck import prefetch
from ocscheck.api import RunSetup, select_checks
from ocscheck.checks.dns import sip_tls_srv
from ocscheck.model import Status
from tests.helpers import judge, make_site
from tests.lab.dnsmasq import good_external, good_internal

SITE_TIMEOUT = {"run": {"timeout": 3}}  # below the gate's 5 s: a query held in vain times out


def test_dns_split_asks_its_external_names_together(dns_views, gated_resolver):
    views = dns_views(good_internal(), good_external())
    relay = gated_resolver(views["external"][0], together=5)
    site = make_site({"dns": {**views, "external": [relay.endpoint]}, **SITE_TIMEOUT})
    outcome = judge(site, ["dns.split"])["dns.split"]
    assert outcome.status is Status.PASS, outcome.summary
    assert not relay.gate.held_apart
    assert sorted(relay.asked) == [
        ("_sip._tls.todorovic.fr", "SRV"), ("_sipfederationtls._tcp.todorovic.fr", "SRV"),
        ("_sipinternal._tcp.todorovic.fr", "SRV"), ("_sipinternaltls._tcp.todorovic.fr", "SRV"),
        ("sip.todorovic.fr", "A")]


def test_the_check_alone_asks_the_client_lookup_order_together(dns_views, gated_resolver):
    # No prefetch here: the check's own list (the server's A and the three SRV names a client tries) goes
    # at once; the SRV target's A follows its SRV answer.
    views = dns_views(good_internal())
    relay = gated_resolver(views["internal"][0], together=4)
    with RunSetup(make_site({"dns": {"internal": [relay.endpoint]}, **SITE_TIMEOUT}), "post") as setup:
        result = sip_tls_srv(setup.context)
    assert result.status is Status.PASS, result.summary
    assert not relay.gate.held_apart
    assert relay.asked[4:] == [("sip.todorovic.fr", "A")]


def test_the_prefetch_asks_the_site_names_of_the_selected_checks_in_both_views(dns_views, gated_resolver):
    views = dns_views(good_internal(), good_external())
    internal = gated_resolver(views["internal"][0], together=6)  # server A, sip A, 3 SRV, the zone's SOA
    external = gated_resolver(views["external"][0], together=5)
    site = make_site({"dns": {**views, "internal": [internal.endpoint], "external": [external.endpoint]},
                      **SITE_TIMEOUT})
    with RunSetup(site, "post") as setup:  # no check runs: only the prefetch asks
        prefetch.start(setup.facts, setup.phase, select_checks(site, "post", ["dns.*"], []))  # in the background
        deadline = time.monotonic() + 10
        while not (internal.gate.opened and external.gate.opened) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert internal.gate.opened and external.gate.opened
    assert not internal.gate.held_apart and not external.gate.held_apart
    assert sorted(internal.asked) == [("_sip._tls.todorovic.fr", "SRV"), ("_sipinternal._tcp.todorovic.fr", "SRV"),
                                      ("_sipinternaltls._tcp.todorovic.fr", "SRV"), ("ocs.todorovic.adds", "A"),
                                      ("sip.todorovic.fr", "A"), ("todorovic.fr", "SOA")]
