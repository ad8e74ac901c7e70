"""``netsh http show sslcert ipport=0.0.0.0:443``: the certificate hash bound to an IP:port.

Labels are localised ("Certificate Hash", "Hachage du certificat"), so each block is read by
value shape: the IP:port value and the first 40-hex-digit value (the SHA-1 thumbprint).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Dict, Optional

# "IP:port   : 0.0.0.0:443": the label itself has a colon, so the separator is the first colon after a
# blank. Found with a two-character search, not a pattern with adjacent quantifiers (those backtracked
# cubically on a line of spaces: 5,000 spaces took 40 s).
_SEPARATOR = re.compile(r"\s:")
_IPPORT = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:]+\]):(\d{1,5})$")
_HASH = re.compile(r"^[0-9A-Fa-f]{40}$")
# What netsh prints when nothing is bound there (English, French): a definite "no binding".
_NOT_FOUND = ("cannot find the file specified", "fichier spécifié est introuvable", "ssl certificate bindings",
              "liaisons de certificat ssl")


@dataclass(frozen=True)
class SslCertBindings:
    hashes: Dict[str, str]          # "0.0.0.0:443" -> upper-case thumbprint
    error: Optional[str] = None

    def hash_for(self, ipport: str) -> Optional[str]:
        return self.hashes.get(ipport)


def parse_sslcert(text: str) -> SslCertBindings:
    hashes: Dict[str, str] = {}
    current: Optional[str] = None
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        value = _value(line)
        if value is None:
            continue
        if _IPPORT.match(value):
            current = value
        elif current and current not in hashes and _HASH.match(value):
            hashes[current] = value.upper()
    if hashes:
        return SslCertBindings(hashes)
    lowered = text.lower()
    if any(marker in lowered for marker in _NOT_FOUND):
        return SslCertBindings({})
    return SslCertBindings({}, error="not netsh http show sslcert output")


def _value(line: str) -> Optional[str]:
    """The value of a ``label : value`` line (blanks around it removed), None when it is not one."""
    stripped = line.strip()
    separator = _SEPARATOR.search(stripped)
    if separator is None:
        return None
    return stripped[separator.end():].strip()
