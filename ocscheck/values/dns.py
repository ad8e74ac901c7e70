"""DNS answers as the checks read them: one query's outcome (view, name, type), CNAME chain, A and SRV; and
per resolver, whether it hosts a zone (its SOA answer)."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, Optional, Tuple


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


@dataclass(frozen=True)
class SoaRecord:
    zone: str
    mname: str          # the zone's primary server
    rname: str
    serial: int


@dataclass(frozen=True)
class ZoneAnswer:
    """One resolver's answer to an SOA query for ``name``: does it host that zone?

    A server hosting the zone answers its SOA in the answer section with the AA flag; a resolver that
    only forwards or caches answers without AA; one that does not know the zone answers no SOA for it
    (NXDOMAIN, or NODATA with the enclosing zone's SOA in the authority section).
    """

    name: str
    server: str                         # the resolver asked, host:port
    rcode: str                          # NOERROR, NXDOMAIN, SERVFAIL, REFUSED …; "" when it did not answer
    authoritative: bool                 # the AA flag
    soa: Optional[SoaRecord] = None     # the SOA of `name` itself, from the answer section
    enclosing: str = ""                 # the zone of an SOA in the authority section (the name lies in it)
    error: str = ""                     # why the resolver gave no answer (timeout, refused …)

    @property
    def hosts_zone(self) -> bool:
        return self.soa is not None and self.authoritative

    def describe(self) -> str:
        if self.error:
            return f"{self.name} SOA: no answer from {self.server}: {self.error}"
        if self.soa is not None:
            aa = "authoritative" if self.authoritative else "NOT authoritative (forwarded or cached)"
            return (f"{self.name} SOA: {self.soa.mname} {self.soa.rname} serial {self.soa.serial}, {aa} "
                    f"({self.server})")
        inside = f", the name lies in zone {self.enclosing or '.'}" if self.enclosing else ""
        return f"{self.name} SOA: {self.rcode}, no SOA for the name{inside} ({self.server})"

    def to_json(self) -> Dict[str, Any]:
        data = asdict(self)
        data["soa"] = asdict(self.soa) if self.soa else None
        return data

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "ZoneAnswer":
        fields = dict(data)
        soa = fields.pop("soa", None)
        return cls(soa=SoaRecord(**soa) if soa else None, **fields)
