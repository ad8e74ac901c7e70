"""users.sip against the real Samba AD DC (tests/lab/samba.py): each scenario adds its users and removes them."""
from __future__ import annotations

from typing import List

import pytest

from ocscheck.model import Outcome, Status
from tests.helpers import judge, make_site
from tests.lab.samba import BULK_DC, SIP_DOMAIN, Lab, home_server_dn, pool_dn, start_lab

# Registered as a plugin, not imported: an imported session fixture is instantiated once per module.


@pytest.fixture
def lab(samba_good: Lab):
    created: List[str] = []
    samba_good.created = created  # type: ignore[attr-defined]
    yield samba_good
    samba_good.forest.delete(*created)


def add(lab: Lab, name: str, **kwargs) -> str:
    kwargs.setdefault("home", home_server_dn())
    dn = lab.forest.add_user(name, **kwargs)
    lab.created.append(dn)  # type: ignore[attr-defined]
    return dn


def check(lab: Lab, **ldap) -> Outcome:
    overrides = lab.site(**ldap)
    return judge(make_site(overrides), ("users.sip",), "post", env=dict(lab.env))["users.sip"]


def test_valid_users_pass(lab: Lab):
    outcome = check(lab)
    assert outcome.status == Status.PASS, outcome.summary
    assert outcome.summary == "2 SIP-enabled users valid and homed on an existing pool"
    assert f"2 URI(s) in {SIP_DOMAIN} (supported)" in outcome.evidence


def test_foreign_domain_uri_fails(lab: Lab):
    dn = add(lab, "carol", uri="sip:carol@contoso.com", mail="carol@contoso.com")
    outcome = check(lab)
    assert outcome.status == Status.FAIL
    assert f"1 URI(s) in foreign domain contoso.com: {dn}" in outcome.evidence
    assert "sip:<user>@todorovic.fr" in outcome.remediation


def test_duplicate_uris_fail_with_both_owners(lab: Lab):
    first = add(lab, "dave", uri=f"sip:Dave@{SIP_DOMAIN}", mail=f"dave@{SIP_DOMAIN}")
    second = add(lab, "dave2", uri=f"sip:dave@{SIP_DOMAIN}", mail=f"dave2@{SIP_DOMAIN}")
    outcome = check(lab)
    assert outcome.status == Status.FAIL
    assert f"duplicate URI sip:dave@{SIP_DOMAIN}: {'; '.join(sorted([first, second]))}" in outcome.evidence


def test_home_server_of_a_deleted_pool_fails(lab: Lab):
    # AD keeps DN references consistent: a user homed on a pool that is then removed points at the
    # deleted object (CN=LC Services\0ADEL:<guid>,CN=Deleted Objects,…), which is what the check meets.
    lab.forest.add_pool("old.todorovic.adds", name="oldpool")
    dn = add(lab, "erin", uri=f"sip:erin@{SIP_DOMAIN}", mail=f"erin@{SIP_DOMAIN}", home=home_server_dn("oldpool"))
    lab.forest.delete_tree(pool_dn("oldpool"))
    outcome = check(lab)
    assert outcome.status == Status.FAIL
    dangling = [e for e in outcome.evidence if "which is not an existing pool" in e]
    assert len(dangling) == 1 and dangling[0].endswith(f"which is not an existing pool: {dn}"), outcome.evidence
    assert "Deleted Objects" in dangling[0] or "oldpool" in dangling[0]


def test_missing_home_server_and_malformed_uri_fail(lab: Lab):
    homeless = add(lab, "frank", uri=f"sip:frank@{SIP_DOMAIN}", mail=f"frank@{SIP_DOMAIN}", home=None)
    lab.created.remove(homeless)  # type: ignore[attr-defined]
    lab.forest.delete(homeless)
    homeless = lab.forest.add_user("frank", uri=f"sip:frank@{SIP_DOMAIN}", mail=f"frank@{SIP_DOMAIN}")
    lab.created.append(homeless)  # type: ignore[attr-defined]
    broken = add(lab, "gina", uri="gina@todorovic.fr", mail="gina@todorovic.fr")
    outcome = check(lab)
    assert outcome.status == Status.FAIL
    assert f"1 user(s) without a home server: {homeless}" in outcome.evidence
    assert f"1 malformed URI(s) (not sip:user@domain): {broken} (gina@todorovic.fr)" in outcome.evidence


def test_uri_different_from_mail_warns_and_users_without_mail_are_listed(lab: Lab):
    other = add(lab, "hugo", uri=f"sip:hugo@{SIP_DOMAIN}", mail="hugo.martin@todorovic.fr")
    nomail = add(lab, "ines", uri=f"sip:ines@{SIP_DOMAIN}")
    outcome = check(lab)
    assert outcome.status == Status.WARN, outcome.summary
    assert (f"1 user(s) whose SIP URI differs from their mail: {other}: sip:hugo@{SIP_DOMAIN} vs mail "
            "hugo.martin@todorovic.fr") in outcome.evidence
    assert f"1 user(s) without mail: {nomail}" in outcome.evidence


def test_ad_disabled_account_still_sip_enabled_warns_and_is_not_counted(lab: Lab):
    """userAccountControl 0x202 with msRTCSIP-UserEnabled TRUE: reported, not valid (the old rule counted it,
    and judged its foreign URI as if the user could sign in)."""
    disabled = add(lab, "karl", uri="sip:karl@contoso.com", mail="karl@contoso.com", uac=0x202)
    outcome = check(lab)
    assert outcome.status == Status.WARN, (outcome.summary, outcome.evidence)
    assert outcome.summary == "2 SIP-enabled users valid; 1 AD-disabled account(s) still SIP-enabled (not counted " \
                              "as valid)"
    assert f"1 AD-disabled account(s) still SIP-enabled (not counted as valid): {disabled}" in outcome.evidence
    assert "3 SIP-enabled user(s)" in outcome.evidence
    assert 'clear "Enable user for Communications Server"' in outcome.remediation


def test_sip_disabled_users_are_ignored(lab: Lab):
    add(lab, "jules", uri="sip:jules@contoso.com", sip_enabled=False)
    assert check(lab).status == Status.PASS


@pytest.mark.lab
def test_5000_users_are_paged(tmp_path):
    # A DC of its own (127.0.0.5): removing 5,000 users from the shared one would cost more than provisioning.
    bulk = start_lab(tmp_path, ip=BULK_DC, hostname="ocsdc5")
    try:
        bulk.forest.forest_prep()
        bulk.forest.add_pool()
        ou = bulk.forest.bulk_users(5000)
        outcome = check(bulk, page_size=500)
        duplicate = bulk.forest.add_user("bulk-dup", uri=f"sip:bulk000042@{SIP_DOMAIN}",
                                         mail=f"bulk000042@{SIP_DOMAIN}", home=home_server_dn())
        with_duplicate = check(bulk, page_size=500)
    finally:
        bulk.dc1.stop()
    assert outcome.status == Status.PASS, outcome.summary
    assert outcome.summary == "5000 SIP-enabled users valid and homed on an existing pool"
    assert with_duplicate.status == Status.FAIL
    assert f"duplicate URI sip:bulk000042@{SIP_DOMAIN}: {duplicate}; CN=bulk000042,{ou}" in with_duplicate.evidence


def test_schema_without_ocs_attributes_finds_no_user(samba_2003: Lab):
    outcome = judge(make_site(samba_2003.site()), ("users.sip",), "post", env=dict(samba_2003.env))["users.sip"]
    assert outcome.status == Status.PASS
    assert outcome.summary == "no SIP-enabled user yet"
