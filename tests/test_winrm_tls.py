"""WinRM over HTTPS (the 5986 listener): the server certificate is verified against the site's CA
bundle unless the site turns verification off; Basic authentication only goes over TLS."""
from __future__ import annotations

import datetime
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.helpers import judge, make_site
from tests.winrm_endpoint import WinrmEndpoint, env, scenarios

pytestmark = pytest.mark.lab  # starts its own WS-Management endpoint

HTTPS_PORT = 5986


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _ca(directory: Path, cn: str):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn)).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(key, hashes.SHA256()))
    (directory / f"{cn}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("winrm-pki")
    ca, ca_key = _ca(directory, "lab-root")
    _ca(directory, "other-root")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    leaf = (x509.CertificateBuilder().subject_name(_name("ocs.todorovic.adds")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("ocs.todorovic.adds"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.30"))]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    (directory / "winrm.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = (x509.CertificateBuilder().subject_name(_name("ocsadmin")).issuer_name(ca.subject)
              .public_key(client_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=1))
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
              .sign(ca_key, hashes.SHA256()))
    (directory / "client.pem").write_bytes(client.public_bytes(serialization.Encoding.PEM))
    (directory / "client.key").write_bytes(client_key.private_bytes(serialization.Encoding.PEM,
                                                                    serialization.PrivateFormat.PKCS8,
                                                                    serialization.NoEncryption()))
    (directory / "winrm.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                            serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption()))
    return directory


@pytest.fixture(scope="module")
def https_endpoint(pki, tmp_path_factory):
    endpoint = WinrmEndpoint(tmp_path_factory.mktemp("winrm-https"), port=HTTPS_PORT,
                             tls=(pki / "winrm.pem", pki / "winrm.key"), client_ca=pki / "lab-root.pem")
    yield endpoint
    endpoint.stop()


def host_os(endpoint, pki, bundle: str, verify: bool = True, transport: str = "basic"):
    overrides = endpoint.site_overrides("server", transport=transport)
    overrides["winrm"]["server"]["verify_tls"] = verify
    if not verify and transport == "basic":  # Basic to an unverified server must be asked for by name
        overrides["winrm"]["server"]["allow_insecure_basic"] = True
    site = make_site({**overrides, "tls": {"ca_bundle": str(pki / bundle)}})
    return judge(site, ["host.os"], "preflight", env=env())["host.os"]


def test_basic_over_https_with_the_site_ca(https_endpoint, pki):
    https_endpoint.set_scenario(scenarios.ready_host(), auth="basic")
    outcome = host_os(https_endpoint, pki, "lab-root.pem")
    assert str(outcome.status) == "pass"


def test_untrusted_certificate_is_an_error(https_endpoint, pki):
    https_endpoint.set_scenario(scenarios.ready_host(), auth="basic")
    outcome = host_os(https_endpoint, pki, "other-root.pem")
    assert str(outcome.status) == "error" and "TLS with https://127.0.0.30:5986/wsman failed" in outcome.summary


def test_verification_can_be_turned_off(https_endpoint, pki):
    https_endpoint.set_scenario(scenarios.ready_host(), auth="basic")
    outcome = host_os(https_endpoint, pki, "other-root.pem", verify=False)
    assert str(outcome.status) == "pass"


def test_ntlm_over_https(https_endpoint, pki):
    https_endpoint.set_scenario(scenarios.ready_host(), auth="ntlm")
    https_endpoint.clear_requests()
    outcome = host_os(https_endpoint, pki, "lab-root.pem", transport="ntlm")
    assert str(outcome.status) == "pass", outcome.summary
    # TLS protects the body: the Create itself carries NEGOTIATE, then AUTHENTICATE; none goes unauthenticated.
    legs = [(r["action"], r["leg"]) for r in https_endpoint.requests()]
    assert legs[:2] == [("auth", "negotiate"), ("Create", "authenticate")], legs
    assert {leg for _, leg in legs[2:]} == {"session"}


def test_certificate_authentication(https_endpoint, pki):
    https_endpoint.set_scenario(scenarios.ready_host(), auth="certificate")
    https_endpoint.clear_requests()
    overrides = https_endpoint.site_overrides("server", transport="certificate")
    overrides["winrm"]["server"].update(client_cert=str(pki / "client.pem"), client_key=str(pki / "client.key"))
    site = make_site({**overrides, "tls": {"ca_bundle": str(pki / "lab-root.pem")}})
    outcome = judge(site, ["host.os"], "preflight")["host.os"]  # no password needed
    assert str(outcome.status) == "pass", outcome.summary
    assert {r["user"] for r in https_endpoint.requests() if r["action"] == "Create"} == {"ocsadmin"}


def test_certificate_transport_without_a_certificate_is_an_error(https_endpoint, pki):
    site = make_site({**https_endpoint.site_overrides("server", transport="certificate"),
                      "tls": {"ca_bundle": str(pki / "lab-root.pem")}})
    outcome = judge(site, ["host.os"], "preflight")["host.os"]
    # [winrm.server] is configured but cannot be used: an error, not a quiet skip.
    assert str(outcome.status) == "error" and "client_cert" in outcome.summary
