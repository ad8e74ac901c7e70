"""DNS answers as the checks read them: one query's outcome (view, name, type), CNAME chain, A and SRV."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Tuple


@dataclass(frozen=True)
class SrvRecord:
    priority: int
    weight: int
    port: int
    target: str

    def __str__(self) -> str:
        return f"{self.priority} {self.weight} {self.port} {self.target}"


@dataclass(frozen=True)
class DnsAnswer:
    view: str
    name: str
    rdtype: str
    rcode: str                      # NOERROR or NXDOMAIN
    cname_chain: Tuple[str, ...]    # each CNAME target followed from `name`, in order
    addresses: Tuple[str, ...]      # A records (of the end of the chain)
    srv: Tuple[SrvRecord, ...]
    server: str                     # the resolver that answered

    @property
    def exists(self) -> bool:
        return bool(self.addresses or self.srv or self.cname_chain)

    @property
    def canonical(self) -> str:
        return self.cname_chain[-1] if self.cname_chain else self.name

    def describe(self) -> str:
        if self.rcode == "NXDOMAIN":
            return f"{self.name} {self.rdtype}: NXDOMAIN ({self.view}, {self.server})"
        parts = [f"CNAME {t}" for t in self.cname_chain]
        parts += [f"A {a}" for a in self.addresses] + [f"SRV {s}" for s in self.srv]
        return f"{self.name} {self.rdtype}: {', '.join(parts) or 'no records'} ({self.view}, {self.server})"

    @classmethod
    def from_json(cls, view: str, name: str, rdtype: str, data: Dict[str, Any]) -> "DnsAnswer":
        return cls(view, name, rdtype, data["rcode"], tuple(data["cname_chain"]), tuple(data["addresses"]),
                   tuple(SrvRecord(**s) for s in data["srv"]), data["server"])
