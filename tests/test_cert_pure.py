"""Pure certificate helpers: text from servers made safe, RFC 6125 name matching."""
from __future__ import annotations

import re

from hypothesis import given, strategies as st

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
