"""cert.revocation reading an AD CS-style ldap:/// CRL distribution point from a real Samba AD DC.

AD CS publishes each CA's CRL in the configuration partition
(CN=<CA>,CN=<host>,CN=CDP,CN=Public Key Services,CN=Services,CN=Configuration,...) and writes a host-less
ldap:/// URL into the certificates it issues; ocscheck reads it from the site's DC over LDAPS.
"""
from __future__ import annotations

from urllib.parse import quote

import ldap3
import pytest

from ocscheck.model import Status
from tests.helpers import judge, make_site
from tests.lab.pki import Pki
from tests.lab.samba import CONFIG_DN
from tests.lab.tls_lab import GOOD_SANS

CDP_CONTAINER = f"CN=CDP,CN=Public Key Services,CN=Services,{CONFIG_DN}"
HOST_DN = f"CN=ocsdc1,{CDP_CONTAINER}"


def ldap_url(dn: str) -> str:
    return f"ldap:///{quote(dn, safe='=,')}?certificateRevocationList?base?objectClass=cRLDistributionPoint"


def publish(samba_lab, pki: Pki, crl: bytes) -> str:
    """Publish ``crl`` as the issuing CA's CRL object in the configuration partition; returns its DN."""
    dn = f"CN={pki.issuing_name},{HOST_DN}"
    with samba_lab.dc1.admin() as conn:
        conn.raise_exceptions = False
        for container in (f"CN=Public Key Services,CN=Services,{CONFIG_DN}", CDP_CONTAINER, HOST_DN):
            conn.add(container, "container")  # already there on a real forest: "entryAlreadyExists" is fine
        conn.delete(dn)
        assert conn.add(dn, "cRLDistributionPoint", {"certificateRevocationList": crl}), conn.result
    return dn


def site_for(samba_lab, lab, tmp_path, **ldap):
    bundle = tmp_path / "internal-cas.pem"  # one internal CA bundle: the PKI's roots and the DC's CA
    bundle.write_bytes(lab.ca_bundle.read_bytes() + samba_lab.ca.pem.read_bytes())
    overrides = samba_lab.site(**ldap)
    overrides["tls"] = {**lab.site()["tls"], "ca_bundle": str(bundle)}
    return make_site(overrides)


def test_ldap_cdp_read_from_the_site_dc(samba_lab, tls_lab, tmp_path):
    pki = Pki()
    dn = f"CN={pki.issuing_name},{HOST_DN}"
    leaf = pki.leaf(sans=GOOD_SANS, cdp=[ldap_url(dn), pki.issuing_crl_url])
    lab = tls_lab(pki=pki, leaf=leaf, https=False)
    publish(samba_lab, pki, pki.crl(pki.issuing))
    site = site_for(samba_lab, lab, tmp_path)
    outcome = judge(site, ["cert.revocation"], env=samba_lab.env)["cert.revocation"]
    assert outcome.status is Status.PASS, outcome.summary
    assert any(e.startswith(f"CRL {ldap_url(dn)} of Todorovic Issuing CA: 0 entries") for e in outcome.evidence)


def test_ldap_cdp_listing_the_certificate(samba_lab, tls_lab, tmp_path):
    pki = Pki()
    dn = f"CN={pki.issuing_name},{HOST_DN}"
    leaf = pki.leaf(sans=GOOD_SANS, cdp=[ldap_url(dn)])
    lab = tls_lab(pki=pki, leaf=leaf, https=False)
    publish(samba_lab, pki, pki.crl(pki.issuing, revoked=[leaf.cert]))
    outcome = judge(site_for(samba_lab, lab, tmp_path), ["cert.revocation"], env=samba_lab.env)["cert.revocation"]
    assert outcome.status is Status.FAIL
    assert "is REVOKED since" in outcome.summary and ldap_url(dn) in outcome.summary


def test_ldap_cdp_object_missing(samba_lab, tls_lab, tmp_path):
    pki = Pki()
    dn = f"CN=No Such CA,{HOST_DN}"
    lab = tls_lab(pki=pki, leaf=pki.leaf(sans=GOOD_SANS, cdp=[ldap_url(dn)]), https=False)
    outcome = judge(site_for(samba_lab, lab, tmp_path), ["cert.revocation"], env=samba_lab.env)["cert.revocation"]
    assert outcome.status is Status.FAIL
    assert outcome.summary == f"CRL {ldap_url(dn)} of ocs.todorovic.adds answers 404 (not found)"


def test_ldap_cdp_without_a_site_dc_is_not_verified(tls_lab):
    pki = Pki()
    dn = f"CN={pki.issuing_name},{HOST_DN}"
    lab = tls_lab(pki=pki, leaf=pki.leaf(sans=GOOD_SANS, cdp=[ldap_url(dn)]), https=False)
    outcome = judge(make_site(lab.site()), ["cert.revocation"])["cert.revocation"]
    assert outcome.status is Status.WARN
    assert outcome.summary == "1 CRL check(s) not made; the rest is current"
    assert "no [ldap] url" in " ".join(outcome.evidence)


def test_ldap_cdp_on_a_dc_that_refuses(tls_lab):
    pki = Pki()
    dn = f"CN={pki.issuing_name},{HOST_DN}"
    lab = tls_lab(pki=pki, leaf=pki.leaf(sans=GOOD_SANS, cdp=[ldap_url(dn)]), https=False)
    site = make_site({**lab.site(), "ldap": {"url": "ldaps://127.0.0.60"}})
    outcome = judge(site, ["cert.revocation"])["cert.revocation"]
    assert outcome.status is Status.FAIL
    assert outcome.summary.startswith(f"CRL {ldap_url(dn)} of ocs.todorovic.adds cannot be fetched (refused: ")
    assert "cannot connect to 127.0.0.60:636" in outcome.summary


def delta_ldap_url(dn: str) -> str:
    return f"ldap:///{quote(dn, safe='=,')}?deltaRevocationList?base?objectClass=cRLDistributionPoint"


def publish_with_delta(samba_lab, pki: Pki, base: bytes, delta: bytes) -> str:
    """The base and the delta CRL on the same cRLDistributionPoint object, as AD CS publishes them."""
    dn = publish(samba_lab, pki, base)
    with samba_lab.dc1.admin() as conn:
        assert conn.modify(dn, {"deltaRevocationList": [(ldap3.MODIFY_REPLACE, [delta])]}), conn.result
    return dn


@pytest.mark.parametrize("delta_kind, status, text", [
    ("current", Status.PASS, None),
    ("listing", Status.FAIL, "is REVOKED since"),
    ("expired", Status.FAIL, "is stale"),
])
def test_ldap_delta_crl_is_read_from_delta_revocation_list(samba_lab, tls_lab, tmp_path, delta_kind, status, text):
    # The base CRL announces the LDAP delta URL (Freshest CRL); the delta must be read from deltaRevocationList,
    # not from certificateRevocationList (which holds the base, listing nothing).
    pki = Pki()
    dn = f"CN={pki.issuing_name},{HOST_DN}"
    leaf = pki.leaf(sans=GOOD_SANS, cdp=[ldap_url(dn)])
    lab = tls_lab(pki=pki, leaf=leaf, https=False)
    delta = pki.crl(pki.issuing, revoked=[leaf.cert] if delta_kind == "listing" else [],
                    next_update_in=-1 if delta_kind == "expired" else 7, delta_of=1)
    publish_with_delta(samba_lab, pki, pki.crl(pki.issuing, freshest=delta_ldap_url(dn)), delta)
    outcome = judge(site_for(samba_lab, lab, tmp_path), ["cert.revocation"], env=samba_lab.env)["cert.revocation"]
    assert outcome.status is status, outcome.summary
    assert any(e.startswith(f"delta CRL {delta_ldap_url(dn)} of Todorovic Issuing CA: ") for e in outcome.evidence)
    if text:
        assert text in outcome.summary and delta_ldap_url(dn) in outcome.summary
