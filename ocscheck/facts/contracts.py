"""Facts that two sources produce in the same shape, so one check can merge them.

- ReplicationLink: from LDAP (``repsFrom`` on each naming-context head, facts.ldap) and from
  ``repadmin /showrepl * /csv`` (WinRM on a DC or a saved file, facts.host("dc")).
- HttpsBinding: the host side of IIS's 443 binding (facts.host("server")), compared by
  ``iis.https-binding`` with the certificate seen over the network.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, Optional, Tuple


@dataclass(frozen=True)
class ReplicationLink:
    destination_dc: str          # the DC that pulls (as named by the source: host name or NTDS DN)
    source_dc: str               # the replication partner
    naming_context: str          # DN of the partition
    consecutive_failures: int
    last_success: Optional[str]  # ISO 8601 UTC, None when never
    last_attempt: Optional[str]  # ISO 8601 UTC, None when unknown
    last_result: int             # Win32 status of the last attempt, 0 = success
    origin: str                  # "ldap" or "repadmin"

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "ReplicationLink":
        return cls(**data)


@dataclass(frozen=True)
class HttpsBinding:
    sslcert_hash: Optional[str]          # `netsh http show sslcert ipport=0.0.0.0:443` hash, upper-case hex
    site_bindings: Tuple[str, ...]       # Default Web Site bindings from appcmd, e.g. "https/*:443:"

    def to_json(self) -> Dict[str, Any]:
        return {"sslcert_hash": self.sslcert_hash, "site_bindings": list(self.site_bindings)}

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "HttpsBinding":
        return cls(data["sslcert_hash"], tuple(data["site_bindings"]))
