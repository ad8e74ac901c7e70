"""Pure certificate helpers: text from servers made safe, RFC 6125 name matching."""
from __future__ import annotations

import re

from hypothesis import given, strategies as st

from cryptography import x509

from ocscheck.values import certs
from ocscheck.values.sip import message_complete as _complete


@given(st.text(), st.integers(min_value=1, max_value=300))
def test_printable_never_lets_control_characters_through(text, limit):
    shown = certs.printable(text, limit)
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", shown)
    assert len(shown) <= limit + 1  # plus the ellipsis


def test_printable_escapes_readably():
    assert certs.printable("a\r\nb\x1b[2J\x00") == "a\\r\\nb\\x1b[2J\\x00"


def test_name_matching():
    assert certs.name_matches("sip.todorovic.fr", "SIP.todorovic.fr.")
    assert certs.name_matches("*.todorovic.fr", "sip.todorovic.fr")
    assert not certs.name_matches("*.todorovic.fr", "todorovic.fr")
    assert not certs.name_matches("*.todorovic.fr", "a.sip.todorovic.fr")
    assert not certs.name_matches("ocs.todorovic.adds", "sip.todorovic.fr")


@given(st.binary(max_size=200))
def test_sip_reader_never_claims_a_message_without_its_blank_line(data):
    if b"\r\n\r\n" not in data:
        assert not _complete(data)


def test_sip_reader_waits_for_the_body():
    head = b"SIP/2.0 200 OK\r\nContent-Length: 4\r\n\r\n"
    assert not _complete(head + b"ab")
    assert _complete(head + b"abcd")
    assert _complete(b"SIP/2.0 200 OK\r\nl: 0\r\n\r\n")  # compact form of Content-Length


def test_self_signed_certificate_never_passes_revocation(tmp_path):
    from ocscheck.facts import Inputs
    from tests.helpers import judge, make_site
    from tests.helpers_pki import self_signed_pem

    path = tmp_path / "self-signed.pem"
    path.write_text(self_signed_pem("ocs.todorovic.adds"))
    outcome = judge(make_site(), ["cert.revocation"], "preflight", inputs=Inputs(certificate=path))["cert.revocation"]
    assert str(outcome.status) == "warn" and "revocation cannot be checked" in outcome.summary


def test_a_name_attribute_longer_than_x509_allows_is_evidence_not_stderr(tmp_path):
    import datetime as dt
    import os
    import subprocess
    import sys
    import warnings

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with warnings.catch_warnings():  # building the very certificate the check must judge without a warning
        warnings.simplefilter("ignore", UserWarning)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ocs.todorovic.adds" + "x" * 90, _validate=False)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(dt.datetime(2020, 1, 1)).not_valid_after(dt.datetime(2040, 1, 1))
            .sign(key, hashes.SHA256()))
    (tmp_path / "long.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "site.toml").write_text('[deployment]\nserver_fqdn = "ocs.todorovic.adds"\n'
                                        'sip_domains = ["todorovic.fr"]\nad_domain = "todorovic.adds"\n')
    # A real process: pytest captures warnings itself, so only a subprocess shows what a user's stderr gets.
    done = subprocess.run([sys.executable, "-m", "ocscheck", "preflight", "-c", str(tmp_path / "site.toml"),
                           "--only", "cert.subject", "--certificate", str(tmp_path / "long.pem"), "-v"],
                          capture_output=True, text=True, timeout=60, env=dict(os.environ))
    assert "subject commonName is 108 characters, more than X.509's 64" in done.stdout
    assert "Warning" not in done.stderr, done.stderr


def test_certificate_request_names_the_template_and_the_san_extension():
    """Findings §9: an enterprise CA refuses a request without a template; the SAN goes in [Extensions]."""
    from ocscheck.checks.cert.source import request_inf

    inf = request_inf("ocs.todorovic.adds", ["ocs.todorovic.adds", "sip.todorovic.fr"])
    sections = {}
    current = None
    for line in inf.splitlines():
        if line.startswith("["):
            current = line
            sections[current] = []
        elif not line.startswith(";"):
            sections[current].append(line.split(";")[0].strip())
    assert sections["[RequestAttributes]"] == ["CertificateTemplate = WebServer"]
    assert sections["[Extensions]"] == ['2.5.29.17 = "{text}"', '_continue_ = "dns=ocs.todorovic.adds&"',
                                        '_continue_ = "dns=sip.todorovic.fr"']
    assert sections["[EnhancedKeyUsageExtension]"] == ["OID = 1.3.6.1.5.5.7.3.1"]  # WebServer: serverAuth only
    assert "SAN=" not in inf  # the EDITF_ATTRIBUTESUBJECTALTNAME2 form is a CA-wide risk: not offered
