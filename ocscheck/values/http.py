"""What a CRL distribution point and an IIS web component answered."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Dict


@dataclass(frozen=True)
class CrlFetch:
    url: str
    status: int                      # HTTP status; 200 for a successful LDAP read
    body: bytes
    source: str                      # what answered (server, or DC and DN)

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "CrlFetch":
        return cls(data["url"], data["status"], base64.b64decode(data["body_b64"]), data["source"])


@dataclass(frozen=True)
class WebAnswer:
    url: str                         # https://<name>:<port><path>
    address: str
    status: int
    authenticate: str                # WWW-Authenticate offered (Negotiate, NTLM ...)

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "WebAnswer":
        return cls(**data)
