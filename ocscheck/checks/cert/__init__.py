"""Certificate checks: the OCS server certificate as presented on the SIP TLS port (post-install), or
read from a file (preflight, before it is assigned: --certificate or tls.certificate; --certificate also
replaces the presented one post-install, to judge a renewal before it is swapped in).

The tutorial calls this step "the part that can quickly become a nightmare": names not identified
precisely, a root not distributed, a CA whose CRL does not work. Every check names the exact fix.

One module per concern, imported here in the order of the cert rows in every report: names (subject,
SAN), chain, revocation, then the certificate's properties (EKU, key, validity); ``source`` finds the
certificate they judge.
"""
from ocscheck.checks.cert import names, chain, revocation, properties

__all__ = ["names", "chain", "revocation", "properties"]
