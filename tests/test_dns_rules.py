"""DNS verdict rules on recorded facts (replay, no server): answers dnsmasq cannot be made to give."""
from __future__ import annotations

from ocscheck.facts.dns import zone_key
from ocscheck.model import Status
from ocscheck.values.dns import SoaRecord, ZoneAnswer
from tests.helpers import judge, make_site

SITE = {"dns": {"internal": ["10.0.0.10", "10.0.0.11"]}}


def zone_facts(*answers: ZoneAnswer):
    return {zone_key("internal", "todorovic.fr"): {"value": [a.to_json() for a in answers]}}


def verdict(*answers: ZoneAnswer):
    return judge(make_site(SITE), ["dns.sip-zone"], "preflight", replay=zone_facts(*answers))["dns.sip-zone"]


SOA = SoaRecord("todorovic.fr", "dc1.todorovic.adds", "hostmaster.todorovic.adds", 42)


def test_soa_without_authority_warns_naming_the_primary():
    outcome = verdict(ZoneAnswer("todorovic.fr", "10.0.0.10:53", "NOERROR", True, SOA),
                      ZoneAnswer("todorovic.fr", "10.0.0.11:53", "NOERROR", False, SOA))
    assert outcome.status == Status.WARN
    assert outcome.summary == ("10.0.0.11:53 answers the SOA of todorovic.fr without authority (forwarded or cached; "
                               "primary dc1.todorovic.adds): it does not host the zone")
    assert outcome.remediation.startswith("dnscmd . /zoneadd todorovic.fr /dsprimary")


def test_nxdomain_inside_a_parent_zone_fails_and_names_the_zone():
    outcome = verdict(ZoneAnswer("todorovic.fr", "10.0.0.10:53", "NXDOMAIN", False, None, "fr"),
                      ZoneAnswer("todorovic.fr", "10.0.0.11:53", "NOERROR", True, SOA))
    assert outcome.status == Status.FAIL
    assert outcome.summary == "10.0.0.10:53 has no zone for todorovic.fr (NXDOMAIN, the name lies in zone fr)"


def test_zone_answer_round_trips_through_a_recording():
    answer = ZoneAnswer("todorovic.fr", "10.0.0.10:53", "NOERROR", True, SOA, "", "")
    assert ZoneAnswer.from_json(answer.to_json()) == answer
