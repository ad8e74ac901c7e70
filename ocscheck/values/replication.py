"""An inbound replication link, in the one shape its two sources share so that ad.replication merges them:
LDAP (``repsFrom`` on each naming-context head, values.repsfrom) and ``repadmin /showrepl * /csv``
(parsers.repadmin, from WinRM on a DC or a saved file)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, Optional


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
