"""DNS name rules OCS 2007 R2 imposes (TechNet dd441205) and small name helpers."""
from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import List

# Matched with fullmatch: "$" would also match before a final newline, and "ocs\n" passed as a label.
_LABEL = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
# Characters that move the cursor, change the terminal or reorder text when printed: C0/C1 controls,
# line/paragraph separators and the bidirectional overrides and isolates (shown text != actual text).
_BIDI = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

# Addresses that must not be published in an external view: RFC 1918, RFC 6598, loopback,
# link-local, unique-local. Documentation ranges are deliberately not in the list.
_PRIVATE_NETS = [ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
    "169.254.0.0/16", "::1/128", "fc00::/7", "fe80::/10")]


def _is_control(char: str) -> bool:
    return char in _BIDI or unicodedata.category(char) in ("Cc", "Zl", "Zp")


def control_characters(text: str) -> str:
    """The control characters in ``text``, escaped and comma-separated ("" when there are none)."""
    found = dict.fromkeys(c for c in text if _is_control(c))
    return ", ".join(escape_controls(c) for c in found)


def escape_controls(text: str) -> str:
    """``text`` with each control character written as a Python escape (\\x1b, \\u202e): safe to print."""
    if not any(_is_control(c) for c in text):
        return text
    return "".join(c.encode("unicode_escape").decode("ascii") if _is_control(c) else c for c in text)


def fqdn_problems(name: str) -> List[str]:
    """What is wrong with ``name`` as an OCS server or domain FQDN (empty when nothing is)."""
    name = name.rstrip(".")
    problems = []
    if not name:
        return ["the name is empty"]
    if control_characters(name):
        return [f"{name!r} contains control characters ({control_characters(name)})"]
    labels = name.split(".")
    if len(labels) < 2:
        problems.append(f"{name!r} is a single-label name (OCS 2007 R2 does not support single-label domains)")
    for label in labels:
        if not _LABEL.fullmatch(label):
            problems.append(f"label {label!r} is not a valid DNS label (letters, digits, hyphen)")
    if labels[-1][:1].isdigit():
        problems.append(f"the last label {labels[-1]!r} starts with a digit")
    return problems


def in_domain(name: str, domain: str) -> bool:
    """True when ``name`` is ``domain`` or below it (case-insensitive, trailing dots ignored)."""
    name, domain = name.rstrip(".").lower(), domain.rstrip(".").lower()
    return name == domain or name.endswith("." + domain)


def split_host(fqdn: str, zone: str) -> str:
    """The record name of ``fqdn`` relative to ``zone`` (``@`` for the apex)."""
    fqdn, zone = fqdn.rstrip("."), zone.rstrip(".")
    if fqdn.lower() == zone.lower():
        return "@"
    return fqdn[: -len(zone) - 1] if in_domain(fqdn, zone) else fqdn + "."


def is_private_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in net for net in _PRIVATE_NETS if net.version == ip.version)
