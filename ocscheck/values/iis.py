"""The host side of IIS's 443 binding (netsh and appcmd on the server), which ``iis.https-binding``
compares with the certificate seen over the network."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple


@dataclass(frozen=True)
class HttpsBinding:
    sslcert_hash: Optional[str]          # `netsh http show sslcert ipport=0.0.0.0:443` hash, upper-case hex
    site_bindings: Tuple[str, ...]       # Default Web Site bindings from appcmd, e.g. "https/*:443:"

    def to_json(self) -> Dict[str, Any]:
        return {"sslcert_hash": self.sslcert_hash, "site_bindings": list(self.site_bindings)}

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "HttpsBinding":
        return cls(data["sslcert_hash"], tuple(data["site_bindings"]))
