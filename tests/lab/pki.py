"""A test PKI built with cryptography: root -> issuing CA -> server certificates, and their CRLs.

Like an AD CS hierarchy: every certificate below the root carries a CRL distribution point on the
lab's HTTP server (nginx on 127.0.0.40), and the CRLs are DER files written next to the certificates.
Keys are RSA (OCS 2007 R2 needs RSA) and generated once per process per role, so a scenario costs
milliseconds; an 8192-bit key costs about a second, once.
"""
from __future__ import annotations

import datetime
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, Optional, Sequence, Tuple, Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tests.lab import CRL_HOST

PrivateKey = Union[rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey]
SERVER_AUTH = ExtendedKeyUsageOID.SERVER_AUTH
CLIENT_AUTH = ExtendedKeyUsageOID.CLIENT_AUTH
CRL_BASE = f"http://{CRL_HOST}/crl"

_keys: Dict[Tuple[str, str, int], PrivateKey] = {}
_keys_lock = threading.Lock()


def key(role: str, kind: str = "rsa", size: int = 2048) -> PrivateKey:
    """The key of ``role`` (memoised per process: distinct roles get distinct keys)."""
    with _keys_lock:
        if (role, kind, size) not in _keys:
            _keys[(role, kind, size)] = (rsa.generate_private_key(65537, size) if kind == "rsa"
                                         else ec.generate_private_key(ec.SECP256R1()))
        return _keys[(role, kind, size)]


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Todorovic Lab"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _cdp(urls: Sequence[str]) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints([x509.DistributionPoint([x509.UniformResourceIdentifier(u) for u in urls],
                                                              None, None, None)])


@dataclass
class Issued:
    cert: x509.Certificate
    key: PrivateKey

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                      serialization.NoEncryption())


@dataclass
class Pki:
    """A root and an issuing CA; ``leaf`` issues server certificates, ``crl`` signs CRLs."""

    tag: str = "lab"                      # distinct tags give distinct keys (another PKI entirely)
    root_name: str = "Todorovic Root CA"
    issuing_name: str = "Todorovic Issuing CA"
    crl_base: str = CRL_BASE
    root: Issued = field(init=False)
    issuing: Issued = field(init=False)

    def __post_init__(self) -> None:
        root_key = key(f"{self.tag}-root")
        start = now() - datetime.timedelta(days=1)
        root_cert = (x509.CertificateBuilder().subject_name(_name(self.root_name)).issuer_name(_name(self.root_name))
                     .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=3650))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
                     .add_extension(_ca_usage(), critical=True)
                     .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
                     .sign(root_key, hashes.SHA256()))
        self.root = Issued(root_cert, root_key)
        issuing_key = key(f"{self.tag}-issuing")
        self.issuing = Issued(self._sign(
            x509.CertificateBuilder().subject_name(_name(self.issuing_name))
            .public_key(issuing_key.public_key()).not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=1825))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_ca_usage(), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(issuing_key.public_key()), critical=False)
            .add_extension(_cdp([f"{self.crl_base}/{self.tag}-root.crl"]), critical=False),
            self.root), issuing_key)

    @property
    def root_crl_url(self) -> str:
        return f"{self.crl_base}/{self.tag}-root.crl"

    @property
    def issuing_crl_url(self) -> str:
        return f"{self.crl_base}/{self.tag}-issuing.crl"

    def _sign(self, builder: x509.CertificateBuilder, issuer: Issued) -> x509.Certificate:
        return (builder.issuer_name(issuer.cert.subject).serial_number(x509.random_serial_number())
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
                               critical=False)
                .sign(issuer.key, hashes.SHA256()))

    def leaf(self, cn: str = "ocs.todorovic.adds",
             sans: Optional[Sequence[str]] = ("ocs.todorovic.adds", "sip.todorovic.fr"),
             subject: Optional[x509.Name] = None, valid_from: Optional[datetime.datetime] = None,
             valid_days: float = 365, key_kind: str = "rsa", key_size: int = 2048, key_role: str = "leaf",
             eku: Sequence[x509.ObjectIdentifier] = (SERVER_AUTH, CLIENT_AUTH),
             cdp: Optional[Sequence[str]] = None, no_cdp: bool = False) -> Issued:
        """A server certificate issued by the issuing CA; defaults are the tutorial's right certificate."""
        leaf_key = key(f"{self.tag}-{key_role}", key_kind, key_size)
        start = valid_from or now() - datetime.timedelta(hours=1)
        builder = (x509.CertificateBuilder().subject_name(subject or _name(cn))
                   .public_key(leaf_key.public_key()).not_valid_before(start)
                   .not_valid_after(start + datetime.timedelta(days=valid_days))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.KeyUsage(True, key_kind == "rsa", False, False, key_kind != "rsa", False,
                                                False, False, False), critical=True))
        if eku:
            builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in sans]),
                                            critical=False)
        if not no_cdp:
            builder = builder.add_extension(_cdp(cdp or [self.issuing_crl_url]), critical=False)
        return Issued(self._sign(builder, self.issuing), leaf_key)

    @property
    def issuing_delta_url(self) -> str:
        return f"{self.crl_base}/{self.tag}-issuing+.crl"  # AD CS names delta CRLs <CA name>+.crl

    def crl(self, of: Issued, revoked: Iterable[x509.Certificate] = (), next_update_in: float = 7,
            signed_by: Optional[PrivateKey] = None, freshest: Optional[str] = None,
            delta_of: Optional[int] = None) -> bytes:
        """A DER CRL of CA ``of`` listing ``revoked``; ``next_update_in`` days (negative: already stale).
        ``freshest`` announces a delta CRL there; ``delta_of`` makes this the delta of base CRL number N."""
        issued_at = now() - datetime.timedelta(days=max(1.0, -next_update_in + 1))
        builder = (x509.CertificateRevocationListBuilder().issuer_name(of.cert.subject).last_update(issued_at)
                   .next_update(now() + datetime.timedelta(days=next_update_in))
                   .add_extension(x509.CRLNumber(2 if delta_of else 1), critical=False))
        if freshest:
            builder = builder.add_extension(x509.FreshestCRL([x509.DistributionPoint(
                [x509.UniformResourceIdentifier(freshest)], None, None, None)]), critical=False)
        if delta_of:
            builder = builder.add_extension(x509.DeltaCRLIndicator(delta_of), critical=True)
        for cert in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(cert.serial_number)
                .revocation_date(now() - datetime.timedelta(hours=1))
                .add_extension(x509.CRLReason(x509.ReasonFlags.key_compromise), critical=False).build())
        return builder.sign(signed_by or of.key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)

    def write_crls(self, crl_dir: Path, revoked: Iterable[x509.Certificate] = (), next_update_in: float = 7,
                   signed_by: Optional[PrivateKey] = None, delta: Optional[str] = None,
                   delta_revoked: Iterable[x509.Certificate] = ()) -> None:
        """Publish both CAs' CRLs where the CDPs point (the issuing CA's with the scenario's faults).
        ``delta``: None (no delta CRL), "published" (announced and served), "missing" (announced only),
        "expired" (served past its nextUpdate), "newer-base" (served, but the delta of base CRL number 5
        while the base is number 1) or "not-a-delta" (a complete CRL served at the delta URL)."""
        crl_dir.mkdir(parents=True, exist_ok=True)
        (crl_dir / f"{self.tag}-root.crl").write_bytes(self.crl(self.root))
        (crl_dir / f"{self.tag}-issuing.crl").write_bytes(
            self.crl(self.issuing, revoked, next_update_in, signed_by,
                     freshest=self.issuing_delta_url if delta else None))
        served = {"published": lambda: self.crl(self.issuing, delta_revoked, delta_of=1),
                  "expired": lambda: self.crl(self.issuing, delta_revoked, next_update_in=-1, delta_of=1),
                  "newer-base": lambda: self.crl(self.issuing, delta_revoked, delta_of=5),
                  "not-a-delta": lambda: self.crl(self.issuing, delta_revoked)}
        if delta in served:
            (crl_dir / f"{self.tag}-issuing+.crl").write_bytes(served[delta]())

    def bundle(self, path: Path, with_issuing: bool = True) -> Path:
        """The site's CA bundle (what the GPO distributes): the root, and the issuing CA by default."""
        path.write_bytes(self.root.pem() + (self.issuing.pem() if with_issuing else b""))
        return path


def _ca_usage() -> x509.KeyUsage:
    return x509.KeyUsage(True, False, False, False, False, True, True, False, False)


def write_server_files(leaf: Issued, chain: Sequence[Issued], directory: Path, name: str) -> Tuple[Path, Path]:
    """``name``.crt (leaf then ``chain``, what the server sends) and ``name``.key (mode 0600)."""
    directory.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(leaf.pem() + b"".join(c.pem() for c in chain))
    key_path.write_bytes(leaf.key_pem())
    key_path.chmod(0o600)
    return cert_path, key_path



def permissive_openssl_env(directory: Path) -> Dict[str, str]:
    """Environment for a lab server whose OpenSSL must load 1024-bit keys, as Schannel on the real server
    does: Debian builds OpenSSL with security level 2, which refuses them ("ee key too small")."""
    conf = directory / "openssl-seclevel0.cnf"
    conf.write_text("openssl_conf = lab_conf\n[lab_conf]\nssl_conf = lab_ssl\n[lab_ssl]\n"
                    "system_default = lab_default\n[lab_default]\nCipherString = DEFAULT:@SECLEVEL=0\n")
    return {**os.environ, "OPENSSL_CONF": str(conf)}


def publish_in_ad(conn, config_dn: str, kind: str, cn: str, der: bytes) -> str:
    """What `certutil -dspublish -f <file> RootCA|SubCA` creates in a forest: a certificationAuthority object
    named by the CA under CN=Certification Authorities (RootCA) or CN=AIA (SubCA) of the configuration
    partition. ``conn``: an administrator's ldap3 connection. Returns the object's DN."""
    pks = f"CN=Public Key Services,CN=Services,{config_dn}"
    container = {"RootCA": f"CN=Certification Authorities,{pks}", "SubCA": f"CN=AIA,{pks}"}[kind]
    dn = f"CN={cn},{container}"
    raising, conn.raise_exceptions = conn.raise_exceptions, False
    try:
        for parent in (pks, container):
            conn.add(parent, "container")  # present on a real forest: "entryAlreadyExists" is fine
        conn.delete(dn)
        # certificationAuthority must hold the two revocation lists too; certutil writes a placeholder.
        if not conn.add(dn, "certificationAuthority", {"cACertificate": der, "authorityRevocationList": b"\x00",
                                                       "certificateRevocationList": b"\x00"}):
            raise RuntimeError(f"cannot publish {cn} in {container}: {conn.result}")
    finally:
        conn.raise_exceptions = raising
    return dn
