"""Certificate checks against real servers: Kamailio presents the certificate on 5061, nginx serves the CRLs
and stands in for IIS on 443. Each scenario asserts the verdict of every check of the area, so that a
fault shows where it should and nowhere else."""
from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import xmlschema
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from ocscheck.facts import Inputs
from ocscheck.model import Status
from ocscheck.reports import RunReport, renderers
from ocscheck.siteinit import render_site
from tests.helpers import judge, make_site
from tests.lab.pki import CLIENT_AUTH, CRL_BASE, SERVER_AUTH, Pki, key, now
from tests.lab.tls_lab import GOOD_SANS, good_lab_thumbprint, start_good_lab

SCHEMAS = Path(__file__).parent / "fixtures" / "schemas"
IDS = ["cert.*", "sip.*", "iis.*"]
GOOD = {"cert.subject": "pass", "cert.san": "pass", "cert.chain": "pass", "cert.revocation": "pass",
        "cert.eku": "pass", "cert.key": "pass", "cert.validity": "pass", "iis.https-binding": "pass",
        "sip.tls": "pass", "sip.options": "pass",
        "cert.ca-published": "skip"}  # needs [ldap] url: judged against Samba in test_cert_published.py


def run(lab, deployment=None, **tls):
    site = make_site({**lab.site(**tls), "deployment": deployment or {}})
    outcomes = judge(site, IDS, "post")
    return outcomes, {check_id: o.status.value for check_id, o in outcomes.items()}


def test_good_certificate_everything_passes(tls_lab):
    outcomes, statuses = run(tls_lab())
    assert statuses == GOOD
    chain = outcomes["cert.chain"]
    assert "every intermediate presented" in chain.summary
    assert any("path: ocs.todorovic.adds [presented] -> Todorovic Issuing CA [presented] -> Todorovic Root CA "
               "[bundle]" in e for e in chain.evidence)
    revocation = outcomes["cert.revocation"]
    assert revocation.summary == "CRLs of 2 certificate(s) reachable, signed, current; none revoked"
    assert any(e.startswith(f"CRL {CRL_BASE}/lab-issuing.crl of Todorovic Issuing CA: 0 entries") for e in
               revocation.evidence)
    assert outcomes["cert.key"].summary == "RSA 2048 bits"
    assert any("(127.0.0.20, tls.server_address):5061 (TLSv1.3, no SNI)" in e for e in outcomes["cert.subject"].evidence)


def test_subject_is_not_the_server_fqdn(tls_lab):
    lab = tls_lab(leaf=Pki().leaf(cn="ocs-old.todorovic.adds", sans=GOOD_SANS))
    outcomes, statuses = run(lab)
    assert statuses == {**GOOD, "cert.subject": "fail"}
    outcome = outcomes["cert.subject"]
    assert outcome.summary == "subject CN is ocs-old.todorovic.adds, not the server FQDN ocs.todorovic.adds"
    assert 'Subject = "CN=ocs.todorovic.adds"' in outcome.remediation
    assert 'certreq -submit -config "<CA server>\\Todorovic Issuing CA"' in outcome.remediation
    assert "[RequestAttributes]\nCertificateTemplate = WebServer\n" in outcome.remediation
    assert "duplicate it on the CA" in outcome.remediation  # clientAuth needs a duplicated template


def test_san_without_sip_name(tls_lab):
    lab = tls_lab(leaf=Pki().leaf(sans=("ocs.todorovic.adds", "cwa.todorovic.fr")))
    outcomes, statuses = run(lab, {"extra_sans": ["cwa.todorovic.fr"]})
    assert statuses == {**GOOD, "cert.san": "fail"}  # sip.tls dials the server FQDN here (no DNS view)
    outcome = outcomes["cert.san"]
    assert outcome.summary == "SAN lacks sip.todorovic.fr"
    assert '_continue_ = "dns=sip.todorovic.fr&"' in outcome.remediation
    assert '_continue_ = "dns=cwa.todorovic.fr"' in outcome.remediation


def test_extra_san_required_by_the_site(tls_lab):
    lab = tls_lab(leaf=Pki().leaf(sans=("ocs.todorovic.adds", "sip.todorovic.fr")))
    outcomes, statuses = run(lab, {"extra_sans": ["cwa.todorovic.fr"], "sip_domains": ["todorovic.fr"]})
    assert statuses == {**GOOD, "cert.san": "fail"}
    assert outcomes["cert.san"].summary == "SAN lacks cwa.todorovic.fr"


def test_wildcard_san_fails(tls_lab):
    lab = tls_lab(leaf=Pki().leaf(sans=("ocs.todorovic.adds", "sip.todorovic.fr", "*.todorovic.fr")))
    outcomes, statuses = run(lab)
    assert statuses == {**GOOD, "cert.san": "fail"}
    assert outcomes["cert.san"].summary == \
        "wildcard name(s) *.todorovic.fr in the SAN (OCS 2007 R2 does not support them)"


def test_expired(tls_lab):
    lab = tls_lab(leaf=Pki().leaf(sans=GOOD_SANS, valid_from=now() - datetime.timedelta(days=400), valid_days=365))
    outcomes, statuses = run(lab)
    # IIS's components are fetched like a client would: an expired certificate fails that too.
    assert statuses == {**GOOD, "cert.validity": "fail", "iis.https-binding": "fail"}
    assert outcomes["cert.validity"].summary.startswith("ocs.todorovic.adds expired on ")
    assert "certreq -new request.inf" in outcomes["cert.validity"].remediation
    assert "certificate has expired" in outcomes["iis.https-binding"].summary


def test_not_yet_valid(tls_lab):
    lab = tls_lab(leaf=Pki().leaf(sans=GOOD_SANS, valid_from=now() + datetime.timedelta(days=2)))
    outcomes, statuses = run(lab)
    assert statuses == {**GOOD, "cert.validity": "fail", "iis.https-binding": "fail"}
    assert outcomes["cert.validity"].summary.startswith("ocs.todorovic.adds is not valid yet (from ")
    assert "w32tm /query /status" in outcomes["cert.validity"].remediation


def test_expiring_within_the_threshold_warns(tls_lab):
    lab = tls_lab(leaf=Pki().leaf(sans=GOOD_SANS, valid_from=now() - datetime.timedelta(days=355), valid_days=365))
    outcomes, statuses = run(lab)
    assert statuses == {**GOOD, "cert.validity": "warn"}
    assert outcomes["cert.validity"].summary.startswith("the certificate expires in 10 days (")
    assert "threshold 30 days" in outcomes["cert.validity"].summary


def test_expiry_threshold_is_the_sites(tls_lab):
    lab = tls_lab(leaf=Pki().leaf(sans=GOOD_SANS, valid_from=now() - datetime.timedelta(days=355), valid_days=365))
    site = make_site({**lab.site(), "thresholds": {"cert_expiry_days": 7}})
    assert judge(site, ["cert.validity"])["cert.validity"].status is Status.PASS


def test_revoked(tls_lab):
    pki = Pki()
    leaf = pki.leaf(sans=GOOD_SANS)
    outcomes, statuses = run(tls_lab(pki=pki, leaf=leaf, revoked=[leaf.cert]))
    assert statuses == {**GOOD, "cert.revocation": "fail"}
    outcome = outcomes["cert.revocation"]
    assert f"ocs.todorovic.adds (serial {leaf.cert.serial_number:X}) is REVOKED since " in outcome.summary
    assert "reason keyCompromise" in outcome.summary
    assert "The certificate is revoked. Request a new certificate" in outcome.remediation


def test_delta_crl_published_and_current(tls_lab):
    pki = Pki()
    outcomes, statuses = run(tls_lab(pki=pki, delta="published"))
    assert statuses == GOOD
    assert any(e.startswith(f"delta CRL {pki.issuing_delta_url} of Todorovic Issuing CA: 0 entries") for e in
               outcomes["cert.revocation"].evidence)


def test_delta_crl_announced_but_missing(tls_lab):
    pki = Pki()
    outcomes, statuses = run(tls_lab(pki=pki, delta="missing"))
    assert statuses == {**GOOD, "cert.revocation": "fail"}
    assert outcomes["cert.revocation"].summary == \
        f"delta CRL {pki.issuing_delta_url} of ocs.todorovic.adds answers 404 (not found)"
    assert "allow double escaping" in outcomes["cert.revocation"].remediation


def test_revoked_in_the_delta_crl_only(tls_lab):
    pki = Pki()
    leaf = pki.leaf(sans=GOOD_SANS)
    outcomes, statuses = run(tls_lab(pki=pki, leaf=leaf, delta="published", delta_revoked=[leaf.cert]))
    assert statuses == {**GOOD, "cert.revocation": "fail"}
    assert "is REVOKED since" in outcomes["cert.revocation"].summary
    assert f"(CRL {pki.issuing_delta_url})" in outcomes["cert.revocation"].summary


def test_crl_url_404(tls_lab):
    pki = Pki()
    url = f"{CRL_BASE}/missing.crl"
    outcomes, statuses = run(tls_lab(pki=pki, leaf=pki.leaf(sans=GOOD_SANS, cdp=[url])))
    assert statuses == {**GOOD, "cert.revocation": "fail"}
    outcome = outcomes["cert.revocation"]
    assert outcome.summary == f"CRL {url} of ocs.todorovic.adds answers 404 (not found)"
    assert f"Publish Todorovic Issuing CA's CRL at {url}" in outcome.remediation


def test_crl_host_refusing(tls_lab):
    pki = Pki()
    url = "http://127.0.0.60/crl/lab-issuing.crl"
    outcomes, statuses = run(tls_lab(pki=pki, leaf=pki.leaf(sans=GOOD_SANS, cdp=[url])))
    assert statuses == {**GOOD, "cert.revocation": "fail"}
    assert outcomes["cert.revocation"].summary.startswith(f"CRL {url} of ocs.todorovic.adds cannot be fetched "
                                                          f"(refused: ")


def test_crl_past_next_update(tls_lab):
    outcomes, statuses = run(tls_lab(crl_next_update_in=-1))
    assert statuses == {**GOOD, "cert.revocation": "fail"}
    outcome = outcomes["cert.revocation"]
    assert f"the CRL at {CRL_BASE}/lab-issuing.crl is stale: nextUpdate " in outcome.summary
    assert "certutil -crl" in outcome.remediation


def test_crl_signed_by_the_wrong_key(tls_lab):
    outcomes, statuses = run(tls_lab(crl_signed_by=key("impostor")))
    assert statuses == {**GOOD, "cert.revocation": "fail"}
    assert outcomes["cert.revocation"].summary == \
        f"the CRL at {CRL_BASE}/lab-issuing.crl is not signed by Todorovic Issuing CA's key"
    assert any("BAD signature" in e for e in outcomes["cert.revocation"].evidence)


def test_no_cdp(tls_lab):
    outcomes, statuses = run(tls_lab(leaf=Pki().leaf(sans=GOOD_SANS, no_cdp=True)))
    assert statuses == {**GOOD, "cert.revocation": "fail"}
    outcome = outcomes["cert.revocation"]
    assert outcome.summary == "ocs.todorovic.adds has no CRL distribution point"
    assert "Include in the CDP extension of issued certificates" in outcome.remediation


def test_leaf_sent_without_the_intermediate(tls_lab):
    outcomes, statuses = run(tls_lab(chain=[]))
    assert statuses == {**GOOD, "cert.chain": "fail"}
    outcome = outcomes["cert.chain"]
    assert outcome.summary == ("the server does not present the intermediate Todorovic Issuing CA (found only in "
                               "the CA bundle)")
    assert "certutil -addstore CA <Todorovic Issuing CA>.cer" in outcome.remediation


def test_leaf_alone_and_the_bundle_without_the_intermediate(tls_lab, tmp_path):
    lab = tls_lab(chain=[])
    bundle = lab.pki.bundle(tmp_path / "root-only.pem", with_issuing=False)
    outcomes = judge(make_site(lab.site(ca_bundle=str(bundle))), ["cert.chain"])
    outcome = outcomes["cert.chain"]
    assert outcome.status is Status.FAIL
    assert outcome.summary.startswith("chain does not build to the site's CA bundle: the issuer Todorovic Issuing CA "
                                      "of ocs.todorovic.adds is neither presented nor in the site's CA bundle (if "
                                      "Todorovic Issuing CA is an intermediate CA, the server does not send it")


def test_chain_to_an_unknown_root(tls_lab):
    rogue = Pki(tag="rogue", root_name="Rogue Root CA", issuing_name="Rogue Issuing CA")
    outcomes, statuses = run(tls_lab(pki=rogue, leaf=rogue.leaf(sans=GOOD_SANS), bundle_pki=Pki()))
    # The client-like GET on 443 refuses the unknown root; the rogue issuing CA's CRL cannot have its signature
    # checked (its issuer is unknown), which cert.revocation says with a warning.
    assert statuses == {**GOOD, "cert.chain": "fail", "cert.revocation": "warn", "iis.https-binding": "fail"}
    assert "the signature of http://127.0.0.40/crl/rogue-root.crl was not checked: the issuer Rogue Root CA of " \
           "Rogue Issuing CA is unknown (see cert.chain)" in outcomes["cert.revocation"].evidence
    assert outcomes["cert.chain"].summary.startswith(
        "chain does not build to the site's CA bundle: the issuer Rogue Root CA of Rogue Issuing CA is neither "
        "presented nor in the site's CA bundle")
    assert "certificate verify failed" in outcomes["iis.https-binding"].summary


def test_untrusted_root_presented(tls_lab):
    rogue = Pki(tag="rogue", root_name="Rogue Root CA", issuing_name="Rogue Issuing CA")
    lab = tls_lab(pki=rogue, leaf=rogue.leaf(sans=GOOD_SANS), chain=[rogue.issuing, rogue.root], bundle_pki=Pki())
    outcome = judge(make_site(lab.site()), ["cert.chain"])["cert.chain"]
    assert outcome.status is Status.FAIL
    assert outcome.summary == ("the chain ends at the root Rogue Root CA, which is not in the site's CA bundle "
                               "(untrusted root)")
    assert "certutil -dspublish -f root.cer RootCA" in outcome.remediation


def test_chain_presented_out_of_order_warns(tls_lab):
    pki = Pki()
    lab = tls_lab(pki=pki, chain=[pki.root, pki.issuing])
    outcome = judge(make_site(lab.site()), ["cert.chain"])["cert.chain"]
    assert outcome.status is Status.WARN
    assert outcome.summary == "chain builds to Todorovic Root CA, but the server presents it out of issuer order"


def test_unrelated_certificate_presented_warns(tls_lab):
    pki, other = Pki(), Pki(tag="other", issuing_name="Old Issuing CA")
    lab = tls_lab(pki=pki, chain=[pki.issuing, other.issuing])
    outcome = judge(make_site(lab.site()), ["cert.chain"])["cert.chain"]
    assert outcome.status is Status.WARN
    assert outcome.summary == "chain builds to Todorovic Root CA, but unrelated certificates presented: Old Issuing CA"


@pytest.mark.parametrize("bits, status, summary", [
    (1024, "warn", "RSA 1024 bits is weak: use 2048"),
    (8192, "fail", "RSA 8192 bits is outside what OCS 2007 R2 supports (1024 to 4096)"),
    (4096, "pass", "RSA 4096 bits"),
])
def test_rsa_key_sizes(tls_lab, bits, status, summary):
    outcomes, statuses = run(tls_lab(leaf=Pki().leaf(sans=GOOD_SANS, key_size=bits)))
    assert statuses == {**GOOD, "cert.key": status}
    assert outcomes["cert.key"].summary == summary
    if status != "pass":
        assert "KeyLength = 2048" in outcomes["cert.key"].remediation


def test_ec_key_warns(tls_lab):
    outcomes, statuses = run(tls_lab(leaf=Pki().leaf(sans=GOOD_SANS, key_kind="ec")))
    assert statuses == {**GOOD, "cert.key": "warn"}
    assert outcomes["cert.key"].summary == "EC 256-bit key: OCS 2007 R2 and its clients expect RSA"


def test_no_client_auth_with_several_servers(tls_lab):
    lab = tls_lab(leaf=Pki().leaf(sans=GOOD_SANS, eku=(SERVER_AUTH,)))
    outcomes, statuses = run(lab, {"other_ocs_servers": ["ocs2.todorovic.adds"]})
    assert statuses == {**GOOD, "cert.eku": "fail"}
    assert outcomes["cert.eku"].summary == (
        "Client Authentication (1.3.6.1.5.5.7.3.2) is missing, and the site declares other OCS servers "
        "(ocs2.todorovic.adds): MTLS between them fails")
    # A single server does not need clientAuth.
    single = judge(make_site(lab.site()), ["cert.eku"])["cert.eku"]
    assert single.status is Status.PASS
    assert "Client Authentication not needed" in single.summary


def test_no_server_auth_fails(tls_lab):
    lab = tls_lab(leaf=Pki().leaf(sans=GOOD_SANS, eku=(CLIENT_AUTH,)), https=False)
    outcome = judge(make_site(lab.site()), ["cert.eku"])["cert.eku"]
    assert outcome.status is Status.FAIL
    assert outcome.summary == "Server Authentication (1.3.6.1.5.5.7.3.1) is missing from the EKU"


def test_server_requesting_client_certificates_is_reported(tls_lab):
    outcomes, statuses = run(tls_lab(request_client_cert=True))
    assert statuses == GOOD
    assert "the server requests a client certificate (MTLS)" in outcomes["cert.eku"].evidence
    assert any("client certificate requested (MTLS)" in e for e in outcomes["sip.tls"].evidence)


def test_no_ca_bundle_skips_chain_only(tls_lab):
    lab = tls_lab()
    site = make_site({"tls": {"server_address": "127.0.0.20"}})
    outcomes = judge(site, ["cert.*"])
    assert outcomes["cert.chain"].status is Status.SKIP
    assert "set tls.ca_bundle" in outcomes["cert.chain"].summary
    # Without the root, the issuing CA's CRL (signed by the root) cannot have its signature checked.
    assert outcomes["cert.revocation"].status is Status.WARN
    assert {o.status for i, o in outcomes.items()
            if i not in ("cert.chain", "cert.revocation", "cert.ca-published")} == {Status.PASS}
    del lab


def test_record_then_replay_gives_the_same_verdicts(tls_lab):
    pki = Pki()
    leaf = pki.leaf(sans=("ocs.todorovic.adds",), key_size=1024)
    lab = tls_lab(pki=pki, leaf=leaf, revoked=[leaf.cert], chain=[])
    site = make_site(lab.site())
    first = judge(site, IDS)
    recording = first.recording
    lab.stop()  # the replay must not need the network
    again = judge(site, IDS, replay=recording)
    assert {i: o.status for i, o in again.items()} == {i: o.status for i, o in first.items()}
    assert {i: o.summary for i, o in again.items()} == {i: o.summary for i, o in first.items()}
    assert {"cert.san", "cert.chain", "cert.revocation", "cert.key"} <= {i for i, o in first.items()
                                                                          if o.status is not Status.PASS}
    assert "tls:ocs.todorovic.adds:5061" in recording
    assert f"crl:{CRL_BASE}/lab-issuing.crl" in recording


def test_hostile_subject_keeps_every_report_valid_and_inert(tls_lab):
    hostile = "<script>alert(1)</script>\x1b[31m\x07"
    lab = tls_lab(leaf=Pki().leaf(cn=hostile, sans=GOOD_SANS))
    outcomes, statuses = run(lab)
    assert statuses == {**GOOD, "cert.subject": "fail"}
    summary = outcomes["cert.subject"].summary
    assert summary == "subject CN is <script>alert(1)</script>\\x1b[31m\\x07, not the server FQDN ocs.todorovic.adds"
    report = RunReport(phase="post", started=datetime.datetime(2026, 11, 27, 8, 0, 0), duration_s=1.0,
                       outcomes=tuple(outcomes.values()), tool_version="test", site="site.toml")
    page = renderers()["html"](report, True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    junit_text = renderers()["junit"](report, True)
    for schema in ("JUnit.xsd", "junit-10.xsd"):
        xmlschema.XMLSchema(str(SCHEMAS / schema)).validate(junit_text)
    document = json.loads(renderers()["json"](report, True))
    assert any(c["summary"] == summary for c in document["checks"])
    assert "\x1b" not in renderers()["text"](report, True)


# Preflight: the certificate requested for the server, from a file, before it is assigned. nginx serves the CRLs.

PREFLIGHT = ["cert.*"]
ALL_PASS = {i: GOOD[i] for i in GOOD if i.startswith("cert.")}


def preflight(lab, path, env=None, **tls):
    site = make_site(lab.site(**tls))
    outcomes = judge(site, PREFLIGHT, "preflight", env=env, inputs=Inputs(certificate=path))
    return outcomes, {i: o.status.value for i, o in outcomes.items()}


def test_preflight_pem_file_with_chain(tls_lab, tmp_path):
    lab = tls_lab(sip=False, https=False)
    leaf = lab.pki.leaf(sans=GOOD_SANS)
    path = tmp_path / "ocs.pem"
    path.write_bytes(leaf.pem() + lab.pki.issuing.pem())
    outcomes, statuses = preflight(lab, path)
    assert statuses == ALL_PASS
    assert outcomes["cert.subject"].evidence[0] == f"certificate file {path} (PEM)"
    assert outcomes["cert.chain"].summary == "chain builds to the trusted root Todorovic Root CA"


def test_preflight_der_file_alone_chains_through_the_bundle(tls_lab, tmp_path):
    lab = tls_lab(sip=False, https=False)
    path = tmp_path / "ocs.cer"
    path.write_bytes(lab.pki.leaf(sans=("ocs.todorovic.adds",)).cert.public_bytes(serialization.Encoding.DER))
    outcomes, statuses = preflight(lab, path)
    assert statuses == {**ALL_PASS, "cert.san": "fail"}
    assert outcomes["cert.san"].summary == "SAN lacks sip.todorovic.fr"
    assert "path: ocs.todorovic.adds [presented] -> Todorovic Issuing CA [bundle] -> Todorovic Root CA [bundle]" in \
        outcomes["cert.chain"].evidence


def _pfx(lab, tmp_path, password: bytes) -> Path:
    leaf = lab.pki.leaf(sans=GOOD_SANS)
    path = tmp_path / "ocs.pfx"
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"ocs", leaf.key, leaf.cert, [lab.pki.issuing.cert], serialization.BestAvailableEncryption(password)))
    return path


def test_preflight_pkcs12_with_the_password_from_the_environment(tls_lab, tmp_path):
    lab = tls_lab(sip=False, https=False)
    path = _pfx(lab, tmp_path, b"S3cret-pfx")
    outcomes, statuses = preflight(lab, path, env={"OCS_PFX_PASSWORD": "S3cret-pfx"},
                                   certificate_password_env="OCS_PFX_PASSWORD")
    assert statuses == ALL_PASS
    assert outcomes["cert.key"].evidence[0] == f"certificate file {path} (PKCS#12)"
    recording = json.dumps(outcomes.recording)
    assert "S3cret-pfx" not in recording and "PRIVATE KEY" not in recording


def test_preflight_pkcs12_wrong_password_is_an_error(tls_lab, tmp_path):
    lab = tls_lab(sip=False, https=False)
    path = _pfx(lab, tmp_path, b"right")
    outcomes, statuses = preflight(lab, path, env={"OCS_PFX_PASSWORD": "Not-The-Pfx-Password"},
                                   certificate_password_env="OCS_PFX_PASSWORD")
    assert set(statuses.values()) == {"error"}
    assert outcomes["cert.subject"].summary == (
        f"authentication failed: {path}: not a certificate (PEM, DER), or a PKCS#12 file the password in "
        f"OCS_PFX_PASSWORD does not open")


def test_preflight_pkcs12_without_a_password_setting_is_an_error(tls_lab, tmp_path):
    lab = tls_lab(sip=False, https=False)
    path = _pfx(lab, tmp_path, b"right")
    outcomes, statuses = preflight(lab, path)
    assert set(statuses.values()) == {"error"}  # a certificate was given and cannot be read: never a skip
    assert "set tls.certificate_password_env" in outcomes["cert.subject"].summary


def test_preflight_without_a_certificate_skips():
    outcomes = judge(make_site(), PREFLIGHT, "preflight")
    assert {o.status for o in outcomes.values()} == {Status.SKIP}
    assert outcomes["cert.san"].summary == ("not configured: no certificate file: give --certificate FILE "
                                            "(or tls.certificate in the site file)")


def test_preflight_certificate_from_the_site_file(tls_lab, tmp_path):
    lab = tls_lab(sip=False, https=False)
    path = tmp_path / "ocs.pem"
    path.write_bytes(lab.pki.leaf(sans=GOOD_SANS, valid_days=5).pem())
    outcomes = judge(make_site(lab.site(certificate=str(path))), PREFLIGHT, "preflight")
    assert outcomes["cert.validity"].status is Status.WARN
    assert outcomes["cert.subject"].status is Status.PASS


def test_cli_certificate_option(tls_lab, tmp_path):
    """`--certificate FILE` through the real CLI: in preflight, and post-install instead of the presented one."""
    lab = tls_lab(https=False)
    good, bad = tmp_path / "good.pem", tmp_path / "renewal.pem"
    good.write_bytes(lab.pki.leaf(sans=GOOD_SANS).pem())
    bad.write_bytes(lab.pki.leaf(sans=("ocs.todorovic.adds",)).pem())
    site = tmp_path / "site.toml"
    site.write_text(render_site({"deployment": {"server_fqdn": "ocs.todorovic.adds", "sip_domains": ["todorovic.fr"],
                                                "ad_domain": "todorovic.adds"}, **lab.site()}))

    def cli(phase, path):
        return subprocess.run([sys.executable, "-m", "ocscheck", phase, "-c", str(site), "--only", "cert.*",
                               "--certificate", str(path), "-v"], capture_output=True, text=True, timeout=60,
                              # os.environ, not the C-level environment: a library of the lab's
                              # (ncurses) exports COLUMNS=80 there, which would fit the report to 80 columns.
                              env=dict(os.environ))

    done = cli("preflight", good)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "certificate file good.pem (PEM)" in done.stdout, done.stdout  # shown relative to the site file
    done = cli("post", bad)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "SAN lacks sip.todorovic.fr" in done.stdout


@pytest.mark.lab
def test_start_good_lab_is_the_example_scenario(tmp_path):
    """The plain function the bundled example is recorded with: everything passes, then it stops cleanly."""
    extra = tmp_path / "dc-ca.pem"
    extra.write_bytes(Pki(tag="dc", root_name="DC Root").root.pem())
    overrides, stop = start_good_lab(tmp_path, pin_address=True, also_trust=[extra])
    try:
        site = make_site({**overrides, "deployment": {"extra_sans": ["cwa.todorovic.fr"]}})
        assert {i: o.status.value for i, o in judge(site, IDS).items()} == GOOD
        assert (tmp_path / "ca.pem").read_bytes().endswith(extra.read_bytes())
        sip = judge(site, ["iis.https-binding"])["iis.https-binding"]
        assert f"thumbprint {good_lab_thumbprint(tmp_path)}" in sip.evidence[1]
    finally:
        stop()
    assert judge(site, ["sip.tls"])["sip.tls"].status is Status.FAIL  # stopped: 5061 refuses
