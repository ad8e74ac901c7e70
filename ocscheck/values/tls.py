"""What a TLS server presented in a handshake, and a certificate read from a file: the chain as PEM,
loaded as ``cryptography`` certificates on demand."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Dict, List, Optional, Tuple

from cryptography import x509


@dataclass(frozen=True)
class Handshake:
    name: str                        # the name asked for (the certificate must carry it)
    port: int
    address: str                     # the address dialled
    address_source: str              # how the address was found
    sni: Optional[str]               # server name sent in the handshake that worked (None: no SNI)
    no_sni_error: str                # why the handshake without SNI failed ("" when it worked)
    protocol: str                    # TLSv1.2 ...
    cipher: str
    chain_pem: Tuple[str, ...]       # as presented, in the order presented (leaf first)
    client_cert_requested: bool      # the server sent a CertificateRequest (MTLS)
    client_ca_names: Tuple[str, ...]  # CA names in that request
    seconds: float

    @property
    def chain(self) -> List[x509.Certificate]:
        return [x509.load_pem_x509_certificate(p.encode()) for p in self.chain_pem]

    @property
    def endpoint(self) -> str:
        return f"{self.name} ({self.address}, {self.address_source}):{self.port}"

    def to_json(self) -> Dict[str, Any]:
        data = asdict(self)
        data["chain_pem"], data["client_ca_names"] = list(self.chain_pem), list(self.client_ca_names)
        return data

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Handshake":
        return cls(**{**data, "chain_pem": tuple(data["chain_pem"]),
                      "client_ca_names": tuple(data["client_ca_names"])})


@dataclass(frozen=True)
class CertificateFile:
    path: str
    format: str                      # PEM, DER or PKCS#12
    chain_pem: Tuple[str, ...]       # the server certificate first, then any CA certificates in the file

    @property
    def chain(self) -> List[x509.Certificate]:
        return [x509.load_pem_x509_certificate(p.encode()) for p in self.chain_pem]

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "CertificateFile":
        return cls(data["path"], data["format"], tuple(data["chain_pem"]))
