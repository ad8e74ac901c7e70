"""ad.prep-replicated's comparison rule on values, and on replayed facts (no server): what a DC lacks or
holds beyond the site's DC, and which way the fix replicates."""
from __future__ import annotations

from ocscheck.facts.ldap import key as ldap_key
from ocscheck.model import Status
from ocscheck.values.ad import PrepContent, RootDse, RtcObject, RtcService, RtcTree, SchemaVersion
from tests.helpers import judge, make_site


def content(schema=1008, partitions=("configuration",), domains=("todorovic.fr",), pools=("ocs.todorovic.adds",)):
    return PrepContent(schema, frozenset(partitions), frozenset(domains), frozenset(pools))


def test_same_content_has_no_difference():
    assert content().differences(content()) == []


def test_unprepared_schema_and_missing_rtc_service_are_named_with_their_naming_context():
    dc = content(schema=None, partitions=(), domains=(), pools=())
    assert dc.differences(content()) == [
        ("schema version none (not prepared), the site's DC 1008", "schema", "dc"),
        ("lacks the RTC Service in the configuration partition (forest prep)", "configuration", "dc"),
        ("lacks SIP domain(s) todorovic.fr", "configuration", "dc"),
        ("lacks pool(s) ocs.todorovic.adds", "configuration", "dc")]


def test_content_the_site_dc_lacks_is_a_difference_too():
    dc = content(schema=1009, domains=("todorovic.fr", "todorovic.com"))
    assert dc.differences(content()) == [("schema version 1009, the site's DC 1008", "schema", "site"),
                                         ("holds SIP domain(s) todorovic.com that the site's DC lacks",
                                          "configuration", "site")]


def test_system_partition_content_lives_in_the_root_domain_and_can_be_left_uncompared():
    reference = content(partitions=("system",))
    other_domain_dc = content(partitions=(), domains=(), pools=())
    assert other_domain_dc.differences(reference, compare_rtc=False) == []
    assert ("lacks SIP domain(s) todorovic.fr", "system", "dc") in other_domain_dc.differences(reference)


# Replayed: the site's DC is the one behind (it missed the schema update the other DC holds).

BASE = "DC=todorovic,DC=adds"
SITE_URL, DC2_URL = "ldaps://dc1.todorovic.adds", "ldaps://dc2.todorovic.adds"
SERVICE = f"CN=RTC Service,CN=Services,CN=Configuration,{BASE}"


def dc_facts(url: str, name: str, schema: int):
    dse = RootDse(4, 4, 4, BASE, f"CN=Configuration,{BASE}", f"CN=Schema,CN=Configuration,{BASE}", BASE, (BASE,),
                  name, None)
    tree = RtcTree((RtcService(SERVICE, "configuration"),),
                   (RtcObject(f"CN={{0}},CN=Global Settings,{SERVICE}", SERVICE, "msRTCSIP-Domain",
                              domain_name="todorovic.fr", default=True),))
    return {ldap_key(url, "rootdse"): {"value": dse.to_json()},
            ldap_key(url, "schema-version"): {"value": SchemaVersion(schema, 3).to_json()},
            ldap_key(url, "rtc"): {"value": tree.to_json()}}


def test_site_dc_behind_gets_the_replication_towards_itself():
    facts = {**dc_facts(SITE_URL, "dc1.todorovic.adds", 1007), **dc_facts(DC2_URL, "dc2.todorovic.adds", 1008),
             ldap_key(SITE_URL, "dsas"): {"value": {"g1": "dc1.todorovic.adds", "g2": "dc2.todorovic.adds"}}}
    site = make_site({"ldap": {"url": SITE_URL, "user": "reader@todorovic.adds"}})
    outcome = judge(site, ("ad.prep-replicated",), "preflight", env={"OCSCHECK_LDAP_PASSWORD": "x"},
                    replay=facts)["ad.prep-replicated"]
    assert outcome.status == Status.FAIL
    assert outcome.summary == ("not replicated to every DC: dc2.todorovic.adds: schema version 1008, the site's "
                               "DC 1007")
    assert outcome.remediation.splitlines()[:2] == [
        f'repadmin /replicate dc1.todorovic.adds dc2.todorovic.adds "CN=Schema,CN=Configuration,{BASE}"',
        "repadmin /showrepl dc1.todorovic.adds"]
