"""Pure certificate analysis (no I/O): names, path building against a CA bundle, CRL judgement, keys.

The path is built here rather than with ``cryptography.x509.verification`` because that verifier
applies the web PKI profile (it rejects 1024-bit keys, expired certificates, missing SANs) and
answers only yes or no; the checks need to say *which* link is missing: an intermediate the server
does not send, or a root the site does not trust.
"""
from __future__ import annotations

import datetime
import re
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtensionOID, NameOID

# cryptography warns (on stderr, with a source line) each time it reads a name attribute longer than X.509
# allows; a hostile or sloppy certificate would fill the terminal. The checks report it as evidence instead
# (oversized_attributes).
warnings.filterwarnings("ignore", message=r"Attribute's length must be", category=UserWarning)
# RFC 5280 upper bounds (ub-*) of the attributes a server certificate's names carry.
NAME_LIMITS = {NameOID.COMMON_NAME: 64, NameOID.ORGANIZATION_NAME: 64, NameOID.ORGANIZATIONAL_UNIT_NAME: 64,
               NameOID.LOCALITY_NAME: 128, NameOID.STATE_OR_PROVINCE_NAME: 128, NameOID.COUNTRY_NAME: 2}

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ESCAPES = {"\r": "\\r", "\n": "\\n", "\t": "\\t"}


def printable(text: str, limit: int = 200) -> str:
    """Attacker-controlled text (a subject, bytes a server sent) made safe to show: controls escaped, cut."""
    text = _CONTROL.sub(lambda m: _ESCAPES.get(m.group(), f"\\x{ord(m.group()):02x}"), text)
    return text if len(text) <= limit else text[:limit] + "…"


def thumbprint(cert: x509.Certificate) -> str:
    """SHA-1 of the DER, upper-case hex: what Windows calls the thumbprint (netsh's certificate hash)."""
    return cert.fingerprint(hashes.SHA1()).hex().upper()  # noqa: S303 - an identifier, not a signature


def subject(cert: x509.Certificate) -> str:
    return printable(cert.subject.rfc4514_string())


def short_name(name: x509.Name) -> str:
    cns = [str(a.value) for a in name.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return printable(cns[0] if cns else name.rfc4514_string(), 120)


def oversized_attributes(cert: x509.Certificate) -> List[str]:
    """The subject and issuer attributes longer than RFC 5280 allows, described (software that enforces the
    limits, Windows' CryptoAPI among them, may refuse the certificate)."""
    found = []
    for which, name in (("subject", cert.subject), ("issuer", cert.issuer)):
        for attribute in name:
            limit = NAME_LIMITS.get(attribute.oid)
            value = attribute.value if isinstance(attribute.value, str) else ""
            if limit is not None and len(value) > limit:
                label = getattr(attribute.oid, "_name", attribute.oid.dotted_string)
                found.append(f"{which} {label} is {len(value)} characters, more than X.509's {limit}")
    return found


def common_names(cert: x509.Certificate) -> List[str]:
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]


def dns_names(cert: x509.Certificate) -> List[str]:
    try:
        return list(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
                    .get_values_for_type(x509.DNSName))
    except x509.ExtensionNotFound:
        return []


def name_matches(pattern: str, name: str) -> bool:
    """RFC 6125 matching: exact, or a wildcard standing for exactly the left-most label."""
    pattern, name = pattern.rstrip(".").lower(), name.rstrip(".").lower()
    if pattern.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == name


def names_for_matching(cert: x509.Certificate) -> List[str]:
    """The names a TLS client matches: the SAN DNS names, or the subject CN when there is no SAN."""
    return dns_names(cert) or common_names(cert)


def covers(cert: x509.Certificate, name: str) -> bool:
    return any(name_matches(n, name) for n in names_for_matching(cert))


def is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def issued_by(cert: x509.Certificate, candidate: x509.Certificate) -> bool:
    """``candidate``'s key signed ``cert`` and the names chain."""
    if cert.issuer != candidate.subject:
        return False
    try:
        cert.verify_directly_issued_by(candidate)
        return True
    except (InvalidSignature, ValueError, TypeError, UnsupportedAlgorithm):
        return False


def is_self_signed(cert: x509.Certificate) -> bool:
    return issued_by(cert, cert)


def cdp_urls(cert: x509.Certificate) -> Optional[List[str]]:
    """The CRL distribution point URLs, or None when the certificate has no CDP extension."""
    try:
        points = cert.extensions.get_extension_for_oid(ExtensionOID.CRL_DISTRIBUTION_POINTS).value
    except x509.ExtensionNotFound:
        return None
    return [n.value for p in points for n in (p.full_name or []) if isinstance(n, x509.UniformResourceIdentifier)]


def extended_key_usages(cert: x509.Certificate) -> Optional[List[x509.ObjectIdentifier]]:
    """The EKU OIDs, or None when there is no EKU extension (the certificate is then good for any purpose)."""
    try:
        return list(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        return None


def key_kind(cert: x509.Certificate) -> Tuple[str, int]:
    """("RSA", 2048), ("EC", 256) or (algorithm name, 0)."""
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return "EC", key.curve.key_size
    return type(key).__name__.replace("PublicKey", "").lstrip("_"), 0


def signature_hash(cert: x509.Certificate) -> str:
    algorithm = cert.signature_hash_algorithm
    return algorithm.name if algorithm else cert.signature_algorithm_oid.dotted_string


def describe(cert: x509.Certificate) -> str:
    return (f"{subject(cert)} (issuer {short_name(cert.issuer)}, serial {cert.serial_number:X}, "
            f"thumbprint {thumbprint(cert)})")


@dataclass(frozen=True)
class Link:
    cert: x509.Certificate
    origin: str                      # "presented" (sent by the server / in the file) or "bundle"


@dataclass
class CertPath:
    """The issuer path built from a leaf, leaf first."""

    links: List[Link]
    anchored: bool                   # ends at a self-signed root of the CA bundle
    end: str                         # why the path stops, when not anchored ("" otherwise)
    missing_issuer: Optional[x509.Name] = None  # the issuer name found nowhere, if that is why
    unused: List[x509.Certificate] = field(default_factory=list)  # presented but not on the path

    def issuer_of(self, index: int) -> Optional[x509.Certificate]:
        if index + 1 < len(self.links):
            return self.links[index + 1].cert
        cert = self.links[index].cert
        return cert if is_self_signed(cert) else None

    def describe(self) -> str:
        return " -> ".join(f"{short_name(link.cert.subject)} [{link.origin}]" for link in self.links)


def build_path(leaf: x509.Certificate, presented: Sequence[x509.Certificate],
               bundle: Sequence[x509.Certificate], max_depth: int = 8) -> CertPath:
    """Follow issuers from ``leaf``: the presented certificates first, then the bundle's."""
    bundle_prints: Dict[bytes, x509.Certificate] = {c.fingerprint(hashes.SHA256()): c for c in bundle}
    links = [Link(leaf, "presented")]
    used = {leaf.fingerprint(hashes.SHA256())}
    current, end, missing = leaf, "", None
    anchored = False
    for _ in range(max_depth):
        if is_self_signed(current):
            anchored = current.fingerprint(hashes.SHA256()) in bundle_prints
            if not anchored:
                end = (f"the chain ends at the root {short_name(current.subject)}, which is not in the site's CA "
                       f"bundle (untrusted root)")
            break
        found = next(((c, "presented") for c in presented if c.fingerprint(hashes.SHA256()) not in used
                      and issued_by(current, c)), None) or \
            next(((c, "bundle") for c in bundle if issued_by(current, c)), None)
        if found is None:
            missing = current.issuer
            end = (f"the issuer {short_name(current.issuer)} of {short_name(current.subject)} is neither presented "
                   f"nor in the site's CA bundle")
            break
        current = found[0]
        used.add(current.fingerprint(hashes.SHA256()))
        links.append(Link(current, found[1]))
    else:
        end = f"no root within {max_depth} certificates"
    unused = [c for c in presented if c.fingerprint(hashes.SHA256()) not in used]
    return CertPath(links, anchored, end, missing, unused)


def presented_out_of_order(path: CertPath, presented: Sequence[x509.Certificate]) -> bool:
    """True when the presented certificates on the path do not come in issuer order after the leaf."""
    on_path = [link.cert for link in path.links[1:] if link.origin == "presented"]
    in_order = [c for c in presented if c in on_path]
    return in_order != on_path


def load_crl(crl_bytes: bytes) -> x509.CertificateRevocationList:
    """A CRL in DER or PEM; ValueError when it is neither."""
    if crl_bytes.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_crl(crl_bytes)
    return x509.load_der_x509_crl(crl_bytes)


def delta_crl_urls(crl_bytes: bytes) -> List[str]:
    """The delta CRL URLs a base CRL announces (Freshest CRL extension, RFC 5280 §5.2.6), as AD CS writes."""
    try:
        points = load_crl(crl_bytes).extensions.get_extension_for_class(x509.FreshestCRL).value
    except (ValueError, x509.ExtensionNotFound):
        return []
    return [n.value for p in points for n in (p.full_name or []) if isinstance(n, x509.UniformResourceIdentifier)]


def certificate_delta_urls(cert: x509.Certificate) -> List[str]:
    """The delta CRL URLs a certificate carries itself (Freshest CRL; AD CS "AddToFreshestCrl")."""
    try:
        points = cert.extensions.get_extension_for_class(x509.FreshestCRL).value
    except (ValueError, x509.ExtensionNotFound):
        return []
    return [n.value for p in points for n in (p.full_name or []) if isinstance(n, x509.UniformResourceIdentifier)]


def url_problem(url: str) -> Optional[str]:
    """Why a distribution-point URL from a certificate cannot even be parsed (a port out of range, a broken
    IPv6 literal), or None. The URL is attacker-controlled: the answer is evidence, never an exception."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port out of 0-65535 or not a number
    except ValueError as exc:
        return str(exc) or "malformed URL"
    if parts.scheme.lower() not in ("http", "https", "ldap", "ldaps"):
        return f"unsupported scheme {parts.scheme!r}"
    return None


@dataclass(frozen=True)
class CrlVerdict:
    problems: Tuple[str, ...]        # why this CRL cannot be used (issuer, signature, dates, not a delta ...)
    summary: str                     # one line of evidence
    revoked: Optional[str] = None    # the certificate is listed: what the CRL says
    number: Optional[int] = None     # the CRL Number extension

    @property
    def usable(self) -> bool:
        """A CRL a client accepts (whether or not it lists the certificate)."""
        return not self.problems


def _extension_value(crl: x509.CertificateRevocationList, kind) -> Optional[int]:
    try:
        value = crl.extensions.get_extension_for_class(kind).value
    except (x509.ExtensionNotFound, ValueError):
        return None
    return value.crl_number if isinstance(value, (x509.CRLNumber, x509.DeltaCRLIndicator)) else None


def judge_delta_crl(crl_bytes: bytes, url: str, cert: x509.Certificate, issuer_cert: Optional[x509.Certificate],
                    now: datetime.datetime, base_number: Optional[int]) -> CrlVerdict:
    """A delta CRL: everything a base CRL must be, plus a Delta CRL Indicator that fits the base CRL in use.

    RFC 5280 §5.2.4: a delta applies to a complete CRL whose number is at least the delta's BaseCRLNumber
    (AD CS: "Minimum Base CRL Number"). A delta that needs a newer base than the one published means the
    base CRL is out of date at its URL.
    """
    verdict = judge_crl(crl_bytes, url, cert, issuer_cert, now)
    try:
        crl = load_crl(crl_bytes)
    except ValueError:
        return verdict
    problems = list(verdict.problems)
    indicator = _extension_value(crl, x509.DeltaCRLIndicator)
    if indicator is None:
        problems.append(f"the CRL at {url} is announced as a delta CRL but has no Delta CRL Indicator")
    elif base_number is not None and indicator > base_number:
        problems.append(f"the delta CRL at {url} needs base CRL number {indicator} or later; the base CRL in use "
                        f"is number {base_number}")
    base = "" if indicator is None else f", base CRL >= {indicator}"
    return CrlVerdict(tuple(problems), f"delta {verdict.summary}{base}", verdict.revoked, verdict.number)


def judge_crl(crl_bytes: bytes, url: str, cert: x509.Certificate, issuer_cert: Optional[x509.Certificate],
              now: datetime.datetime) -> CrlVerdict:
    """Is ``crl_bytes`` (from ``url``) a current CRL of ``cert``'s issuer, and is ``cert`` not listed?"""
    try:
        crl = load_crl(crl_bytes)
    except ValueError:
        return CrlVerdict((f"{url} does not hold a CRL ({len(crl_bytes)} bytes of something else)",),
                          f"{url}: not a CRL")
    problems = []
    if crl.issuer != cert.issuer:
        problems.append(f"the CRL at {url} is issued by {short_name(crl.issuer)}, not by "
                        f"{short_name(cert.issuer)}")
    if issuer_cert is not None:
        try:
            signed = crl.is_signature_valid(issuer_cert.public_key())  # type: ignore[arg-type]
        except (TypeError, UnsupportedAlgorithm):
            signed = False
        if not signed:
            problems.append(f"the CRL at {url} is not signed by {short_name(issuer_cert.subject)}'s key")
    next_update = crl.next_update_utc
    if next_update is None:
        problems.append(f"the CRL at {url} has no nextUpdate")
    elif next_update < now:
        problems.append(f"the CRL at {url} is stale: nextUpdate {next_update:%Y-%m-%d %H:%M} UTC has passed")
    if crl.last_update_utc > now + datetime.timedelta(minutes=5):
        problems.append(f"the CRL at {url} is not valid yet (thisUpdate {crl.last_update_utc:%Y-%m-%d %H:%M} UTC)")
    revoked = crl.get_revoked_certificate_by_serial_number(cert.serial_number)
    listed = None
    if revoked is not None:
        try:
            reason = revoked.extensions.get_extension_for_class(x509.CRLReason).value.reason.value
        except (x509.ExtensionNotFound, ValueError):
            reason = "unspecified"
        listed = (f"{short_name(cert.subject)} (serial {cert.serial_number:X}) is REVOKED since "
                  f"{revoked.revocation_date_utc:%Y-%m-%d %H:%M} UTC, reason {reason} (CRL {url})")
    signature = "signature not checked (issuer unknown)" if issuer_cert is None else \
        ("signature ok" if not any("not signed" in p for p in problems) else "BAD signature")
    next_text = f"{next_update:%Y-%m-%d %H:%M} UTC" if next_update else "none"
    number = _extension_value(crl, x509.CRLNumber)
    summary = (f"CRL {url} of {short_name(crl.issuer)}: {len(crl)} entries, nextUpdate {next_text}, {signature}, "
               f"{'serial LISTED' if revoked is not None else 'serial not listed'}"
               f"{'' if number is None else f', number {number}'}")
    return CrlVerdict(tuple(problems), summary, listed, number)
