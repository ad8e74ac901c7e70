"""Certificate checks (facts source: TLS on 5061 or a certificate file). Not built yet: see the TLS issue."""
from ocscheck.registry import pending

for _id, _title, _sev in (
        ("cert.subject", "Certificate subject CN is the server FQDN", "critical"),
        ("cert.san", "Certificate SAN carries the server FQDN and sip.<domain>", "critical"),
        ("cert.chain", "Certificate chain builds to the site's CA", "critical"),
        ("cert.revocation", "Every CRL in the chain is reachable, valid and current", "critical"),
        ("cert.eku", "Certificate has the required extended key usages", "high"),
        ("cert.key", "Certificate key type and size suit OCS 2007 R2", "medium"),
        ("cert.validity", "Certificate is valid and not about to expire", "high")):
    pending(_id, title=_title, phases=("preflight", "post"), severity=_sev, needs=("tls",))
