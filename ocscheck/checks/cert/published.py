"""The certificate's CAs published in Active Directory, so that every domain member trusts them."""
from __future__ import annotations

import re
from typing import List, Set

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from ocscheck.checks.cert.source import PHASES, subject_certificate, trusted_path
from ocscheck.context import CheckContext
from ocscheck.model import Result
from ocscheck.registry import check
from ocscheck.values import certs
from ocscheck.values.pki import CONTAINERS, PublishedCas, pki_dn


def _prints(ders) -> Set[bytes]:
    """SHA-256 of each published DER value that parses as a certificate (a broken value matches nothing)."""
    found = set()
    for der in ders:
        try:
            found.add(x509.load_der_x509_certificate(der).fingerprint(hashes.SHA256()))
        except ValueError:
            continue
    return found


def _file_name(cert: x509.Certificate) -> str:
    """A safe file name for the fix: the certificate's CN, reduced to characters cmd.exe takes as they are."""
    name = re.sub(r"[^A-Za-z0-9 ._-]", "_", certs.short_name(cert.subject))[:60].strip() or "ca"
    return f"{name}.cer"


def _publish_line(cert: x509.Certificate, kind: str) -> str:
    return f'certutil -dspublish -f "{_file_name(cert)}" {kind}'


@check("cert.ca-published", title="The certificate's CAs are published in Active Directory", phases=PHASES,
       severity="high", needs=("tls", "ldap"))
def cert_ca_published(ctx: CheckContext) -> Result:
    """The root of the certificate's chain is published in AD's Certification Authorities container
    (CN=Certification Authorities,CN=Public Key Services,CN=Services,<configuration NC>, attribute
    cACertificate) and each intermediate in the AIA container (CN=AIA,...), compared by certificate
    (SHA-256), not by name.

    Why: domain members install what is published there into their Trusted Root and Intermediate stores
    (autoenrollment policy); a root missing there is untrusted on the members the GPO does not reach, and
    Communicator fails the TLS connection ("root not known by every machine" in the tutorial, which pushes
    the root by GPO). An enterprise CA publishes itself; an offline root or a standalone CA must be
    published by hand. The chain is built as cert.chain builds it (presented certificates, then
    tls.ca_bundle); a root that cannot be found is reported (see cert.chain) and its publication unverified.
    Fix: on a domain member with Enterprise Admin rights, save each CA certificate to a file (on the CA:
    `certutil -ca.cert <file>.cer`) and publish it: `certutil -dspublish -f <root>.cer RootCA`,
    `certutil -dspublish -f <issuing>.cer SubCA`; members pick it up at the next policy refresh
    (`gpupdate /force`, `certutil -pulse`).
    Source: the deployment tutorial (PKI: root distributed to every machine); Microsoft certutil
    documentation (-dspublish RootCA|SubCA); MS-ADSC certificationAuthority (cACertificate).
    """
    subject = subject_certificate(ctx)
    path = trusted_path(ctx, subject)
    published: PublishedCas = ctx.facts.ldap.published_cas()
    roots, intermediates = _prints(published.root_certificates()), _prints(published.intermediate_certificates())
    config = published.configuration_nc
    evidence = [subject.where, f"path: {path.describe()}",
                f"{len(published.roots)} object(s) in {pki_dn(CONTAINERS['roots'], config)}",
                f"{len(published.intermediates)} object(s) in {pki_dn(CONTAINERS['intermediates'], config)}"]
    evidence += [f"container missing: {dn}" for dn in published.missing_containers]
    missing: List[str] = []
    fixes: List[str] = []
    cas = path.links[1:]
    root = cas[-1].cert if cas and certs.is_self_signed(cas[-1].cert) else None
    for link in cas:
        cert = link.cert
        print_, name = cert.fingerprint(hashes.SHA256()), certs.short_name(cert.subject)
        if cert is root:
            where, container, kind = roots, "Certification Authorities", "RootCA"
        else:
            where, container, kind = intermediates, "AIA", "SubCA"
        if print_ in where:
            evidence.append(f"{name} ({certs.thumbprint(cert)}): published in {container}")
            continue
        # An intermediate also trusted as a root copy still is not in the intermediate store: report it.
        missing.append(f"{'root' if kind == 'RootCA' else 'intermediate'} {name} ({certs.thumbprint(cert)}) is "
                       f"not in {container}")
        fixes.append(_publish_line(cert, kind))
    if missing:
        return Result.fail("; ".join(missing), evidence,
                           "On a domain member, as an Enterprise Admin: save each CA certificate (on the CA: "
                           "`certutil -ca.cert <file>.cer`, or from tls.ca_bundle) and publish it:\n"
                           + "\n".join(fixes) + "\nthen `gpupdate /force` (or `certutil -pulse`) on the members.")
    if root is None:
        return Result.warn(f"the chain's root is unknown ({path.end or 'not found'}): its publication in AD "
                           f"cannot be checked (see cert.chain)", evidence,
                           "Add the root CA certificate to tls.ca_bundle in the site file.")
    return Result.ok(f"root {certs.short_name(root.subject)} and {len(cas) - 1} intermediate(s) published in AD",
                     evidence)
