"""A SIP OPTIONS exchange as recorded, and the framing rule that says when a response is whole."""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any, Dict, Optional


@dataclass(frozen=True)
class OptionsAnswer:
    target: str
    port: int
    address: str
    address_source: str
    ended: str                       # "response", "timeout", "closed" or "limit"
    status: Optional[int]            # SIP status code when a status line came back
    reason: str
    received: bytes                  # the first KEEP bytes received
    received_total: int
    seconds: float

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "OptionsAnswer":
        fields = dict(data)
        received = base64.b64decode(fields.pop("received_b64"))
        return cls(**fields, received=received)


def message_complete(buffer: bytes) -> bool:
    """True when ``buffer`` holds a whole SIP message (head, then Content-Length bytes of body)."""
    head, sep, body = buffer.partition(b"\r\n\r\n")
    if not sep:
        return False
    length = re.search(rb"^(?:content-length|l)[ \t]*:[ \t]*(\d+)", head, re.IGNORECASE | re.MULTILINE)
    return len(body) >= (int(length.group(1)) if length else 0)
