"""The certificate chain: built to the site's CA bundle, every intermediate presented."""
from __future__ import annotations

from ocscheck.checks.cert.source import PHASES, new_certificate, subject_certificate, subject_evidence
from ocscheck.context import CheckContext
from ocscheck.model import Result
from ocscheck.registry import check
from ocscheck.values import certs

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
    evidence = subject_evidence(subject) + [
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
