"""Certificate checks: the OCS server certificate as presented on the SIP TLS port (post-install), or
read from a file (preflight, before it is assigned: --certificate or tls.certificate; --certificate also
replaces the presented one post-install, to judge a renewal before it is swapped in).

The tutorial calls this step "the part that can quickly become a nightmare": names not identified
precisely, a root not distributed, a CA whose CRL does not work. Every check names the exact fix.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import List, Optional, Tuple

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from ocscheck.values import certs
from ocscheck.context import CheckContext
from ocscheck.facts.store import FactUnavailable, Reason
from ocscheck.model import Phase, Result
from ocscheck.registry import check
from ocscheck.values.tls import Handshake

PHASES = ("preflight", "post")
_EKU_NAMES = {ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth", ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth"}


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


def new_certificate(ctx: CheckContext, leaf: Optional[x509.Certificate], why: str) -> str:
    """The exact steps to request the right certificate for this site and assign it."""
    fqdn = ctx.site.deployment.server_fqdn
    names = required_names(ctx)
    ca = certs.short_name(leaf.issuer) if leaf is not None else "<CA name>"
    sans = [f'_continue_ = "dns={n}&"' for n in names[:-1]] + [f'_continue_ = "dns={names[-1]}"']
    inf = "\n".join([
        "[Version]", 'Signature="$Windows NT$"', "[NewRequest]", f'Subject = "CN={fqdn}"', "KeyLength = 2048",
        "KeySpec = 1", "Exportable = TRUE", "MachineKeySet = TRUE",
        'ProviderName = "Microsoft RSA SChannel Cryptographic Provider"', "RequestType = PKCS10",
        "[EnhancedKeyUsageExtension]", "OID = 1.3.6.1.5.5.7.3.1", "OID = 1.3.6.1.5.5.7.3.2",
        "[Extensions]", '2.5.29.17 = "{text}"', *sans])
    return (f"{why}. Request a new certificate for {fqdn} and assign it to the Front End and to IIS: in the OCS 2007 "
            f"R2 Certificate Wizard (Deployment > Configure Certificate > Create a new certificate) give the subject "
            f"name {fqdn} and the alternative names {', '.join(names)}, a 2048-bit key, marked exportable. "
            f"Or on the server with certreq and this request.inf (the {{text}} SAN syntax needs the certreq of "
            f"Windows Server 2008 R2; on 2008 put SAN=\"dns={'&dns='.join(names)}\" under [RequestAttributes]):\n"
            f"{inf}\n"
            f"certreq -new request.inf {fqdn}.req\n"
            f'certreq -submit -config "<CA server>\\{ca}" {fqdn}.req {fqdn}.cer\n'
            f"certreq -accept {fqdn}.cer\n"
            f"then assign it in the wizard (Assign an existing certificate), bind it to 443 in IIS "
            f"(Default Web Site > Bindings > https), and iisreset.")


def _evidence(subject: Subject) -> List[str]:
    return [subject.where, f"leaf: {certs.describe(subject.leaf)}"]


@check("cert.subject", title="Certificate subject CN is the server FQDN", phases=PHASES, severity="critical",
       needs=("tls",))
def cert_subject(ctx: CheckContext) -> Result:
    """The server certificate's subject common name must be the server's FQDN.

    Why: a Standard Edition server is its own pool; OCS matches its certificate by the subject name, and
    clients and other servers validate the name they connected to. A certificate issued to a short name or
    another host stops the Front End from using it (or clients from trusting it).
    How: post-install, the certificate presented on the SIP TLS port (5061); preflight, the file given with
    --certificate or tls.certificate (--certificate also replaces the presented one post-install).
    Compares the subject CN with deployment.server_fqdn (case-insensitive).
    Fix: request a certificate with Subject CN=<server FQDN> (Certificate Wizard or certreq; the remediation
    gives the request.inf) and assign it.
    Source: TechNet, OCS 2007 R2 certificate requirements (Standard Edition: subject = server FQDN).
    """
    subject = subject_certificate(ctx)
    fqdn = ctx.site.deployment.server_fqdn
    names = certs.common_names(subject.leaf)
    evidence = _evidence(subject) + [f"subject CN: {', '.join(certs.printable(n) for n in names) or '(none)'}"]
    if any(n.lower().rstrip(".") == fqdn.lower() for n in names):
        return Result.ok(f"subject CN is {fqdn}", evidence)
    found = certs.printable(names[0]) if names else "absent"
    return Result.fail(f"subject CN is {found}, not the server FQDN {fqdn}", evidence,
                       new_certificate(ctx, subject.leaf, f"The subject must be CN={fqdn}"))


@check("cert.san", title="Certificate SAN carries the server FQDN and sip.<domain>", phases=PHASES,
       severity="critical", needs=("tls",))
def cert_san(ctx: CheckContext) -> Result:
    """The certificate's subject alternative names must hold the server FQDN, sip.<domain> for every SIP domain
    and the site's extra names (deployment.extra_sans, e.g. cwa.<domain>), and no wildcard.

    Why: automatic sign-in sends clients to sip.<SIP domain> (the SRV target); they refuse a certificate that
    does not carry that name exactly. A wildcard SAN in the pool certificate stops the OCS services.
    Fix: request a certificate with every missing name in the SAN (the remediation gives the names and a
    certreq request.inf), then assign it to the Front End and IIS.
    Source: TechNet certificate requirements; the deployment tutorial (sip.<domain>, cwa.<domain>);
    community reports for wildcards (partly confirmed).
    """
    subject = subject_certificate(ctx)
    names = certs.dns_names(subject.leaf)
    evidence = _evidence(subject) + [f"SAN DNS names: {', '.join(certs.printable(n) for n in names) or '(none)'}"]
    present = {n.lower().rstrip(".") for n in names}
    missing = [n for n in required_names(ctx) if n.lower() not in present]
    wildcards = [certs.printable(n) for n in names if "*" in n]
    problems = []
    if missing:
        problems.append(f"SAN lacks {', '.join(missing)}" if names else
                        f"no SAN extension (needs {', '.join(missing)})")
    if wildcards:
        problems.append(f"wildcard name(s) {', '.join(wildcards)} in the SAN (OCS 2007 R2 does not support them)")
    if problems:
        why = f"Add {', '.join(missing)} to the SAN" if missing else "Use explicit names, no wildcard"
        return Result.fail("; ".join(problems), evidence, new_certificate(ctx, subject.leaf, why))
    return Result.ok(f"SAN has {', '.join(required_names(ctx))}", evidence)


@check("cert.chain", title="Certificate chain builds to the site's CA", phases=PHASES, severity="critical",
       needs=("tls", "tls.ca_bundle"))
def cert_chain(ctx: CheckContext) -> Result:
    """The certificate must chain to a root of the site's CA bundle (tls.ca_bundle), and post-install the
    server must present every intermediate certificate itself.

    Why: every client must trust the root (the tutorial distributes the internal root by GPO), and a client
    that does not already hold the intermediate can only build the chain from what the server sends.
    Reported separately: an intermediate not sent by the server; an issuer found nowhere; a root that is not
    in the bundle (untrusted). The order presented is shown; out of order or unrelated extra certificates
    warn.
    Fix: import the intermediate into the server's Intermediate Certification Authorities store
    (`certutil -addstore CA <issuing-ca>.cer`) and restart the Front End; distribute the root to clients
    (`certutil -dspublish -f <root>.cer RootCA`, or a GPO) and add it to tls.ca_bundle.
    Source: the deployment tutorial (certificate distribution); RFC 5280 path building.
    """
    subject = subject_certificate(ctx)
    bundle = ctx.facts.tls.ca_bundle()
    path = certs.build_path(subject.leaf, subject.chain[1:], bundle)
    evidence = _evidence(subject) + [
        f"{'presented' if subject.presented else 'in the file'} (in order): "
        + ", ".join(certs.short_name(c.subject) for c in subject.chain),
        f"path: {path.describe()}",
        f"signature hashes: {', '.join(certs.signature_hash(link.cert) for link in path.links)}"]
    if not path.anchored:
        last = path.links[-1].cert
        if path.missing_issuer is None and not certs.is_self_signed(last):  # a loop of cross-certificates
            return Result.fail(f"chain does not build to the site's CA bundle: {path.end}", evidence,
                               "Remove the cross-certificates from the server's stores (certlm.msc) so that the "
                               "chain ends at the internal root.")
        if path.missing_issuer is None:
            return Result.fail(path.end, evidence,
                               f"If {certs.short_name(last.subject)} is your internal root, add it to tls.ca_bundle "
                               f"and distribute it to every client (GPO, or `certutil -dspublish -f root.cer "
                               f"RootCA`); otherwise request the certificate from the internal CA.\n"
                               + new_certificate(ctx, subject.leaf, "A certificate of the trusted CA is needed"))
        missing = certs.short_name(path.missing_issuer)
        hint = (f" (if {missing} is an intermediate CA, the server does not send it and the bundle lacks it; "
                f"if it is a root, it is not trusted)") if subject.presented else ""
        return Result.fail(f"chain does not build to the site's CA bundle: {path.end}{hint}", evidence,
                           f"Import {missing}'s certificate on the server (`certutil -addstore CA {missing}.cer` for "
                           f"an intermediate, `certutil -addstore Root {missing}.cer` for a root), restart the "
                           f"Front End (net stop RtcSrv && net start RtcSrv), and add the root to tls.ca_bundle and "
                           f"to every client (GPO).")
    not_ca = [link.cert for link in path.links[1:] if not certs.is_ca(link.cert)]
    if not_ca:
        return Result.fail(f"{', '.join(certs.short_name(c.subject) for c in not_ca)} signs certificates but is not "
                           f"a CA (basicConstraints)", evidence,
                           new_certificate(ctx, subject.leaf, "Have the certificate issued by a real CA"))
    unsent = [link.cert for link in path.links[1:] if link.origin == "bundle" and not certs.is_self_signed(link.cert)]
    if subject.presented and unsent:
        names = ", ".join(certs.short_name(c.subject) for c in unsent)
        return Result.fail(f"the server does not present the intermediate {names} (found only in the CA bundle)",
                           evidence,
                           f"On {ctx.site.deployment.server_fqdn}: `certutil -addstore CA <{names}>.cer` (Intermediate "
                           f"Certification Authorities, local computer), then restart the Front End "
                           f"(net stop RtcSrv && net start RtcSrv) and iisreset, so that Schannel sends it.")
    oddities = []
    if subject.presented and certs.presented_out_of_order(path, subject.chain[1:]):
        oddities.append("the server presents it out of issuer order")
    if subject.presented and path.unused:
        oddities.append(f"unrelated certificates presented: "
                        f"{', '.join(certs.short_name(c.subject) for c in path.unused)}")
    if oddities:
        return Result.warn(f"chain builds to {certs.short_name(path.links[-1].cert.subject)}, but "
                           f"{'; '.join(oddities)}", evidence,
                           "Remove stale CA certificates from the server's stores (certlm.msc) so that Schannel "
                           "sends leaf, then issuing CA, then its issuer.")
    return Result.ok(f"chain builds to the trusted root {certs.short_name(path.links[-1].cert.subject)}"
                     + (", every intermediate presented" if subject.presented else ""), evidence)


def _issuer_name(cert: x509.Certificate) -> str:
    return certs.short_name(cert.issuer)


class _Revocation:
    """The findings of cert.revocation, URL by URL."""

    def __init__(self, ctx: CheckContext, now: datetime.datetime):
        self.ctx, self.now = ctx, now
        self.evidence: List[str] = []
        self.problems: List[str] = []
        self.unverified: List[str] = []
        self.fixes: List[str] = []
        self.revoked = False

    def judge_url(self, url: str, cert: x509.Certificate, issuer_cert: Optional[x509.Certificate],
                  delta: bool = False) -> Optional[bytes]:
        """Fetch and judge the CRL at ``url`` for ``cert``; returns the CRL bytes when it could be fetched."""
        shown, who, issuer_name = certs.printable(url), certs.short_name(cert.subject), _issuer_name(cert)
        kind = "delta CRL" if delta else "CRL"
        try:
            fetched = self.ctx.facts.http.crl(url)
        except FactUnavailable as exc:
            if exc.reason is Reason.NOT_RECORDED:
                raise
            if exc.reason.skips:
                self.unverified.append(f"{shown} ({who}) not verified: {exc.detail}")
            else:
                self.problems.append(f"{kind} {shown} of {who} cannot be fetched ({exc.reason}: {exc.detail})")
                self.fixes.append(_publish_fix(issuer_name, shown))
            return None
        if fetched.status != 200:
            self.problems.append(f"{kind} {shown} of {who} answers {fetched.status} "
                                 f"({'not found' if fetched.status == 404 else 'not a CRL'})")
            self.fixes.append(_publish_fix(issuer_name, shown))
            return None
        verdict = certs.judge_crl(fetched.body, shown, cert, issuer_cert, self.now)
        self.evidence.append(("delta " if delta else "") + verdict.summary)
        if issuer_cert is None:
            self.unverified.append(f"the signature of {shown} was not checked: the issuer {issuer_name} of {who} is "
                                   f"unknown (see cert.chain)")
        for problem in verdict.problems:
            self.problems.append(problem)
            if "REVOKED" in problem:
                self.revoked = True
            elif "stale" in problem or "not valid yet" in problem or "nextUpdate" in problem:
                self.fixes.append(f"On {issuer_name}: `certutil -crl` publishes a fresh CRL; copy it to {shown} and "
                                  f"check the publication schedule (`certutil -getreg CA\\CRLPeriodUnits`, "
                                  f"`CA\\CRLDeltaPeriodUnits`) and the task that copies CertEnroll\\*.crl.")
            else:
                self.fixes.append(f"The file at {shown} is not {issuer_name}'s {kind}: publish that CA's own CRL "
                                  f"(`certutil -crl` on {issuer_name}) at {shown}; inspect it with "
                                  f"`certutil -dump <file>.crl`.")
        return fetched.body


@check("cert.revocation", title="Every CRL in the chain is reachable, valid and current", phases=PHASES,
       severity="critical", needs=("tls", "http"))
def cert_revocation(ctx: CheckContext) -> Result:
    """Every certificate of the chain below the root must carry a CRL distribution point (CDP); each CDP URL
    must answer with a CRL signed by the issuer, not past its nextUpdate, that does not list the certificate;
    a delta CRL announced by the CRL (Freshest CRL extension, as AD CS publishes them) is judged the same way.

    Why: OCS 2007 R2 and its clients check revocation: a certificate without a CDP, or whose CRL cannot be
    fetched, fails validation on the clients the same way ("CRL non fonctionnelle" in the tutorial). A URL
    that cannot be fetched from here is reported as a failure naming the URL for that reason. http(s) URLs
    are fetched with an HTTP GET; ldap:// URLs are read with LDAP (an ldap:/// URL without a host, as AD CS
    writes it, is read from the site's DC, [ldap] url); when the site has no [ldap] url such a URL is
    reported as not verified (warn), and so is a CRL whose issuer is unknown (its signature cannot be checked;
    cert.chain fails then).
    Fix: publish the CRL where the CDP points (`certutil -crl` on the CA, copy CertEnroll\\*.crl to the web
    folder; on IIS allow double escaping, or the "+" of delta CRL names answers 404), renew a stale CRL,
    re-issue a certificate without CDP after adding one to the CA; replace a revoked certificate. Test from a
    client with `certutil -verify -urlfetch <certificate>.cer`.
    Source: TechNet bb870336 (OCS 2007 certificate requirements: CDP); the deployment tutorial; RFC 5280
    §5.2.6 (Freshest CRL).
    """
    subject = subject_certificate(ctx)
    try:
        bundle = ctx.facts.tls.ca_bundle()
    except FactUnavailable as exc:
        if not exc.reason.skips:
            raise
        bundle = []  # the presented chain still gives the issuers; the verdict says what was not checked
    path = certs.build_path(subject.leaf, subject.chain[1:], bundle)
    found = _Revocation(ctx, ctx.facts.now())
    for index, link in enumerate(path.links):
        cert = link.cert
        if certs.is_self_signed(cert):
            continue  # a root is trusted as such; its revocation is not checked by clients
        issuer_cert, who, issuer_name = path.issuer_of(index), certs.short_name(cert.subject), _issuer_name(cert)
        urls = certs.cdp_urls(cert)
        if not urls:
            found.problems.append(f"{who} has no CRL distribution point")
            found.fixes.append(f"On {issuer_name}: add a CRL distribution point (Certification Authority console > "
                               f"{issuer_name} properties > Extensions > CRL Distribution Point: add "
                               f"http://<pki server>/CertEnroll/<CaName><CRLNameSuffix><DeltaCRLAllowed>.crl and "
                               f"tick 'Include in the CDP extension of issued certificates'), restart it (net stop "
                               f"certsvc && net start certsvc), publish (`certutil -crl`), then re-issue {who}: the "
                               f"CDP is written when a certificate is issued.")
            continue
        for url in urls:
            body = found.judge_url(url, cert, issuer_cert)
            for delta_url in certs.delta_crl_urls(body) if body else []:
                found.judge_url(delta_url, cert, issuer_cert, delta=True)
    if found.revoked:
        found.fixes.insert(0, new_certificate(ctx, subject.leaf, "The certificate is revoked"))
    evidence = [subject.where, f"path: {path.describe()}"] + found.evidence + found.unverified
    if found.problems:
        return Result.fail("; ".join(found.problems), evidence, "\n".join(dict.fromkeys(found.fixes)))
    if found.unverified:
        return Result.warn(f"{len(found.unverified)} CRL check(s) not made; the rest is current", evidence,
                           "Set [ldap] url (and user) in the site file so that ldap:/// CRL URLs can be read; "
                           "put the issuing CA's root in tls.ca_bundle so that CRL signatures can be checked.")
    checked = [link for link in path.links if not certs.is_self_signed(link.cert)]
    if not checked:
        # A self-signed server certificate: nothing below a root, so no CRL was (or can be) checked.
        return Result.warn("no certificate below a root: revocation cannot be checked (self-signed certificate?)",
                           evidence, new_certificate(ctx, subject.leaf, "Use a certificate issued by your CA"))
    return Result.ok(f"CRLs of {len(checked)} certificate(s) reachable, signed, current; none revoked", evidence)


def _publish_fix(issuer_name: str, url: str) -> str:
    return (f"Publish {issuer_name}'s CRL at {url}: on the CA `certutil -crl`, then copy "
            f"%windir%\\System32\\CertSrv\\CertEnroll\\*.crl to the folder served at {url} (IIS: allow double "
            f"escaping for delta CRLs, MIME type .crl = application/pkix-crl). Test from a client: "
            f"`certutil -verify -urlfetch <certificate>.cer`.")


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
    evidence = _evidence(subject)
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
    evidence = _evidence(subject) + [f"key: {kind} {bits} bits"]
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
