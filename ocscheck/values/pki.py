"""The CA certificates Active Directory publishes to every domain member (configuration partition,
CN=Public Key Services,CN=Services): roots in "Certification Authorities" (the enterprise trusted roots that
group policy installs on members), intermediates in "AIA" (the enterprise intermediate store)."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Dict, Tuple

CONTAINERS = {"roots": "CN=Certification Authorities", "intermediates": "CN=AIA"}


def pki_dn(container: str, configuration_nc: str) -> str:
    return f"{container},CN=Public Key Services,CN=Services,{configuration_nc}"


@dataclass(frozen=True)
class PublishedCa:
    dn: str
    certificates: Tuple[bytes, ...]     # the cACertificate values (DER)

    def to_json(self) -> Dict[str, Any]:
        return {"dn": self.dn, "cACertificate": [base64.b64encode(c).decode("ascii") for c in self.certificates]}

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "PublishedCa":
        return cls(data["dn"], tuple(base64.b64decode(c) for c in data["cACertificate"]))


@dataclass(frozen=True)
class PublishedCas:
    configuration_nc: str
    roots: Tuple[PublishedCa, ...]              # objects under CN=Certification Authorities
    intermediates: Tuple[PublishedCa, ...]      # objects under CN=AIA
    missing_containers: Tuple[str, ...] = ()    # containers that do not exist (no PKI ever published)

    def root_certificates(self) -> Tuple[bytes, ...]:
        return tuple(c for ca in self.roots for c in ca.certificates)

    def intermediate_certificates(self) -> Tuple[bytes, ...]:
        return tuple(c for ca in self.intermediates for c in ca.certificates)

    def to_json(self) -> Dict[str, Any]:
        return {"configuration_nc": self.configuration_nc, "roots": [c.to_json() for c in self.roots],
                "intermediates": [c.to_json() for c in self.intermediates],
                "missing_containers": list(self.missing_containers)}

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "PublishedCas":
        return cls(data["configuration_nc"], tuple(PublishedCa.from_json(c) for c in data["roots"]),
                   tuple(PublishedCa.from_json(c) for c in data["intermediates"]),
                   tuple(data.get("missing_containers", ())))
