"""IIS HTTPS binding (facts source: TLS + HTTP on 443, WinRM). Not built yet: see the TLS issue."""
from ocscheck.registry import pending

pending("iis.https-binding", title="IIS answers HTTPS on 443 with the OCS certificate", phases=("post",),
        needs=("tls", "http"))
