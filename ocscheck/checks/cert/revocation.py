"""Revocation: the CRL of every certificate of the chain, fetched and judged."""
from __future__ import annotations

import datetime
from typing import List, Optional

from cryptography import x509

from ocscheck.checks.cert.source import PHASES, new_certificate, subject_certificate
from ocscheck.context import CheckContext
from ocscheck.facts import FactUnavailable, Reason
from ocscheck.model import Result
from ocscheck.registry import check
from ocscheck.values import certs

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
