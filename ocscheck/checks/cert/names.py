"""The certificate's names: subject CN and subject alternative names."""
from __future__ import annotations

from ocscheck.checks.cert.source import PHASES, new_certificate, required_names, subject_certificate, subject_evidence
from ocscheck.context import CheckContext
from ocscheck.model import Result
from ocscheck.registry import check
from ocscheck.values import certs

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
    evidence = subject_evidence(subject) + [f"subject CN: {', '.join(certs.printable(n) for n in names) or '(none)'}"]
    evidence += certs.oversized_attributes(subject.leaf)
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
    evidence = subject_evidence(subject) + [f"SAN DNS names: {', '.join(certs.printable(n) for n in names) or '(none)'}"]
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
