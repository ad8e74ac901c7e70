"""The host side of IIS's 443 binding (netsh and appcmd on the server), which ``iis.https-binding``
compares with the certificate seen over the network."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Optional, Tuple

WILDCARD_IP = "0.0.0.0"


@dataclass(frozen=True)
class SiteBinding:
    """One IIS binding, ``protocol/ip:port:host`` as appcmd prints it (``https/*:443:``)."""
    protocol: str
    ip: str           # "*" (all unassigned), "10.0.0.20" or "[fe80::1]"
    port: Optional[int]
    host: str         # the host name (host header); empty for none

    @classmethod
    def parse(cls, text: str) -> "SiteBinding":
        protocol, _, info = text.partition("/")
        rest, _, host = info.rpartition(":")
        ip, _, port = rest.rpartition(":")
        number = int(port) if port.isdigit() and len(port) <= 5 else None
        return cls(protocol.lower(), ip, number, host)

    @property
    def netsh_ipport(self) -> Optional[str]:
        """The http.sys SSL entry that serves this binding (``0.0.0.0:443`` for "*")."""
        if self.port is None:
            return None
        return f"{WILDCARD_IP if self.ip in ('*', '') else self.ip}:{self.port}"


@dataclass(frozen=True)
class HttpsBinding:
    sslcert_hash: Optional[str]          # `netsh http show sslcert` hash of 0.0.0.0:443, upper-case hex
    site_bindings: Tuple[str, ...]       # Default Web Site bindings from appcmd, e.g. "https/*:443:"
    # Every IP:port entry of `netsh http show sslcert`: a binding on a specific address has its own entry.
    sslcert_hashes: Dict[str, str] = field(default_factory=dict)

    def https_bindings(self, port: int) -> Tuple[SiteBinding, ...]:
        parsed = (SiteBinding.parse(b) for b in self.site_bindings)
        return tuple(b for b in parsed if b.protocol == "https" and b.port == port)

    def hash_for(self, binding: SiteBinding) -> Tuple[Optional[str], Optional[str]]:
        """(IP:port entry, certificate hash) http.sys uses for ``binding``: its own address first, then the
        0.0.0.0 entry of the port, as http.sys falls back."""
        own = binding.netsh_ipport
        wildcard = f"{WILDCARD_IP}:{binding.port}"
        for ipport in (own, wildcard):
            if ipport and ipport in self.sslcert_hashes:
                return ipport, self.sslcert_hashes[ipport]
        if own == f"{WILDCARD_IP}:443" and self.sslcert_hash:
            return own, self.sslcert_hash
        return own, None

    def to_json(self) -> Dict[str, Any]:
        return {"sslcert_hash": self.sslcert_hash, "site_bindings": list(self.site_bindings),
                "sslcert_hashes": dict(self.sslcert_hashes)}

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "HttpsBinding":
        return cls(data["sslcert_hash"], tuple(data["site_bindings"]), dict(data.get("sslcert_hashes", {})))
