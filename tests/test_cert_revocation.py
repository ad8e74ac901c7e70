"""cert.revocation against nginx serving a real PKI's CRLs: distribution-point URLs in Windows' order (the
first that works decides; dead ones warn; none working fails), delta CRLs (current, expired, for a newer
base, not a delta at all), and CDP URLs that cannot be parsed (issue 12: evidence, never a crash, and a
revocation already found is still reported). The CRLs of a chain are fetched together, by the check and
by the prefetch right after the 5061 handshake (issue 11)."""
from __future__ import annotations

import time

import pytest

from ocscheck import prefetch
from ocscheck.api import RunSetup, select_checks
from ocscheck.model import Status
from tests.helpers import judge, make_site
from tests.lab import DEAD
from tests.lab.pki import Pki
from tests.lab.tls_lab import GATED_CRL_BASE, GOOD_SANS

DEAD_URL = f"http://{DEAD}/crl/lab-issuing.crl"  # nothing listens there: connection refused
UNPARSEABLE = ("ldap://dc:99999/CN=Issuing,CN=CDP?certificateRevocationList?base",
               "ldap://[::1]/CN=Issuing,CN=CDP?certificateRevocationList?base")


def revocation(lab):
    return judge(make_site(lab.site()), ["cert.revocation"], "post")["cert.revocation"]


def test_dead_first_url_then_a_working_one_warns_naming_it(tls_lab):
    pki = Pki()
    outcome = revocation(tls_lab(pki=pki, leaf=pki.leaf(sans=GOOD_SANS, cdp=[DEAD_URL, pki.issuing_crl_url]),
                                 https=False))
    assert outcome.status is Status.WARN, outcome.summary
    assert outcome.summary.startswith(f"ocs.todorovic.adds: CRL URL 2 works, but CRL {DEAD_URL} of "
                                      f"ocs.todorovic.adds cannot be fetched (refused: ")


def test_a_working_first_url_is_where_windows_stops(tls_lab):
    pki = Pki()
    outcome = revocation(tls_lab(pki=pki, leaf=pki.leaf(sans=GOOD_SANS, cdp=[pki.issuing_crl_url, DEAD_URL]),
                                 https=False))
    assert outcome.status is Status.PASS, outcome.summary


def test_no_url_working_fails(tls_lab):
    pki = Pki()
    missing = f"{pki.crl_base}/missing.crl"
    outcome = revocation(tls_lab(pki=pki, leaf=pki.leaf(sans=GOOD_SANS, cdp=[DEAD_URL, missing]), https=False))
    assert outcome.status is Status.FAIL
    assert outcome.summary.startswith("no CRL URL of ocs.todorovic.adds gives a usable CRL: ")
    assert f"CRL {missing} of ocs.todorovic.adds answers 404 (not found)" in outcome.summary


def test_stale_first_crl_then_a_current_one_warns(tls_lab, tmp_path):
    pki = Pki()
    lab = tls_lab(pki=pki, leaf=pki.leaf(sans=GOOD_SANS, cdp=[f"{pki.crl_base}/stale.crl", pki.issuing_crl_url]),
                  https=False)
    (lab.workdir / "crl" / "stale.crl").write_bytes(pki.crl(pki.issuing, next_update_in=-2))
    outcome = revocation(lab)
    assert outcome.status is Status.WARN, outcome.summary
    assert "stale" in outcome.summary and "CRL URL 2 works" in outcome.summary


@pytest.mark.parametrize("url", UNPARSEABLE)
def test_unparseable_cdp_url_is_evidence(tls_lab, url):
    pki = Pki()
    outcome = revocation(tls_lab(pki=pki, leaf=pki.leaf(sans=GOOD_SANS, cdp=[url, DEAD_URL, pki.issuing_crl_url]),
                                 https=False))
    assert outcome.status is Status.WARN, outcome.summary
    assert outcome.summary.startswith("ocs.todorovic.adds: CRL URL 3 works, but ")
    # urllib refuses the port (named by position before any fetch); ldap3 the IPv6 literal (the fetch says so)
    assert ("CDP URL 1 of ocs.todorovic.adds cannot be parsed (" in outcome.summary if "99999" in url else
            f"CRL {url} of ocs.todorovic.adds cannot be fetched (protocol error: {url}: cannot be parsed as an LDAP URL)"
            in outcome.summary), outcome.summary
    assert f"CRL {DEAD_URL} of ocs.todorovic.adds cannot be fetched (refused: " in outcome.summary


@pytest.mark.parametrize("url", UNPARSEABLE)
def test_unparseable_url_never_hides_a_revocation(tls_lab, url):
    pki = Pki()
    leaf = pki.leaf(sans=GOOD_SANS, cdp=[url, pki.issuing_crl_url])
    outcome = revocation(tls_lab(pki=pki, leaf=leaf, revoked=[leaf.cert], https=False))
    assert outcome.status is Status.FAIL, outcome.summary
    assert "is REVOKED since" in outcome.summary
    assert "cannot be parsed" in " ".join(outcome.evidence + (outcome.summary,))


def test_only_an_unparseable_url_fails_naming_its_position(tls_lab):
    pki = Pki()
    outcome = revocation(tls_lab(pki=pki, leaf=pki.leaf(sans=GOOD_SANS, cdp=[UNPARSEABLE[0]]), https=False))
    assert outcome.status is Status.FAIL
    assert outcome.summary.startswith("CDP URL 1 of ocs.todorovic.adds cannot be parsed (ldap://dc:99999/")


def test_expired_delta_fails_like_an_expired_base(tls_lab):
    pki = Pki()
    outcome = revocation(tls_lab(pki=pki, delta="expired", https=False))
    assert outcome.status is Status.FAIL, outcome.summary
    assert f"the CRL at {pki.issuing_delta_url} is stale" in outcome.summary
    assert "CRLDeltaPeriodUnits" in outcome.remediation


def test_delta_for_a_newer_base_fails(tls_lab):
    pki = Pki()
    outcome = revocation(tls_lab(pki=pki, delta="newer-base", https=False))
    assert outcome.status is Status.FAIL, outcome.summary
    assert (f"the delta CRL at {pki.issuing_delta_url} needs base CRL number 5 or later; the base CRL in use is "
            f"number 1") in outcome.summary


def test_a_complete_crl_at_the_delta_url_fails(tls_lab):
    pki = Pki()
    outcome = revocation(tls_lab(pki=pki, delta="not-a-delta", https=False))
    assert outcome.status is Status.FAIL, outcome.summary
    assert "announced as a delta CRL but has no Delta CRL Indicator" in outcome.summary


def test_current_delta_is_judged_with_its_base_number(tls_lab):
    pki = Pki()
    outcome = revocation(tls_lab(pki=pki, delta="published", https=False))
    assert outcome.status is Status.PASS, outcome.summary
    assert any(e.startswith(f"delta CRL {pki.issuing_delta_url} of Todorovic Issuing CA: 0 entries")
               and e.endswith(", base CRL >= 1") for e in outcome.evidence)


def test_the_crls_of_the_chain_are_fetched_together(tls_lab, gated_crls):
    # The leaf's CRL (issuing CA) and the issuing CA's (root) are held until both are asked: one after the
    # other, the first would wait in vain.
    pki = Pki(crl_base=GATED_CRL_BASE)
    lab = tls_lab(pki=pki, https=False)
    server = gated_crls(lab.workdir / "crl", together=2)
    outcome = revocation(lab)
    assert outcome.status is Status.PASS, outcome.summary
    assert not server.gate.held_apart
    assert sorted(server.asked) == ["/crl/lab-issuing.crl", "/crl/lab-root.crl"]


def test_the_prefetch_fetches_the_crls_and_the_announced_delta_after_the_handshake(tls_lab, gated_crls):
    pki = Pki(crl_base=GATED_CRL_BASE)
    lab = tls_lab(pki=pki, delta="published", https=False)
    server = gated_crls(lab.workdir / "crl", together=2)
    site = make_site(lab.site())
    with RunSetup(site, "post") as setup:  # no check runs: only the prefetch fetches
        specs = select_checks(site, "post", ["cert.revocation"], [])
        prefetch.start(setup.facts, setup.phase, specs)  # the warm-ups run in the background
        deadline = time.monotonic() + 10
        while len(server.asked) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert server.gate.opened and not server.gate.held_apart
    # the two bases at once, then the delta CRL the issuing CA's base announces
    assert sorted(server.asked[:2]) == ["/crl/lab-issuing.crl", "/crl/lab-root.crl"]
    assert server.asked[2:] == ["/crl/lab-issuing+.crl"]
