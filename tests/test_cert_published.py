"""cert.ca-published against a real Samba AD DC: the PKI's root published in (and missing from) the
configuration partition's Certification Authorities container, the issuing CA in (and missing from) AIA,
as `certutil -dspublish` writes them (certificationAuthority objects, cACertificate)."""
from __future__ import annotations


from ocscheck.model import Status
from tests.helpers import judge, make_site
from tests.lab.pki import Pki, publish_in_ad
from tests.lab.samba import CONFIG_DN

ID = "cert.ca-published"


def publish(samba_lab, undo, kind: str, cn: str, der: bytes) -> None:
    with samba_lab.dc1.admin() as conn:
        dn = publish_in_ad(conn, CONFIG_DN, kind, cn, der)

    @undo
    def remove() -> None:
        with samba_lab.dc1.admin() as conn:
            conn.delete(dn)


def outcome_for(samba_lab, lab, tmp_path):
    bundle = tmp_path / "internal-cas.pem"  # one internal CA bundle: the PKI's CAs and the DC's CA
    bundle.write_bytes(lab.ca_bundle.read_bytes() + samba_lab.ca.pem.read_bytes())
    overrides = samba_lab.site()
    overrides["tls"] = {**lab.site()["tls"], "ca_bundle": str(bundle)}
    return judge(make_site(overrides), [ID], "post", env=samba_lab.env)[ID]


def der(issued) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding
    return issued.cert.public_bytes(Encoding.DER)


def test_root_and_intermediate_published_pass(samba_lab, tls_lab, tmp_path, undo):
    pki = Pki()
    lab = tls_lab(pki=pki, https=False)
    publish(samba_lab, undo, "RootCA", f"{pki.tag} Root", der(pki.root))
    publish(samba_lab, undo, "SubCA", pki.issuing_name, der(pki.issuing))
    outcome = outcome_for(samba_lab, lab, tmp_path)
    assert outcome.status is Status.PASS, (outcome.summary, outcome.evidence)
    assert outcome.summary.endswith("and 1 intermediate(s) published in AD")


def test_root_missing_fails_with_the_dspublish_line(samba_lab, tls_lab, tmp_path, undo):
    pki, other = Pki(), Pki(tag="other")
    lab = tls_lab(pki=pki, https=False)
    publish(samba_lab, undo, "RootCA", f"{other.tag} Root", der(other.root))  # another PKI's root: no match
    publish(samba_lab, undo, "SubCA", pki.issuing_name, der(pki.issuing))
    outcome = outcome_for(samba_lab, lab, tmp_path)
    assert outcome.status is Status.FAIL
    root_name = pki.root.cert.subject.rfc4514_string().split("CN=")[1].split(",")[0]
    assert outcome.summary.startswith(f"root {root_name} (")
    assert outcome.summary.endswith("is not in Certification Authorities")
    assert f'certutil -dspublish -f "{root_name}.cer" RootCA' in outcome.remediation
    assert "SubCA" not in outcome.remediation


def test_intermediate_missing_from_aia_fails(samba_lab, tls_lab, tmp_path, undo):
    pki = Pki()
    lab = tls_lab(pki=pki, https=False)
    publish(samba_lab, undo, "RootCA", f"{pki.tag} Root", der(pki.root))
    outcome = outcome_for(samba_lab, lab, tmp_path)
    assert outcome.status is Status.FAIL
    assert f"intermediate {pki.issuing_name} (" in outcome.summary and "is not in AIA" in outcome.summary
    assert f'certutil -dspublish -f "{pki.issuing_name}.cer" SubCA' in outcome.remediation


def test_without_ldap_it_skips(tls_lab):
    lab = tls_lab(https=False)
    outcome = judge(make_site(lab.site()), [ID], "post")[ID]
    assert outcome.status is Status.SKIP and "[ldap] url" in outcome.summary
