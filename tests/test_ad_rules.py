"""Verdict rules fed with recorded facts (replay, no server): values a lab DC cannot be put into
(forest level 0, the 1006 schema) and account states, judged exactly as from a live DC."""
from __future__ import annotations

import datetime

import pytest

from ocscheck.checks.ad.accounts import account_problems
from ocscheck.facts.ldap import key as ldap_key
from ocscheck.model import Status
from ocscheck.values.ad import Account, DomainPolicy, RootDse, RtcObject, RtcService, RtcTree, SchemaVersion
from tests.helpers import judge, make_site

URL = "ldaps://dc.todorovic.adds"
BASE = "DC=todorovic,DC=adds"
NOW = datetime.datetime(2026, 11, 27, 12, 0, tzinfo=datetime.timezone.utc)
SITE = {"ldap": {"url": URL, "user": "reader@todorovic.adds"}}
ENV = {"OCSCHECK_LDAP_PASSWORD": "x"}


def rootdse(forest: int = 4, domain: int = 4):
    """The site DC's RootDSE fact, recorded as the LDAP source records it."""
    value = RootDse(forest, domain, 4, BASE, f"CN=Configuration,{BASE}", f"CN=Schema,CN=Configuration,{BASE}",
                    BASE, (BASE,), "dc.todorovic.adds", NOW.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return {ldap_key(URL, "rootdse"): {"value": value.to_json()}}


def verdict(check_id: str, facts, phase: str = "preflight"):
    return judge(make_site(SITE), (check_id,), phase, env=ENV, replay=facts)[check_id]


@pytest.mark.parametrize("forest, status, summary", [
    (0, Status.FAIL, "forest level Windows 2000 (0) is below Windows Server 2003"),
    (1, Status.FAIL, "forest level Windows Server 2003 interim (1) is below Windows Server 2003"),
    (2, Status.PASS, "forest level Windows Server 2003 (2)"),
    (3, Status.PASS, "forest level Windows Server 2008 (3)"),
])
def test_forest_levels(forest, status, summary):
    outcome = verdict("ad.forest-level", rootdse(forest=forest))
    assert (outcome.status, outcome.summary) == (status, summary)
    if status == Status.FAIL:
        assert "Set-ADForestMode -Identity todorovic.adds -ForestMode Windows2003Forest" in outcome.remediation


def test_domain_level_2000_fails():
    outcome = verdict("ad.domain-level", rootdse(domain=0))
    assert outcome.status == Status.FAIL
    assert "Set-ADDomainMode -Identity todorovic.adds -DomainMode Windows2003Domain" in outcome.remediation


@pytest.mark.parametrize("upper, status, words", [
    (1006, Status.FAIL, "older product (LCS 2005, 1006)"),
    (1150, Status.PASS, "later product (Lync Server 2013 / Skype for Business, 1150)"),
])
def test_schema_versions(upper, status, words):
    facts = {**rootdse(), ldap_key(URL, "schema-version"): {"value": SchemaVersion(upper, 3).to_json()}}
    outcome = verdict("ad.schema-prep", facts)
    assert outcome.status == status and words in outcome.summary


def filetime(moment: datetime.datetime) -> int:
    return int((moment - datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)).total_seconds() * 10**7)


DAY = 86400 * 10**7
POLICY = {"maxPwdAge": -42 * DAY, "lockoutDuration": -30 * 60 * 10**7, "lockoutThreshold": 5}


def account(**values):
    base = {"dn": "CN=RTCService,CN=Users,DC=todorovic,DC=adds", "userAccountControl": 0x200,
            "pwdLastSet": filetime(NOW - datetime.timedelta(days=1)), "lockoutTime": 0,
            "accountExpires": 0x7FFFFFFFFFFFFFFF, "msDS-UserPasswordExpiryTimeComputed": None,
            "msDS-User-Account-Control-Computed": None}
    base.update(values)
    return base


def _account_problems(recorded_account, recorded_policy, now, threshold_days):
    """The verdict rule on an account and a policy in their recorded forms."""
    return account_problems(Account.from_json(recorded_account), DomainPolicy.from_json(recorded_policy), now,
                            threshold_days)


EXPIRES_IN_41_DAYS = "password expires 2027-01-07 12:00 UTC (41 days)"


def test_expiry_from_pwdlastset_and_maxpwdage_when_not_computed():
    problems, warnings, notes, fixes = _account_problems(account(), POLICY, NOW, 30)
    # Beyond the threshold a password that can expire still warns, naming the date (issue 9, correction 5).
    assert problems == [] and notes == []
    assert warnings == [EXPIRES_IN_41_DAYS + ': the OCS services stop when it does ("password never expires" '
                        'is not set)']
    assert fixes[0].startswith('dsmod user "CN=RTCService,CN=Users,DC=todorovic,DC=adds" -pwdneverexpires yes')
    problems, warnings, _, fixes = _account_problems(account(), POLICY, NOW, 45)
    assert problems == [EXPIRES_IN_41_DAYS + ", within the 45-day threshold"] and warnings == []
    assert fixes[0].startswith('dsmod user "CN=RTCService,CN=Users,DC=todorovic,DC=adds" -pwdneverexpires yes')


def expiring_account_facts(**values):
    """Recorded facts of a site whose RTCService account is ``account(**values)`` under POLICY, and
    whose RTCComponentService password never expires."""
    never = account(dn="CN=RTCComponentService,CN=Users,DC=todorovic,DC=adds", userAccountControl=0x10200)
    return {**rootdse(), ldap_key(URL, "domain-policy"): {"value": POLICY},
            ldap_key(URL, "account:rtcservice"): {"value": account(**values)},
            ldap_key(URL, "account:rtccomponentservice"): {"value": never},
            "clock:now": {"value": NOW.isoformat()}}


def test_password_that_can_expire_warns_with_its_date_and_never_expiring_passes():
    outcome = verdict("ad.service-accounts", expiring_account_facts())
    assert outcome.status == Status.WARN, outcome.summary
    assert outcome.summary.startswith("RTCService: " + EXPIRES_IN_41_DAYS)
    assert "-pwdneverexpires yes" in outcome.remediation
    assert "RTCComponentService (CN=RTCComponentService,CN=Users,DC=todorovic,DC=adds): password never expires" \
        in outcome.evidence
    never = verdict("ad.service-accounts", expiring_account_facts(userAccountControl=0x10200))
    assert never.status == Status.PASS and never.summary == "service accounts usable; their passwords cannot expire"


def test_must_change_password_and_expired_account():
    problems, _, _, fixes = _account_problems(
        account(pwdLastSet=0, accountExpires=filetime(NOW - datetime.timedelta(days=2))), POLICY, NOW, 30)
    assert problems == ["account expires 2026-11-25", "password expired or must be changed at next logon"]
    assert any("-acctexpires never" in f for f in fixes)


def test_lockout_from_lockouttime_on_a_2003_dc():
    recent = filetime(NOW - datetime.timedelta(minutes=5))
    old = filetime(NOW - datetime.timedelta(hours=2))
    locked = _account_problems(account(lockoutTime=recent), POLICY, NOW, 30)[0]
    assert locked == ["locked out since 2026-11-27 11:55 UTC"]
    assert _account_problems(account(lockoutTime=old), POLICY, NOW, 30)[0] == []  # lockout duration elapsed
    until_unlocked = {**POLICY, "lockoutDuration": -0x8000000000000000}
    assert _account_problems(account(lockoutTime=old), until_unlocked, NOW, 30)[0] == [
        "locked out since 2026-11-27 10:00 UTC"]


def test_no_maximum_password_age_means_no_expiry():
    problems, warnings, notes, _ = _account_problems(account(), {**POLICY, "maxPwdAge": 0}, NOW, 30)
    assert problems == [] and warnings == [] and notes == ["password does not expire (no maximum password age applies)"]


def test_computed_expiry_wins_over_the_domain_policy():
    # A fine-grained policy without maximum age: the DC computes "never" although maxPwdAge is 42 days.
    never = account(**{"msDS-UserPasswordExpiryTimeComputed": 0x7FFFFFFFFFFFFFFF})
    assert _account_problems(never, POLICY, NOW, 30)[:3] == ([], [], ["password does not expire (no maximum "
                                                                      "password age applies)"])
    soon = account(**{"msDS-UserPasswordExpiryTimeComputed": filetime(NOW + datetime.timedelta(days=2))})
    assert _account_problems(soon, POLICY, NOW, 30)[0] == [
        "password expires 2026-11-29 12:00 UTC (2 days), within the 30-day threshold"]


SERVICE = f"CN=RTC Service,CN=Services,CN=Configuration,{BASE}"


def rtc_tree(*sip_domains: str):
    """The rtc fact: forest prep in the configuration partition with ``sip_domains`` (the first default)."""
    objects = [RtcObject(f"CN=Global Settings,{SERVICE}", SERVICE, "msRTCSIP-GlobalContainer")]
    objects += [RtcObject(f"CN={{{i}}},CN=Global Settings,{SERVICE}", SERVICE, "msRTCSIP-Domain", domain_name=d,
                          default=i == 0) for i, d in enumerate(sip_domains)]
    return {ldap_key(URL, "rtc"): {"value": RtcTree((RtcService(SERVICE, "configuration"),), tuple(objects)).to_json()}}


def sip_domain_verdict(deployment):
    site = make_site({**SITE, "deployment": deployment})
    facts = {**rootdse(), **rtc_tree(*deployment["sip_domains"])}
    return judge(site, ("ad.sip-domain",), "preflight", env=ENV, replay=facts)["ad.sip-domain"]


def test_sip_domain_equal_to_a_public_ad_domain_passes():
    # The tutorial: with a public AD domain the SIP domain defaults to it (the old rule warned).
    outcome = sip_domain_verdict({"ad_domain": "todorovic.fr", "sip_domains": ["todorovic.fr"],
                                  "server_fqdn": "ocs.todorovic.fr"})
    assert outcome.status == Status.PASS, outcome.summary


@pytest.mark.parametrize("domain", ["todorovic.adds", "todorovic.local", "corp.example"])
def test_sip_domain_with_a_private_suffix_warns(domain):
    outcome = sip_domain_verdict({"ad_domain": "todorovic.adds", "sip_domains": [domain]})
    assert outcome.status == Status.WARN
    suffix = "." + domain.rsplit(".", 1)[1]
    assert outcome.summary.startswith(f"SIP domain(s) {domain} are private AD names (suffix {suffix} is not public)")
