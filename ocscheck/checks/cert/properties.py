"""The certificate's extended key usages, key, and validity period."""
from __future__ import annotations

from typing import List, Tuple

from cryptography.x509.oid import ExtendedKeyUsageOID

from ocscheck.checks.cert.source import PHASES, new_certificate, subject_certificate, subject_evidence
from ocscheck.context import CheckContext
from ocscheck.model import Result
from ocscheck.registry import check
from ocscheck.values import certs

_EKU_NAMES = {ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth", ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth"}

@check("cert.eku", title="Certificate has the required extended key usages", phases=PHASES, severity="high",
       needs=("tls",))
def cert_eku(ctx: CheckContext) -> Result:
    """The certificate must allow Server Authentication (1.3.6.1.5.5.7.3.1), and Client Authentication
    (1.3.6.1.5.5.7.3.2) too when the site declares other OCS servers (deployment.other_ocs_servers).

    Why: the Front End is a TLS server to clients; between several OCS servers the connection is mutual TLS
    (MTLS) and each server also authenticates as a client with the same certificate (the tutorial; public
    IM also needs it). A certificate without an EKU extension is valid for every purpose.
    Fix: request the certificate from a template with both usages (duplicate the Web Server template and
    add Client Authentication), or with the request.inf in the remediation, and assign it.
    Source: TechNet certificate requirements; the deployment tutorial (MTLS).
    """
    subject = subject_certificate(ctx)
    usages = certs.extended_key_usages(subject.leaf)
    others = ctx.site.deployment.other_ocs_servers
    evidence = subject_evidence(subject)
    if subject.handshake is not None and subject.handshake.client_cert_requested:
        evidence.append("the server requests a client certificate (MTLS)")
    if usages is None:
        return Result.ok("no EKU extension: valid for every purpose", evidence)
    evidence.append("EKU: " + ", ".join(_EKU_NAMES.get(u, u.dotted_string) for u in usages))
    server = ExtendedKeyUsageOID.SERVER_AUTH in usages
    client = ExtendedKeyUsageOID.CLIENT_AUTH in usages
    if not server:
        return Result.fail("Server Authentication (1.3.6.1.5.5.7.3.1) is missing from the EKU", evidence,
                           new_certificate(ctx, subject.leaf, "Server Authentication is required"))
    if others and not client:
        return Result.fail(f"Client Authentication (1.3.6.1.5.5.7.3.2) is missing, and the site declares other "
                           f"OCS servers ({', '.join(others)}): MTLS between them fails", evidence,
                           new_certificate(ctx, subject.leaf, "Server and Client Authentication are both required "
                                                              "(use a template with both, not plain Web Server)"))
    if client:
        return Result.ok("Server and Client Authentication", evidence)
    return Result.ok("Server Authentication (Client Authentication not needed: no other OCS server declared)",
                     evidence)


@check("cert.key", title="Certificate key type and size suit OCS 2007 R2", phases=PHASES, severity="medium",
       needs=("tls",))
def cert_key(ctx: CheckContext) -> Result:
    """The certificate key must be RSA of 2048 to 4096 bits.

    Verdicts: RSA 2048-4096 pass; RSA 1024 up to 2047 warn (the OCS 2007 sample request used 1024, too weak
    today); below 1024 or above 4096 fail (OCS 2007 R2 supports RSA up to 4096 bits; the tutorial warns that
    long keys cost audio/video performance); an elliptic-curve key warns (OCS 2007 R2 clients on Windows XP
    cannot use it); any other key type fails.
    Fix: request a new certificate with KeyLength = 2048 (the remediation gives the request.inf).
    Source: TechNet bb663762 (OCS 2007 certificate key length); the deployment tutorial.
    """
    subject = subject_certificate(ctx)
    kind, bits = certs.key_kind(subject.leaf)
    evidence = subject_evidence(subject) + [f"key: {kind} {bits} bits"]
    fix = new_certificate(ctx, subject.leaf, "Use an RSA key of 2048 bits")
    if kind == "RSA":
        if bits < 1024 or bits > 4096:
            return Result.fail(f"RSA {bits} bits is outside what OCS 2007 R2 supports (1024 to 4096)", evidence, fix)
        if bits < 2048:
            return Result.warn(f"RSA {bits} bits is weak: use 2048", evidence, fix)
        return Result.ok(f"RSA {bits} bits", evidence)
    if kind == "EC":
        return Result.warn(f"EC {bits}-bit key: OCS 2007 R2 and its clients expect RSA", evidence, fix)
    return Result.fail(f"{kind} key: OCS 2007 R2 needs RSA", evidence, fix)


@check("cert.validity", title="Certificate is valid and not about to expire", phases=PHASES, severity="high",
       needs=("tls",))
def cert_validity(ctx: CheckContext) -> Result:
    """Every certificate presented (or in the file) must be valid now; the server certificate must not expire
    within thresholds.cert_expiry_days (default 30 days: warn).

    Why: an expired or not-yet-valid certificate stops every TLS connection to the server; one expiring soon
    will. Times are compared with this machine's clock (UTC): check it when a certificate is "not yet valid".
    Fix: request and assign a renewed certificate before the date (same names); for "not yet valid", check
    the clocks of the CA and the server (`w32tm /query /status`).
    Source: RFC 5280 validity; site policy for the threshold.
    """
    subject = subject_certificate(ctx)
    now = ctx.facts.now()
    threshold = ctx.site.thresholds.cert_expiry_days
    evidence = [subject.where] + [f"{certs.short_name(c.subject)}: {c.not_valid_before_utc:%Y-%m-%d %H:%M} to "
                                  f"{c.not_valid_after_utc:%Y-%m-%d %H:%M} UTC" for c in subject.chain]
    problems: List[Tuple[str, str]] = []
    for cert in subject.chain:
        name = certs.short_name(cert.subject)
        if now < cert.not_valid_before_utc:
            problems.append((f"{name} is not valid yet (from {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC)",
                             f"Check the clocks of the CA and of {ctx.site.deployment.server_fqdn} "
                             f"(`w32tm /query /status`, `w32tm /resync`); the certificate becomes valid on "
                             f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC."))
        elif now > cert.not_valid_after_utc:
            problems.append((f"{name} expired on {cert.not_valid_after_utc:%Y-%m-%d %H:%M} UTC",
                             new_certificate(ctx, subject.leaf, f"{name} has expired") if cert is subject.leaf else
                             f"Renew the CA certificate of {name} (Certification Authority console > Renew CA "
                             f"Certificate) and re-issue the server certificate."))
    if problems:
        return Result.fail("; ".join(p for p, _ in problems), evidence, "\n".join(dict.fromkeys(f for _, f in problems)))
    left = subject.leaf.not_valid_after_utc - now
    days = left.total_seconds() / 86400
    if days < threshold:
        return Result.warn(f"the certificate expires in {days:.0f} days "
                           f"({subject.leaf.not_valid_after_utc:%Y-%m-%d} UTC; threshold {threshold} days)", evidence,
                           new_certificate(ctx, subject.leaf, "Renew it before it expires"))
    return Result.ok(f"valid until {subject.leaf.not_valid_after_utc:%Y-%m-%d} ({days:.0f} days)", evidence)
