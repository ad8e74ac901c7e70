"""AD checks against a real Samba 4 AD DC carrying the OCS schema subset (tests/lab/samba.py).

The DC is shared by the session; the "good" forest below is built once for this module and every
scenario changes it and puts it back.
"""
from __future__ import annotations

import socket
import time
from typing import Dict

import pytest

from ocscheck.model import Status
from tests.helpers import judge, make_site
from tests.lab import samba
from tests.lab.samba import BASE_DN, DOMAIN, READER_ENV, READER_PASSWORD, SERVICE_UAC, SIP_DOMAIN, Lab

# Registered as a plugin, not imported: an imported session fixture is instantiated once per module.

AD_CHECKS = ("ad.forest-level", "ad.domain-level", "ad.schema-prep", "ad.forest-prep", "ad.domain-prep",
             "ad.sip-domain", "ad.service-accounts", "ad.pool")


@pytest.fixture
def good(samba_good: Lab) -> Lab:
    return samba_good


def run(lab: Lab, ids=AD_CHECKS, phase: str = "post", env: Dict[str, str] = None, **site) -> Dict:
    overrides = lab.site()
    for section, values in site.items():
        overrides.setdefault(section, {}).update(values)
    return judge(make_site(overrides), ids, phase, env=env if env is not None else dict(lab.env))


def statuses(outcomes: Dict) -> Dict[str, str]:
    return {k: str(v.status) for k, v in outcomes.items()}


# ------------------------------------------------------------------------------------------ good

def test_fully_prepared_forest_passes_every_check(good: Lab):
    outcomes = run(good)
    assert statuses(outcomes) == {i: "pass" for i in AD_CHECKS}, {k: v.summary for k, v in outcomes.items()}
    assert outcomes["ad.forest-level"].summary == "forest level Windows Server 2008 R2 (4)"
    assert outcomes["ad.domain-level"].summary == "domain level Windows Server 2008 R2 (4)"
    assert outcomes["ad.schema-prep"].summary == "schema prepared for OCS 2007 R2 (1008)"
    assert "configuration partition" in outcomes["ad.forest-prep"].summary
    assert any("RTC universal groups found: 11/11" in e for e in outcomes["ad.forest-prep"].evidence)
    assert all("explicit ACEs for 11 RTC group(s)" in e for e in outcomes["ad.domain-prep"].evidence)
    assert outcomes["ad.pool"].summary == "Standard Edition OCS 2007 R2 pool for ocs.todorovic.adds"
    assert all("password never expires" in e for e in outcomes["ad.service-accounts"].evidence)


def test_record_and_replay_give_the_same_verdicts(good: Lab):
    first = run(good, ids=AD_CHECKS + ("users.sip", "ad.replication"))
    recording = first.recording
    assert READER_PASSWORD not in str(recording)
    replayed = judge(make_site(good.site()), AD_CHECKS + ("users.sip", "ad.replication"), "post",
                     env=dict(good.env), replay=recording)
    assert statuses(replayed) == statuses(first)
    assert [o.summary for o in replayed.values()] == [o.summary for o in first.values()]


def test_starttls_on_389_works_like_ldaps(good: Lab):
    outcomes = run(good, ids=("ad.forest-level", "ad.schema-prep"), ldap={"url": f"ldap://{good.dc1.ip}"})
    assert statuses(outcomes) == {"ad.forest-level": "pass", "ad.schema-prep": "pass"}


# ------------------------------------------------------------------------------ functional levels

def test_functional_levels_2003_forest_reads_2_and_is_not_prepared(samba_2003: Lab):
    outcomes = judge(make_site(samba_2003.site()), ("ad.forest-level", "ad.domain-level", "ad.schema-prep",
                                                    "ad.forest-prep", "ad.sip-domain"), "preflight",
                     env=dict(samba_2003.env))
    assert outcomes["ad.forest-level"].status == Status.PASS
    assert outcomes["ad.forest-level"].summary == "forest level Windows Server 2003 (2)"
    assert outcomes["ad.domain-level"].summary == "domain level Windows Server 2003 (2)"
    # Never schema-prepared, never forest-prepared: the "absent" readings on a real DC.
    assert outcomes["ad.schema-prep"].status == Status.FAIL
    assert "not prepared" in outcomes["ad.schema-prep"].summary
    assert outcomes["ad.schema-prep"].remediation.startswith("lcscmd /forest:todorovic.adds /action:schemaprep")
    assert outcomes["ad.forest-prep"].status == Status.FAIL
    assert "no RTC Service" in outcomes["ad.forest-prep"].summary
    assert outcomes["ad.forest-prep"].remediation.startswith(
        "lcscmd /forest:todorovic.adds /action:forestprep /global:configuration /SipDomain:todorovic.fr")
    assert outcomes["ad.sip-domain"].status == Status.FAIL


# ---------------------------------------------------------------------------------- preparation

def test_schema_prepared_by_ocs_2007_fails_with_the_schemaprep_line(good: Lab, undo):
    good.dc1.set_schema_version(1007)

    @undo
    def restore():
        good.dc1.set_schema_version(1008)

    outcome = run(good, ids=("ad.schema-prep",))["ad.schema-prep"]
    assert outcome.status == Status.FAIL
    assert outcome.summary == "schema prepared by an older product (OCS 2007, 1007); OCS 2007 R2 needs 1008"
    assert outcome.remediation.startswith("lcscmd /forest:todorovic.adds /action:schemaprep")


def test_schema_of_a_later_product_passes_with_a_note(good: Lab, undo):
    good.dc1.set_schema_version(1100)

    @undo
    def restore():
        good.dc1.set_schema_version(1008)

    outcome = run(good, ids=("ad.schema-prep",))["ad.schema-prep"]
    assert outcome.status == Status.PASS
    assert "later product (Lync Server 2010, 1100)" in outcome.summary


def test_rtc_service_under_system_is_reported(good: Lab, undo):
    forest = good.forest
    forest.forest_unprep()

    @undo
    def restore():
        good.reset_rtc_tree()

    forest.forest_prep(partition="system")
    outcomes = run(good, ids=("ad.forest-prep", "ad.sip-domain"))
    assert outcomes["ad.forest-prep"].status == Status.PASS
    assert "system partition" in outcomes["ad.forest-prep"].summary
    assert any("CN=Microsoft,CN=System" in e for e in outcomes["ad.forest-prep"].evidence)
    assert outcomes["ad.sip-domain"].status == Status.PASS


def test_rtc_service_in_both_partitions_fails(good: Lab, undo):
    good.forest.forest_prep(partition="system", groups=False)

    @undo
    def restore():
        good.forest.delete_tree(samba.rtc_service_dn("system"))

    outcome = run(good, ids=("ad.forest-prep",))["ad.forest-prep"]
    assert outcome.status == Status.FAIL
    assert "both partitions" in outcome.summary


def test_missing_global_settings_fails(good: Lab, undo):
    good.forest.delete_tree(f"CN=Global Settings,{samba.rtc_service_dn()}")

    @undo
    def restore():
        good.reset_rtc_tree()

    outcome = run(good, ids=("ad.forest-prep",))["ad.forest-prep"]
    assert outcome.status == Status.FAIL
    assert "no Global Settings" in outcome.summary


def test_domain_prep_aces_missing(good: Lab, undo):
    good.forest.restore_dacls(good.saved_dacls)

    @undo
    def restore():
        good.saved_dacls = good.forest.domain_prep()

    outcome = run(good, ids=("ad.domain-prep",))["ad.domain-prep"]
    assert outcome.status == Status.FAIL
    assert outcome.summary == "domain not prepared: no RTC group ACE on 4 of 4 objects"
    assert outcome.remediation.startswith("lcscmd /domain:todorovic.adds /action:domainprep")
    assert f"{BASE_DN}: no explicit ACE for any RTC universal group" in outcome.evidence


def test_domain_prep_missing_on_one_container(good: Lab, undo):
    computers = f"CN=Computers,{BASE_DN}"
    good.dc1.set_dacl_sddl(computers, good.saved_dacls[computers])

    @undo
    def restore():
        good.forest.domain_prep([computers])

    outcome = run(good, ids=("ad.domain-prep",))["ad.domain-prep"]
    assert outcome.status == Status.FAIL
    assert "1 of 4" in outcome.summary
    assert f"{computers}: no explicit ACE for any RTC universal group (only inherited ones, for 11 group(s))" \
        in outcome.evidence


# ---------------------------------------------------------------------------------- SIP domains

def test_site_sip_domain_differs_from_forest_prep(good: Lab):
    outcome = run(good, ids=("ad.sip-domain",), deployment={"sip_domains": ["contoso.com"]})["ad.sip-domain"]
    assert outcome.status == Status.FAIL
    assert outcome.summary == "SIP domain(s) not in AD: contoso.com"
    assert "msRTCSIP-Domain todorovic.fr (default)" in outcome.evidence


def test_site_default_is_not_the_ad_default(good: Lab, undo):
    extra = good.forest.add_sip_domain("todorovic.com")

    @undo
    def restore():
        good.forest.delete(extra)

    outcome = run(good, ids=("ad.sip-domain",),
                  deployment={"sip_domains": ["todorovic.com", SIP_DOMAIN]})["ad.sip-domain"]
    assert outcome.status == Status.FAIL
    assert outcome.summary == "the default SIP domain in AD is todorovic.fr, the site's is todorovic.com"


def test_private_ad_domain_as_sip_domain_warns(good: Lab, undo):
    extra = good.forest.add_sip_domain(DOMAIN)

    @undo
    def restore():
        good.forest.delete(extra)

    outcome = run(good, ids=("ad.sip-domain",), deployment={"sip_domains": [SIP_DOMAIN, DOMAIN]})["ad.sip-domain"]
    assert outcome.status == Status.WARN
    assert "todorovic.adds are private AD names" in outcome.summary


# ----------------------------------------------------------------------------- service accounts

def _rtcservice(lab: Lab) -> str:
    return f"CN=RTCService,CN=Users,{BASE_DN}"


def test_rtcservice_password_expiring_in_3_days_fails(good: Lab, undo):
    dn = _rtcservice(good)
    forest = good.forest
    old_max = forest.read(BASE_DN, "maxPwdAge")[0].decode()
    three_days = 3 * 86400 * 10_000_000 + 3600 * 10_000_000  # a little over 3 days, 100 ns units
    forest.set_attributes(dn, {"userAccountControl": ["512"]})
    forest.set_attributes(BASE_DN, {"maxPwdAge": [str(-three_days)]})

    @undo
    def restore():
        forest.set_attributes(BASE_DN, {"maxPwdAge": [old_max]})
        forest.set_attributes(dn, {"userAccountControl": [str(SERVICE_UAC)]})

    outcome = run(good, ids=("ad.service-accounts",))["ad.service-accounts"]
    assert outcome.status == Status.FAIL
    assert outcome.summary.startswith("RTCService: password expires ")
    assert "(3 days), within the 30-day threshold" in outcome.summary
    assert f'dsmod user "{dn}" -pwdneverexpires yes' in outcome.remediation
    assert "RTCComponentService" not in outcome.summary


def test_disabled_account_fails_with_dsmod(good: Lab, undo):
    dn = _rtcservice(good)
    good.forest.set_attributes(dn, {"userAccountControl": [str(SERVICE_UAC | 0x2)]})

    @undo
    def restore():
        good.forest.set_attributes(dn, {"userAccountControl": [str(SERVICE_UAC)]})

    outcome = run(good, ids=("ad.service-accounts",))["ad.service-accounts"]
    assert outcome.status == Status.FAIL
    assert outcome.summary == "RTCService: disabled"
    assert outcome.remediation == f'dsmod user "{dn}" -disabled no'


def test_disabled_bind_account_is_named_in_the_error(good: Lab, undo):
    dn = _rtcservice(good)
    good.forest.set_attributes(dn, {"userAccountControl": [str(SERVICE_UAC | 0x2)]})

    @undo
    def restore():
        good.forest.set_attributes(dn, {"userAccountControl": [str(SERVICE_UAC)]})

    outcome = run(good, ids=("ad.forest-level",), ldap={"user": f"RTCService@{DOMAIN}"},
                  env={READER_ENV: "Svc-Lab-Passw0rd1"})["ad.forest-level"]
    assert outcome.status == Status.ERROR
    assert outcome.summary.endswith("refused: account disabled"), outcome.summary
    assert any(e.startswith("said: ") and "data 533" in e for e in outcome.evidence)  # AD's words, for -v


def test_locked_out_account_fails(good: Lab, undo):
    import ldap3

    dn = _rtcservice(good)
    forest = good.forest
    forest.set_attributes(BASE_DN, {"lockoutThreshold": ["2"]})

    @undo
    def restore():
        forest.set_attributes(BASE_DN, {"lockoutThreshold": ["0"]})
        forest.set_attributes(dn, {"lockoutTime": ["0"]})

    for _ in range(3):  # real failed binds lock the account
        conn = ldap3.Connection(ldap3.Server(good.dc1.ip, get_info=ldap3.NONE), f"RTCService@{DOMAIN}", "wrong")
        conn.open()
        conn.bind()
        conn.unbind()
    outcome = run(good, ids=("ad.service-accounts",))["ad.service-accounts"]
    assert outcome.status == Status.FAIL, outcome.summary
    assert outcome.summary.startswith("RTCService: locked out")
    assert f"$u = [ADSI]'LDAP://{dn}'; $u.Put(\"lockoutTime\", 0); $u.SetInfo()" in outcome.remediation


def test_missing_account_fails_in_post_only(good: Lab):
    post = run(good, ids=("ad.service-accounts",), ldap={"service_accounts": ["RTCService", "RTCMissing"]})
    pre = run(good, ids=("ad.service-accounts",), phase="preflight",
              ldap={"service_accounts": ["RTCService", "RTCMissing"]})
    assert post["ad.service-accounts"].status == Status.FAIL
    assert post["ad.service-accounts"].summary == "RTCMissing does not exist"
    assert pre["ad.service-accounts"].status == Status.PASS
    assert "RTCMissing: not found (setup can create it)" in pre["ad.service-accounts"].evidence


# ------------------------------------------------------------------------------------------ pool

def test_pool_missing_and_wrong_version(good: Lab, undo):
    outcome = run(good, ids=("ad.pool",), deployment={"server_fqdn": "other.todorovic.adds"})["ad.pool"]
    assert outcome.status == Status.FAIL
    assert outcome.summary == "no pool object for other.todorovic.adds"
    dn = samba.pool_dn()
    good.forest.set_attributes(dn, {"msRTCSIP-PoolVersion": ["3"], "msRTCSIP-PoolType": ["10"]})

    @undo
    def restore():
        good.forest.set_attributes(dn, {"msRTCSIP-PoolVersion": ["4"], "msRTCSIP-PoolType": ["5"]})

    outcome = run(good, ids=("ad.pool",))["ad.pool"]
    assert outcome.status == Status.FAIL
    assert outcome.summary == ("PoolType 10 is not Standard Edition (5); PoolVersion 3 (OCS 2007) is not "
                               "OCS 2007 R2 (4)")


# ------------------------------------------------------------------------------- failure modes

def test_bad_password_is_an_error_without_the_secret(good: Lab):
    wrong = "Wr0ng-Secret-Value"
    outcomes = run(good, env={READER_ENV: wrong})
    for outcome in outcomes.values():
        assert outcome.status == Status.ERROR, (outcome.id, outcome.summary)
        assert wrong not in outcome.summary + " ".join(outcome.evidence)
    summary = outcomes["ad.forest-level"].summary
    assert summary == ("authentication failed: ldaps://127.0.0.2: bind as ocsreader@todorovic.adds refused: "
                       "wrong user name or password")
    assert wrong not in str(outcomes.recording)


def test_missing_password_of_the_configured_dc_is_an_error(good: Lab):
    outcome = run(good, ids=("ad.forest-level",), env={})["ad.forest-level"]
    assert outcome.status == Status.ERROR  # the site configures [ldap]: never a quiet skip
    assert outcome.summary.startswith("secret not available: ") and READER_ENV in outcome.summary


def test_untrusted_ldaps_certificate_is_an_error_not_a_downgrade(good: Lab):
    overrides = good.site()
    overrides["tls"] = {"ca_bundle": str(good.other_ca.pem)}
    for url in (good.dc1.url, f"ldap://{good.dc1.ip}"):
        overrides["ldap"]["url"] = url
        outcome = judge(make_site(overrides), ("ad.forest-level",), env=dict(good.env))["ad.forest-level"]
        assert outcome.status == Status.ERROR
        assert "TLS certificate is not trusted" in outcome.summary, outcome.summary


def test_dc_down_is_an_error_within_the_timeout(good: Lab, undo):
    # Nothing listens on 127.0.0.5 (the bulk DC's address, used only inside its own test): refused at once.
    outcome = run(good, ids=("ad.forest-level",), ldap={"url": "ldaps://127.0.0.5"})["ad.forest-level"]
    assert outcome.status == Status.ERROR
    assert "unreachable" in outcome.summary
    # A DC that accepts TCP but never answers: the TLS handshake times out after run.timeout.
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.5", 636))
    listener.listen(8)

    @undo
    def restore():
        listener.close()

    started = time.monotonic()
    outcomes = run(good, ids=AD_CHECKS + ("ad.replication", "users.sip"), ldap={"url": "ldaps://127.0.0.5"},
                   run={"timeout": 1.5})
    elapsed = time.monotonic() - started
    assert {str(o.status) for o in outcomes.values()} == {"error"}
    assert "timed out" in outcomes["ad.forest-level"].summary
    assert elapsed < 1.5 * 2 + 1.0  # one timeout for the run, not one per fact
