"""The certificate under judgement (presented on 5061, or a file), the names it must carry, and the
certreq request that makes a new one."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional

from cryptography import x509

from ocscheck.context import CheckContext
from ocscheck.facts import FactUnavailable, Reason
from ocscheck.model import Phase
from ocscheck.values import certs
from ocscheck.values.tls import Handshake

PHASES = ("preflight", "post")

@dataclass(frozen=True)
class Subject:
    """The certificate under judgement and where it came from."""

    chain: List[x509.Certificate]    # leaf first, in the order presented (or as in the file)
    where: str                       # first evidence line
    presented: bool                  # sent by the server: it must send its intermediates
    handshake: Optional["Handshake"]

    @property
    def leaf(self) -> x509.Certificate:
        return self.chain[0]


def subject_certificate(ctx: CheckContext) -> Subject:
    """The file given with --certificate (any phase: e.g. a renewal before it is swapped in); else in
    preflight tls.certificate, and post-install the certificate the server presents on the SIP TLS port."""
    if ctx.facts.inputs.certificate or ctx.phase is Phase.PREFLIGHT:
        cert_file = ctx.facts.tls.certificate_file()
        return Subject(cert_file.chain, f"certificate file {cert_file.path} ({cert_file.format})", False, None)
    handshake = ctx.facts.tls.handshake(ctx.site.deployment.server_fqdn, ctx.site.tls.sip_port)
    if not handshake.chain_pem:
        raise FactUnavailable(Reason.PROTOCOL, f"{handshake.endpoint} presented no certificate")
    sni = f"SNI {handshake.sni} needed" if handshake.sni else "no SNI"
    return Subject(handshake.chain, f"certificate presented on {handshake.endpoint} "
                                    f"({handshake.protocol}, {sni})", True, handshake)


def required_names(ctx: CheckContext) -> List[str]:
    """Server FQDN, sip.<d> for every SIP domain, then the site's extra names, without duplicates."""
    deployment = ctx.site.deployment
    names = [deployment.server_fqdn] + [f"sip.{d}" for d in deployment.sip_domains] + list(deployment.extra_sans)
    seen, unique = set(), []
    for name in names:
        if name.lower() not in seen:
            seen.add(name.lower())
            unique.append(name)
    return unique


# The enterprise CA template for server certificates whose subject comes from the request ("Supply in the
# request"): it honours the SAN of [Extensions] 2.5.29.17 (findings-2026-12 §9; certreq_1.md).
TEMPLATE = "WebServer"


def request_inf(fqdn: str, names: List[str]) -> str:
    """The certreq request.inf of findings §9: SAN in [Extensions] 2.5.29.17, the template named."""
    sans = [f'_continue_ = "dns={n}&"' for n in names[:-1]] + [f'_continue_ = "dns={names[-1]}"']
    return "\n".join([
        "[Version]", 'Signature="$Windows NT$"', "[NewRequest]", f'Subject = "CN={fqdn}"', "KeySpec = 1",
        "KeyLength = 2048", "KeyUsage = 0xa0", "MachineKeySet = TRUE", "Exportable = TRUE",
        'ProviderName = "Microsoft RSA SChannel Cryptographic Provider"', "ProviderType = 12",
        "RequestType = PKCS10",
        "[EnhancedKeyUsageExtension]", "OID = 1.3.6.1.5.5.7.3.1            ; Server Authentication",
        "; OID = 1.3.6.1.5.5.7.3.2          ; Client Authentication (MTLS): needs a duplicated template",
        "[Extensions]", '2.5.29.17 = "{text}"', *sans,
        "[RequestAttributes]", f"CertificateTemplate = {TEMPLATE}"])


def new_certificate(ctx: CheckContext, leaf: Optional[x509.Certificate], why: str) -> str:
    """The exact steps to request the right certificate for this site and assign it."""
    fqdn = ctx.site.deployment.server_fqdn
    names = required_names(ctx)
    ca = certs.short_name(leaf.issuer) if leaf is not None else "<CA name>"
    return (f"{why}. Request a new certificate for {fqdn} and assign it to the Front End and to IIS: in the OCS 2007 "
            f"R2 Certificate Wizard (Deployment > Configure Certificate > Create a new certificate) give the subject "
            f"name {fqdn} and the alternative names {', '.join(names)}, a 2048-bit key, marked exportable. "
            f"Or on the server with certreq and this request.inf, which names the enterprise CA's {TEMPLATE} "
            f"template (without a template, `certreq -submit` is refused by an enterprise CA). {TEMPLATE} issues "
            f"Server Authentication only: when several OCS servers talk MTLS (Client Authentication, see cert.eku), "
            f"duplicate it on the CA (Certificate Templates console > {TEMPLATE} > Duplicate, add Client "
            f"Authentication, publish it), name the copy in CertificateTemplate and uncomment the second OID. The "
            f"{{text}} SAN syntax needs the certreq of Windows Server 2008 or later:\n"
            f"{request_inf(fqdn, names)}\n"
            f"certreq -new request.inf {fqdn}.req\n"
            f'certreq -submit -config "<CA server>\\{ca}" {fqdn}.req {fqdn}.cer\n'
            f"certreq -accept {fqdn}.cer\n"
            f"then assign it in the wizard (Assign an existing certificate), bind it to 443 in IIS "
            f"(Default Web Site > Bindings > https), and iisreset.")


def subject_evidence(subject: Subject) -> List[str]:
    return [subject.where, f"leaf: {certs.describe(subject.leaf)}"]


def trusted_path(ctx: CheckContext, subject: Subject) -> certs.CertPath:
    """The subject's path built towards the site's CA bundle; without a bundle (not configured) from the
    presented chain alone (its issuers are still known; the verdict says what could not be checked). A
    configured bundle that cannot be read raises: no check judges a path it could not build honestly."""
    try:
        bundle = ctx.facts.tls.ca_bundle()
    except FactUnavailable as exc:
        if not exc.reason.skips:
            raise
        bundle = []
    return certs.build_path(subject.leaf, subject.chain[1:], bundle)
