"""Revocation: the CRLs of every certificate of the chain, fetched and judged the way Windows uses them.

CryptoAPI tries a certificate's CRL distribution-point URLs in order and stops at the first that gives a
valid CRL (findings-2026-12 §5): a dead URL before a working one costs clients time, not validation. So
per certificate: the first URL giving a usable CRL decides (a listed certificate fails); dead or invalid
URLs warn, naming them; the certificate fails only when no URL works. The base CRL in use may announce
a delta CRL (Freshest CRL): its URLs are judged in the same order, and a delta that is stale, unsigned,
not a delta, or listing the certificate fails like a base CRL.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import List, Optional

from cryptography import x509

from ocscheck.checks.cert.source import PHASES, new_certificate, subject_certificate, trusted_path
from ocscheck.context import CheckContext
from ocscheck.facts import FactUnavailable, Reason
from ocscheck.model import Result
from ocscheck.registry import check
from ocscheck.values import certs


@dataclass
class Tried:
    """One distribution-point URL as tried: its CRL verdict, or why it gave none."""
    index: int
    url: str                              # printable
    verdict: Optional[certs.CrlVerdict] = None
    body: bytes = b""
    dead: Optional[str] = None            # fetched nothing usable: why
    unverified: Optional[str] = None      # could not be tried from here (not configured)

    @property
    def works(self) -> bool:
        return self.verdict is not None and self.verdict.usable


class _Revocation:
    """The findings of cert.revocation, certificate by certificate."""

    def __init__(self, ctx: CheckContext, now: datetime.datetime):
        self.ctx, self.now = ctx, now
        self.evidence: List[str] = []
        self.problems: List[str] = []
        self.warnings: List[str] = []
        self.unverified: List[str] = []
        self.not_made = 0                 # CRL checks that could not be made at all (a certificate, a signature)
        self.fixes: List[str] = []
        self.revoked = False

    def fetch(self, index: int, url: str, cert: x509.Certificate, issuer_cert: Optional[x509.Certificate],
              delta: bool, base_number: Optional[int], kind: str) -> Tried:
        shown, who = certs.printable(url), certs.short_name(cert.subject)
        tried = Tried(index, shown)
        broken = certs.url_problem(url)
        if broken:
            where = "CDP" if kind == "CRL" else "delta CRL"
            tried.dead = f"{where} URL {index} of {who} cannot be parsed ({shown}): {certs.printable(broken, 120)}"
            return tried
        try:
            fetched = self.ctx.facts.http.crl(url)
        except FactUnavailable as exc:
            if exc.reason is Reason.NOT_RECORDED:
                raise
            if exc.reason.skips:
                tried.unverified = f"{shown} ({who}) not verified: {exc.detail}"
            else:
                tried.dead = f"{kind} {shown} of {who} cannot be fetched ({exc.reason}: {exc.detail})"
            return tried
        if fetched.status != 200:
            tried.dead = (f"{kind} {shown} of {who} answers {fetched.status} "
                          f"({'not found' if fetched.status == 404 else 'not a CRL'})")
            return tried
        tried.body = fetched.body
        tried.verdict = certs.judge_delta_crl(fetched.body, shown, cert, issuer_cert, self.now, base_number) \
            if delta else certs.judge_crl(fetched.body, shown, cert, issuer_cert, self.now)
        self.evidence.append(tried.verdict.summary)
        return tried

    def judge_urls(self, urls: List[str], cert: x509.Certificate, issuer_cert: Optional[x509.Certificate],
                   delta: bool = False, base_number: Optional[int] = None) -> Optional[Tried]:
        """Try ``urls`` in order, stopping at the first usable CRL (returned); record what the others did."""
        kind = "delta CRL" if delta else "CRL"
        who, issuer_name = certs.short_name(cert.subject), certs.short_name(cert.issuer)
        failed: List[Tried] = []
        unverified: List[str] = []
        working = None
        for index, url in enumerate(urls, 1):
            tried = self.fetch(index, url, cert, issuer_cert, delta, base_number, kind)
            if tried.unverified:
                unverified.append(tried.unverified)
            elif tried.works:
                working = tried
                break
            else:
                failed.append(tried)
        self.unverified += unverified
        # A listing is reported from whichever CRL says it, even one otherwise unusable: never hidden.
        for tried in ([working] if working else []) + failed:
            if tried.verdict is not None and tried.verdict.revoked and not self.revoked:
                self.revoked = True
                self.problems.append(tried.verdict.revoked)
        if working is None and unverified and not failed:
            self.not_made += 1
        if working is not None and issuer_cert is None:
            self.not_made += 1
            self.unverified.append(f"the signature of {working.url} was not checked: the issuer {issuer_name} of "
                                   f"{who} is unknown (see cert.chain)")
        notes = [t.dead or "; ".join(t.verdict.problems) for t in failed if t.dead or t.verdict]
        self.fixes += [self._fix(tried, issuer_name, kind) for tried in failed]
        if not notes:
            return working
        if working is not None:
            self.warnings.append(f"{who}: {kind} URL {working.index} works, but " + "; ".join(notes))
        elif unverified:  # the URLs not tried from here may work for a domain member: not proven dead
            self.warnings.append(f"{who}: no {kind} URL verified to work: " + "; ".join(notes))
        else:
            self.problems.append("; ".join(notes) if len(urls) == 1 else
                                 f"no {kind} URL of {who} gives a usable CRL: " + "; ".join(notes))
        return working

    def _fix(self, tried: Tried, issuer_name: str, kind: str) -> str:
        if tried.dead is not None or tried.verdict is None:
            return _publish_fix(issuer_name, tried.url)
        problems = " ".join(tried.verdict.problems)
        if "stale" in problems or "not valid yet" in problems or "nextUpdate" in problems \
                or "needs base CRL" in problems:
            return (f"On {issuer_name}: `certutil -crl` publishes a fresh CRL and delta CRL; copy them to "
                    f"{tried.url} and check the publication schedule (`certutil -getreg CA\\CRLPeriodUnits`, "
                    f"`CA\\CRLDeltaPeriodUnits`) and the task that copies CertEnroll\\*.crl.")
        return (f"The file at {tried.url} is not {issuer_name}'s {kind}: publish that CA's own CRL "
                f"(`certutil -crl` on {issuer_name}) at {tried.url}; inspect it with `certutil -dump <file>.crl`.")


@check("cert.revocation", title="Every CRL in the chain is reachable, valid and current", phases=PHASES,
       severity="critical", needs=("tls", "http"))
def cert_revocation(ctx: CheckContext) -> Result:
    """Every certificate of the chain below the root must carry a CRL distribution point (CDP). Its URLs are
    tried in order, as Windows does: the first that answers with a CRL signed by the issuer and current
    (thisUpdate passed, nextUpdate not) is the one clients use, and it must not list the certificate. A
    delta CRL announced by that CRL (Freshest CRL extension, as AD CS publishes them; else the certificate's
    own Freshest CRL) is judged the same way, plus its Delta CRL Indicator: the base CRL in use must be at
    least the delta's base number. ldap:// URLs are read from the attribute they name (certificateRevocationList
    or deltaRevocationList).

    Verdict: pass when, for every certificate, a URL gives a usable, current base (and delta) CRL not
    listing it; warn naming the URLs that are dead or invalid when a later one works (clients pay a timeout
    per dead URL); fail when a CRL lists the certificate (even if another URL could not be read), when no
    URL of a certificate works, or when a certificate has no CDP. A URL that cannot be parsed
    (`ldap://dc:99999/...`) is such a dead URL, named by its position. An ldap:/// URL without a host, as AD
    CS writes it, is read from the site's DC ([ldap] url); without one it is reported as not verified, and
    so is a CRL whose issuer is unknown (its signature cannot be checked; cert.chain fails then).
    Why: OCS 2007 R2 and its clients check revocation: a certificate whose CRL cannot be fetched, or whose
    CRL is stale, fails validation on the clients ("CRL non fonctionnelle" in the tutorial).
    Fix: publish the CRL where the CDP points (`certutil -crl` on the CA, copy CertEnroll\\*.crl to the web
    folder; on IIS allow double escaping, or the "+" of delta CRL names answers 404), renew a stale CRL or
    delta CRL, remove dead URLs from the CA's CDP extension for new certificates, re-issue a certificate
    without CDP after adding one to the CA; replace a revoked certificate. Test from a client with
    `certutil -verify -urlfetch <certificate>.cer`.
    Source: TechNet bb870336 (OCS 2007 certificate requirements: CDP); the deployment tutorial; RFC 5280
    §5.2.4 (Delta CRL Indicator), §5.2.6 (Freshest CRL); findings-2026-12 §5 (deltaRevocationList, URL
    order, KB289749).
    """
    subject = subject_certificate(ctx)
    path = trusted_path(ctx, subject)
    ctx.facts.http.start_crls(crl_urls(path))  # read one by one below, in Windows' order
    found = _Revocation(ctx, ctx.facts.now())
    for index, link in enumerate(path.links):
        cert = link.cert
        if certs.is_self_signed(cert):
            continue  # a root is trusted as such; its revocation is not checked by clients
        issuer_cert, who, issuer_name = path.issuer_of(index), certs.short_name(cert.subject), \
            certs.short_name(cert.issuer)
        urls = certs.cdp_urls(cert)
        if not urls:
            found.problems.append(f"{who} has no CRL distribution point")
            found.fixes.append(_no_cdp_fix(issuer_name, who))
            continue
        base = found.judge_urls(urls, cert, issuer_cert)
        if base is None or base.verdict is None:
            continue
        deltas = certs.delta_crl_urls(base.body) or certs.certificate_delta_urls(cert)
        if deltas:
            found.judge_urls(deltas, cert, issuer_cert, delta=True, base_number=base.verdict.number)
    if found.revoked:
        found.fixes.insert(0, new_certificate(ctx, subject.leaf, "The certificate is revoked"))
    evidence = [subject.where, f"path: {path.describe()}"] + found.evidence + found.warnings + found.unverified
    fixes = "\n".join(dict.fromkeys(found.fixes))
    if found.problems:
        return Result.fail("; ".join(found.problems), evidence, fixes)
    if found.warnings:
        return Result.warn("; ".join(found.warnings), evidence, fixes)
    if found.not_made:
        return Result.warn(f"{found.not_made} CRL check(s) not made; the rest is current", evidence,
                           "Set [ldap] url (and user) in the site file so that ldap:/// CRL URLs can be read; "
                           "put the issuing CA's root in tls.ca_bundle so that CRL signatures can be checked.")
    checked = [link for link in path.links if not certs.is_self_signed(link.cert)]
    if not checked:
        # A self-signed server certificate: nothing below a root, so no CRL was (or can be) checked.
        return Result.warn("no certificate below a root: revocation cannot be checked (self-signed certificate?)",
                           evidence, new_certificate(ctx, subject.leaf, "Use a certificate issued by your CA"))
    return Result.ok(f"CRLs of {len(checked)} certificate(s) reachable, signed, current; none revoked", evidence)


def crl_urls(path: certs.CertPath) -> List[str]:
    """Every CRL and delta CRL URL the certificates of ``path`` below the root name (parseable ones): what
    cert.revocation may read, fetched together by the check and, post-install, by the prefetch."""
    return [url for link in path.links if not certs.is_self_signed(link.cert)
            for url in (certs.cdp_urls(link.cert) or []) + certs.certificate_delta_urls(link.cert)
            if not certs.url_problem(url)]


def _no_cdp_fix(issuer_name: str, who: str) -> str:
    return (f"On {issuer_name}: add a CRL distribution point (Certification Authority console > {issuer_name} "
            f"properties > Extensions > CRL Distribution Point: add http://<pki server>/CertEnroll/<CaName>"
            f"<CRLNameSuffix><DeltaCRLAllowed>.crl and tick 'Include in the CDP extension of issued certificates'), "
            f"restart it (net stop certsvc && net start certsvc), publish (`certutil -crl`), then re-issue {who}: "
            f"the CDP is written when a certificate is issued.")


def _publish_fix(issuer_name: str, url: str) -> str:
    return (f"Publish {issuer_name}'s CRL at {url}: on the CA `certutil -crl`, then copy "
            f"%windir%\\System32\\CertSrv\\CertEnroll\\*.crl to the folder served at {url} (IIS: allow double "
            f"escaping for delta CRLs, MIME type .crl = application/pkix-crl). Test from a client: "
            f"`certutil -verify -urlfetch <certificate>.cer`.")
