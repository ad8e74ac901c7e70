"""DNS checks against real dnsmasq servers (internal and external views)."""
from __future__ import annotations

import socket
import time

import pytest

from ocscheck.model import Status
from tests.helpers import judge, make_site
from tests.lab import DEAD
from tests.lab.dnsmasq import Zone, edge_external, good_external, good_internal

DNS_IDS = ["dns.*"]


def run(dns_table, **deployment):
    site = make_site({"dns": dns_table, "deployment": deployment})
    return judge(site, DNS_IDS, "post")


def statuses(outcomes):
    return {check_id: o.status.value for check_id, o in outcomes.items()}


def test_all_records_right(dns_views):
    outcomes = run(dns_views(good_internal(), good_external()))
    assert statuses(outcomes) == {"dns.server-a": "pass", "dns.sip-zone": "pass", "dns.sip-cname": "pass",
                                  "dns.sip-tls-srv": "pass", "dns.sipinternal-srv": "pass", "dns.split": "pass"}
    srv = outcomes["dns.sip-tls-srv"]
    assert any("_sip._tls.todorovic.fr answers first" in e for e in srv.evidence)
    assert "absent" in outcomes["dns.sipinternal-srv"].summary
    # The tutorial's deployment has no Edge: no SIP record outside is what "none" expects.
    assert outcomes["dns.split"].summary == ("no SIP record in the public DNS, as expected without an Edge server "
                                             "(external access none) for todorovic.fr")


@pytest.mark.parametrize("port", [5060, 443])
def test_srv_on_wrong_port_fails(dns_views, port):
    zone = good_internal()
    zone.srv = [("_sip._tls.todorovic.fr", "sip.todorovic.fr", port, 0, 0)]
    outcome = run(dns_views(zone))["dns.sip-tls-srv"]
    assert outcome.status is Status.FAIL
    assert f"port {port}, not 5061" in outcome.summary
    assert "dnscmd . /recordadd todorovic.fr _sip._tls SRV 0 0 5061 sip.todorovic.fr" in outcome.remediation
    assert f"/recorddelete todorovic.fr _sip._tls SRV 0 0 {port} sip.todorovic.fr /f" in outcome.remediation


def test_srv_target_outside_sip_domain_fails_strict_naming(dns_views):
    zone = good_internal()
    zone.srv = [("_sip._tls.todorovic.fr", "ocs.todorovic.adds", 5061, 0, 0)]
    outcome = run(dns_views(zone))["dns.sip-tls-srv"]
    assert outcome.status is Status.FAIL
    assert "outside the SIP domain todorovic.fr" in outcome.summary
    assert "strict naming" in outcome.summary


def test_srv_target_not_resolving_fails(dns_views):
    zone = good_internal()
    zone.srv = [("_sip._tls.todorovic.fr", "sip2.todorovic.fr", 5061, 0, 0)]
    outcome = run(dns_views(zone))["dns.sip-tls-srv"]
    assert outcome.status is Status.FAIL
    assert "sip2.todorovic.fr does not resolve" in outcome.summary


def test_srv_missing_fails_with_exact_dnscmd(dns_views):
    zone = good_internal()
    zone.srv = []
    outcome = run(dns_views(zone), server_ip="127.0.0.20")["dns.sip-tls-srv"]
    assert outcome.status is Status.FAIL
    assert outcome.remediation.splitlines()[0] == \
        "dnscmd . /recordadd todorovic.fr _sip._tls SRV 0 0 5061 sip.todorovic.fr"


def test_sip_cname_missing_fails(dns_views):
    zone = good_internal()
    zone.cname = {}
    outcomes = run(dns_views(zone))
    outcome = outcomes["dns.sip-cname"]
    assert outcome.status is Status.FAIL
    assert "sip.todorovic.fr does not resolve (NXDOMAIN)" in outcome.summary
    assert "dnscmd . /recordadd todorovic.fr sip CNAME ocs.todorovic.adds" in outcome.remediation
    # The SRV target is sip.todorovic.fr too: it now fails for the same reason.
    assert outcomes["dns.sip-tls-srv"].status is Status.FAIL


def test_sip_a_record_to_the_server_passes(dns_views):
    zone = good_internal()
    zone.cname = {}
    zone.a["sip.todorovic.fr"] = ["127.0.0.20"]
    assert run(dns_views(zone))["dns.sip-cname"].status is Status.PASS


def test_sip_pointing_elsewhere_fails(dns_views):
    zone = good_internal()
    zone.cname = {}
    zone.a["sip.todorovic.fr"] = ["127.0.0.99"]
    outcome = run(dns_views(zone))["dns.sip-cname"]
    assert outcome.status is Status.FAIL
    assert "not to ocs.todorovic.adds" in outcome.summary


def test_sipinternaltls_present_and_correct_passes(dns_views):
    zone = good_internal()
    zone.srv.append(("_sipinternaltls._tcp.todorovic.fr", "sip.todorovic.fr", 5061, 0, 0))
    outcomes = run(dns_views(zone))
    assert outcomes["dns.sipinternal-srv"].status is Status.PASS
    assert "reach the server" in outcomes["dns.sipinternal-srv"].summary
    assert any("_sipinternaltls._tcp.todorovic.fr answers first" in e for e in outcomes["dns.sip-tls-srv"].evidence)


def test_sipinternaltls_pointing_elsewhere_fails(dns_views):
    zone = good_internal()
    zone.a["old.todorovic.fr"] = ["127.0.0.99"]
    zone.srv.append(("_sipinternaltls._tcp.todorovic.fr", "old.todorovic.fr", 5061, 0, 0))
    outcome = run(dns_views(zone))["dns.sipinternal-srv"]
    assert outcome.status is Status.FAIL
    assert "old.todorovic.fr resolves to 127.0.0.99" in outcome.summary
    assert "/recorddelete todorovic.fr _sipinternaltls._tcp SRV 0 0 5061 old.todorovic.fr /f" in outcome.remediation


def tutorial_5061_outside() -> Zone:
    """The old lab's public view: _sip._tls on 5061 to sip.<d>, as if the internal server were published."""
    return Zone(a={"sip.todorovic.fr": ["203.0.113.10"]},
                srv=[("_sip._tls.todorovic.fr", "sip.todorovic.fr", 5061, 0, 0)], domains=("todorovic.fr",))


def test_no_edge_and_sip_records_published_outside_warns_without_advising_5061(dns_views):
    outcome = run(dns_views(good_internal(), tutorial_5061_outside()))["dns.split"]
    assert outcome.status is Status.WARN, outcome.summary
    assert outcome.summary == ("external access is none (no Edge), yet the public DNS publishes _sip._tls.todorovic.fr "
                               "SRV (0 0 5061 sip.todorovic.fr), sip.todorovic.fr A (203.0.113.10)")
    assert "dnscmd <external DNS server> /recorddelete todorovic.fr _sip._tls SRV /f" in outcome.remediation
    assert "/recordadd" not in outcome.remediation and "5061" not in outcome.remediation


def test_no_edge_external_view_exposing_internal_names_and_private_addresses_warns(dns_views):
    external = Zone(a={"sip.todorovic.fr": ["10.1.2.3"], "ocs.todorovic.adds": ["10.1.2.3"]},
                    srv=[("_sip._tls.todorovic.fr", "ocs.todorovic.adds", 5061, 0, 0)],
                    domains=("todorovic.fr", "todorovic.adds"))
    outcome = run(dns_views(good_internal(), external))["dns.split"]
    assert outcome.status is Status.WARN
    assert outcome.summary.startswith("_sip._tls.todorovic.fr SRV exposes internal name(s) ocs.todorovic.adds; "
                                      "_sip._tls.todorovic.fr SRV publishes private address(es) 10.1.2.3; "
                                      "sip.todorovic.fr A publishes private address(es) 10.1.2.3; "), outcome.summary
    assert "5061" not in outcome.remediation


EDGE = {"external_access": "edge", "access_edge_fqdn": "sip.todorovic.fr"}


@pytest.mark.parametrize("federation", [False, True])
def test_edge_on_443_with_federation_passes(dns_views, federation):
    outcome = run(dns_views(good_internal(), edge_external()), **EDGE, federation=federation)["dns.split"]
    assert outcome.status is Status.PASS, (outcome.summary, outcome.evidence)
    assert outcome.summary.startswith("the public DNS leads to the Access Edge sip.todorovic.fr: _sip._tls on 443, "
                                      "sip.<d> public")
    assert ("_sipfederationtls._tcp on 5061" in outcome.summary) is federation


def test_edge_with_the_5061_record_and_no_federation_record_fails(dns_views):
    outcome = run(dns_views(good_internal(), tutorial_5061_outside()), **EDGE, federation=True)["dns.split"]
    assert outcome.status is Status.FAIL
    assert outcome.summary == ("_sip._tls.todorovic.fr SRV 0 0 5061 sip.todorovic.fr: port 5061, not 443 (the Access "
                               "Edge's); _sipfederationtls._tcp.todorovic.fr SRV is missing from the public DNS")
    assert outcome.remediation.splitlines() == [
        "dnscmd <external DNS server> /recorddelete todorovic.fr _sip._tls SRV 0 0 5061 sip.todorovic.fr /f",
        "dnscmd <external DNS server> /recordadd todorovic.fr _sip._tls SRV 0 0 443 sip.todorovic.fr",
        "dnscmd <external DNS server> /recordadd todorovic.fr _sipfederationtls._tcp SRV 0 0 5061 sip.todorovic.fr"]


def test_edge_missing_everything_fails(dns_views):
    outcome = run(dns_views(good_internal(), good_external()), **EDGE)["dns.split"]
    assert outcome.status is Status.FAIL
    assert outcome.summary.startswith("the Access Edge sip.todorovic.fr does not resolve outside (NXDOMAIN); "
                                      "_sip._tls.todorovic.fr SRV is missing from the public DNS")
    assert "/recordadd todorovic.fr _sip._tls SRV 0 0 443 sip.todorovic.fr" in outcome.remediation


def test_edge_srv_target_outside_the_sip_domain_fails(dns_views):
    external = edge_external()
    external.a["edge.contoso.net"] = ["203.0.113.10"]
    external.domains = ("todorovic.fr", "contoso.net")
    external.srv = [("_sip._tls.todorovic.fr", "edge.contoso.net", 443, 0, 0)]
    outcome = run(dns_views(good_internal(), external), **EDGE)["dns.split"]
    assert outcome.status is Status.FAIL
    assert "target edge.contoso.net is outside the SIP domain todorovic.fr (strict naming)" in outcome.summary
    assert "is not the Access Edge" not in outcome.summary  # it resolves to the Edge's address


def test_split_without_external_resolver_skips(dns_views):
    outcome = run(dns_views(good_internal()))["dns.split"]
    assert outcome.status is Status.SKIP
    assert "no external DNS resolver" in outcome.summary


def test_server_not_resolving_fails(dns_views):
    zone = good_internal()
    del zone.a["ocs.todorovic.adds"]
    outcome = run(dns_views(zone), server_ip="127.0.0.20")["dns.server-a"]
    assert outcome.status is Status.FAIL
    assert "does not resolve on the internal resolvers (NXDOMAIN)" in outcome.summary
    assert outcome.remediation.startswith("dnscmd . /recordadd todorovic.adds ocs A 127.0.0.20")


def test_server_a_mismatch_with_server_ip_fails(dns_views):
    outcome = run(dns_views(good_internal()), server_ip="127.0.0.21")["dns.server-a"]
    assert outcome.status is Status.FAIL
    assert "not to the site's server_ip 127.0.0.21" in outcome.summary
    assert "dnscmd . /recordadd todorovic.adds ocs A 127.0.0.21" in outcome.remediation


def test_truncated_answer_falls_back_to_tcp(dns_views):
    zone = good_internal()
    zone.srv = [("_sip._tls.todorovic.fr", "sip.todorovic.fr", 5061, prio, 0) for prio in range(120)]
    outcome = run(dns_views(zone))["dns.sip-tls-srv"]
    assert outcome.status is Status.PASS
    assert "SRV 0 0 5061 sip.todorovic.fr" in outcome.evidence[0] and "SRV 119 0 5061" in outcome.evidence[0]


def test_silent_resolver_errors_within_the_timeout(silent_resolver):
    site = make_site({"dns": {"internal": [silent_resolver]}, "run": {"timeout": 1.5}})
    started = time.monotonic()
    outcomes = judge(site, DNS_IDS, "post")
    elapsed = time.monotonic() - started
    assert elapsed < 1.5 * 3 + 1
    for check_id in ("dns.server-a", "dns.sip-cname", "dns.sip-tls-srv", "dns.sipinternal-srv"):
        assert outcomes[check_id].status is Status.ERROR, check_id
        assert "timed out" in outcomes[check_id].summary


def test_nothing_listening_errors_within_the_timeout():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind((DEAD, 0))
        port = probe.getsockname()[1]
    site = make_site({"dns": {"internal": [f"{DEAD}:{port}"]}, "run": {"timeout": 1.0}})
    started = time.monotonic()
    outcome = judge(site, ["dns.server-a"], "post")["dns.server-a"]
    assert time.monotonic() - started < 4
    assert outcome.status is Status.ERROR


def test_record_then_replay_gives_identical_verdicts(dns_views):
    site = make_site({"dns": dns_views(good_internal(), good_external())})
    first = judge(site, DNS_IDS, "post")
    recording = first.recording
    assert all(key.startswith("dns:") for key in recording)
    replayed = judge(site, DNS_IDS, "post", replay=recording)
    assert [(o.id, o.status, o.summary, o.evidence) for o in first.values()] == \
        [(o.id, o.status, o.summary, o.evidence) for o in replayed.values()]


def test_edge_srv_target_not_resolving_outside_fails(dns_views):
    external = edge_external()
    external.a = {}
    outcome = run(dns_views(good_internal(), external), **EDGE)["dns.split"]
    assert outcome.status is Status.FAIL
    assert "sip.todorovic.fr does not resolve to a public address outside (NXDOMAIN)" in outcome.summary


# ------------------------------------------------------------------------------------ dns.sip-zone

def test_sip_zone_hosted_passes_and_missing_fails_with_zoneadd(dns_views):
    outcome = run(dns_views(good_internal()))["dns.sip-zone"]
    assert outcome.status is Status.PASS, outcome.evidence
    assert outcome.summary == "the internal DNS hosts a zone for todorovic.fr"
    assert outcome.evidence[0].startswith("todorovic.fr SOA: ns.todorovic.fr hostmaster.ns.todorovic.fr serial ")
    zone = good_internal()
    zone.auth_zones = ()          # the records answer, but no server hosts the zone
    outcome = run(dns_views(zone))["dns.sip-zone"]
    assert outcome.status is Status.FAIL
    assert outcome.summary.startswith("127.0.0.53:") and "has no zone for todorovic.fr (NOERROR)" in outcome.summary
    assert outcome.remediation.splitlines()[0] == "dnscmd . /zoneadd todorovic.fr /dsprimary"


def test_sip_zone_each_resolver_is_asked(dns_views):
    """Two internal resolvers, one without the zone: the one that lacks it is named."""
    with_zone = dns_views(good_internal())["internal"][0]
    zone = good_internal()
    zone.auth_zones = ()
    without = dns_views(zone)["internal"][0]
    site = make_site({"dns": {"internal": [with_zone, without]}})
    outcome = judge(site, ["dns.sip-zone"], "preflight")["dns.sip-zone"]
    assert outcome.status is Status.FAIL
    assert outcome.summary.startswith(f"{without} has no zone for todorovic.fr")
    assert with_zone not in outcome.summary


def test_sip_zone_with_a_silent_second_resolver_is_an_error_naming_it(dns_views, silent_resolver):
    with_zone = dns_views(good_internal())["internal"][0]
    site = make_site({"dns": {"internal": [with_zone, silent_resolver]}, "run": {"timeout": 1.0}})
    outcome = judge(site, ["dns.sip-zone"], "preflight")["dns.sip-zone"]
    assert outcome.status is Status.ERROR
    assert outcome.summary == f"resolver {silent_resolver} did not answer the SOA of todorovic.fr: no answer within 1 s"


def test_edge_leading_to_a_private_address_warns_with_a_fix(dns_views):
    external = edge_external()
    external.a["sip.todorovic.fr"] = ["203.0.113.10", "192.168.1.10"]
    outcome = run(dns_views(good_internal(), external), **EDGE)["dns.split"]
    assert outcome.status is Status.WARN, outcome.summary
    assert outcome.summary == ("_sip._tls.todorovic.fr SRV publishes private address(es) 192.168.1.10; "
                               "sip.todorovic.fr A publishes private address(es) 192.168.1.10")
    assert outcome.remediation.startswith("In the external zone, point these names at the Access Edge's public")
