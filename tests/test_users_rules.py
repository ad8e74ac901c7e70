"""users.sip's rules without a server: the summary built from raw entries as the paged search returns
them, and recorded summaries replayed (old recordings without the fields added since)."""
from __future__ import annotations

from ocscheck.facts.ldap import key as ldap_key
from ocscheck.facts.ldap.users import summarise
from ocscheck.model import Status
from ocscheck.values.ad import RtcObject, RtcService, RtcTree, SipUserSummary, UserSample
from tests.helpers import judge, make_site

URL = "ldaps://dc.todorovic.adds"
SERVICE = "CN=RTC Service,CN=Services,CN=Configuration,DC=todorovic,DC=adds"
POOL = f"CN=ocs,CN=Pools,{SERVICE}"


def entry(name: str, home: str, uac: int = 0x200):
    return (f"CN={name},CN=Users,DC=todorovic,DC=adds",
            {"msRTCSIP-PrimaryUserAddress": [f"sip:{name}@todorovic.fr".encode()],
             "msRTCSIP-PrimaryHomeServer": [home.encode()], "mail": [f"{name}@todorovic.fr".encode()],
             "userAccountControl": [str(uac).encode()]})


def test_home_servers_differing_only_in_case_are_one_home():
    summary = SipUserSummary.from_json(summarise(iter([
        entry("alice", f"CN=LC Services,CN=Microsoft,{POOL}"),
        entry("bob", f"CN=Lc Services,CN=Microsoft,{POOL}")]), conn=None, base="DC=todorovic,DC=adds"))
    assert list(summary.home_servers) == [f"CN=LC Services,CN=Microsoft,{POOL}"]
    assert summary.home_servers[f"CN=LC Services,CN=Microsoft,{POOL}"].count == 2


def test_disabled_accounts_are_kept_apart():
    summary = SipUserSummary.from_json(summarise(iter([
        entry("alice", f"CN=LC Services,CN=Microsoft,{POOL}"),
        entry("carl", "CN=gone,DC=todorovic,DC=adds", uac=0x202)]), conn=None, base="DC=todorovic,DC=adds"))
    assert summary.total == 2 and summary.valid_candidates == 1
    assert summary.disabled == UserSample(1, (("CN=carl,CN=Users,DC=todorovic,DC=adds", "sip:carl@todorovic.fr"),))
    assert list(summary.home_servers) == [f"CN=LC Services,CN=Microsoft,{POOL}"]  # the disabled one is not judged


def recorded(summary: dict):
    tree = RtcTree((RtcService(SERVICE, "configuration"),),
                   (RtcObject(POOL, SERVICE, "msRTCSIP-Pool", dns_host_name="ocs.todorovic.adds"),))
    rootdse = {"forestFunctionality": 4, "domainFunctionality": 4, "domainControllerFunctionality": 4,
               "defaultNamingContext": "DC=todorovic,DC=adds",
               "configurationNamingContext": "CN=Configuration,DC=todorovic,DC=adds",
               "schemaNamingContext": "CN=Schema,CN=Configuration,DC=todorovic,DC=adds",
               "rootDomainNamingContext": "DC=todorovic,DC=adds", "namingContexts": [],
               "dnsHostName": "dc.todorovic.adds", "currentTime": None}
    return {ldap_key(URL, "rootdse"): {"value": rootdse}, ldap_key(URL, "rtc"): {"value": tree.to_json()},
            ldap_key(URL, "sip-users"): {"value": summary}}


def users_verdict(summary: dict):
    site = make_site({"ldap": {"url": URL, "user": "reader@todorovic.adds"}})
    return judge(site, ("users.sip",), "post", env={"OCSCHECK_LDAP_PASSWORD": "x"},
                 replay=recorded(summary))["users.sip"]


OLD_RECORDING = {  # a summary recorded before the disabled accounts were read
    "total": 1, "domains": {"todorovic.fr": {"count": 1, "sample": ["CN=alice,CN=Users,DC=todorovic,DC=adds"]}},
    "home_servers": {f"CN=Lc Services,CN=Microsoft,CN=OCS,CN=Pools,{SERVICE.upper()}":
                     {"count": 1, "sample": ["CN=alice,CN=Users,DC=todorovic,DC=adds"]}},
    "no_home": {"count": 0, "sample": []}, "malformed": {"count": 0, "sample": []},
    "mail_mismatch": {"count": 0, "sample": []}, "no_mail": {"count": 0, "sample": []}, "duplicates": {}}


def test_old_recording_replays_and_a_lync_spelt_home_server_is_the_pool():
    outcome = users_verdict(OLD_RECORDING)
    assert outcome.status == Status.PASS, outcome.evidence
    assert outcome.summary == "1 SIP-enabled users valid and homed on an existing pool"


def test_recorded_disabled_account_warns():
    summary = {**OLD_RECORDING, "total": 2,
               "disabled": {"count": 1, "sample": [["CN=carl,CN=Users,DC=todorovic,DC=adds", "sip:carl@todorovic.fr"]]}}
    outcome = users_verdict(summary)
    assert outcome.status == Status.WARN
    assert outcome.summary == ("1 SIP-enabled users valid; 1 AD-disabled account(s) still SIP-enabled (not counted "
                               "as valid)")
