"""SIP over TLS (facts source: TLS and SIP on 5061). Not built yet: see the TLS issue."""
from ocscheck.registry import pending

pending("sip.tls", title="SIP over TLS answers on the SRV target, port 5061", phases=("post",),
        severity="critical", needs=("dns.internal", "tls"))
pending("sip.options", title="The SIP stack answers an OPTIONS request", phases=("post",), needs=("sip",))
