"""DNS checks against real dnsmasq servers (internal and external views)."""
from __future__ import annotations

import socket
import time

import pytest

from ocscheck.model import Status
from tests.helpers import judge, make_site
from tests.lab import DEAD
from tests.lab.dnsmasq import good_external, good_internal

DNS_IDS = ["dns.*"]


def run(dns_table, **deployment):
    site = make_site({"dns": dns_table, "deployment": deployment})
    return judge(site, DNS_IDS, "post")


def statuses(outcomes):
    return {check_id: o.status.value for check_id, o in outcomes.items()}


def test_all_records_right(dns_views):
    outcomes = run(dns_views(good_internal(), good_external()))
    assert statuses(outcomes) == {"dns.server-a": "pass", "dns.sip-cname": "pass", "dns.sip-tls-srv": "pass",
                                  "dns.sipinternal-srv": "pass", "dns.split": "pass"}
    srv = outcomes["dns.sip-tls-srv"]
    assert any("_sip._tls.todorovic.fr answers first" in e for e in srv.evidence)
    assert "absent" in outcomes["dns.sipinternal-srv"].summary
    assert "differ between views" in outcomes["dns.split"].summary


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


def test_external_view_missing_records_fails_and_lists_them(dns_views):
    external = good_external()
    external.srv = []
    outcome = run(dns_views(good_internal(), external))["dns.split"]
    assert outcome.status is Status.FAIL
    assert outcome.summary == "missing from the external view: _sip._tls.todorovic.fr SRV"
    assert "/recordadd todorovic.fr _sip._tls SRV 0 0 5061 sip.todorovic.fr" in outcome.remediation


def test_external_view_differing_is_listed(dns_views):
    external = good_external()
    external.srv = [("_sip._tls.todorovic.fr", "sip.todorovic.fr", 443, 0, 0)]
    outcome = run(dns_views(good_internal(), external))["dns.split"]
    assert outcome.status is Status.PASS
    assert "differences between the views: _sip._tls.todorovic.fr SRV, sip.todorovic.fr A" in outcome.evidence
    assert any("internal 0 0 5061 sip.todorovic.fr | external 0 0 443 sip.todorovic.fr" in e for e in outcome.evidence)


def test_external_view_publishing_private_address_warns(dns_views):
    external = good_external()
    external.a = {"sip.todorovic.fr": ["10.1.2.3"]}
    outcome = run(dns_views(good_internal(), external))["dns.split"]
    assert outcome.status is Status.WARN
    assert "10.1.2.3" in outcome.summary


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


def test_external_srv_target_not_resolving_outside_fails(dns_views):
    external = good_external()
    external.a = {}
    outcome = run(dns_views(good_internal(), external))["dns.split"]
    assert outcome.status is Status.FAIL
    assert "sip.todorovic.fr, which does not resolve outside" in outcome.summary
    assert "publish an A record for sip.todorovic.fr in the external zone" in outcome.remediation
