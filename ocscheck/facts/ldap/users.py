"""The SIP-enabled users: one paged walk of the directory, summarised as it goes.

The walk is a generator over the paged search (site page_size), so memory grows with the number of
distinct URIs (an 8-byte digest each), not with entries. Kept: counts and up to SAMPLE DNs per SIP
domain and per home server (DNs compared case-insensitively: Lync-era tools write "Lc Services"),
users without a home server, malformed URIs, URI ≠ mail, no mail; AD-disabled accounts apart (they
cannot sign in, so they are judged only for duplicate URIs); and every duplicate URI with all its
owners (a second, targeted search).
"""
from __future__ import annotations

import hashlib
from typing import Any, Dict, Iterator, List

from ocscheck.facts.lazy import lazy
from ocscheck.facts.ldap.connection import RawEntry, attr_int, attr_text, search
from ocscheck.facts.store import FactUnavailable, Reason

ldap3 = lazy("ldap3")  # loaded by the first walk, not by a replay
_conv = lazy("ldap3.utils.conv")

SIP_USER_FILTER = "(&(objectClass=user)(msRTCSIP-UserEnabled=TRUE))"
USER_ATTRIBUTES = ("msRTCSIP-PrimaryUserAddress", "msRTCSIP-PrimaryHomeServer", "mail", "userAccountControl")
UF_ACCOUNTDISABLE = 0x2
SAMPLE = 10            # DNs kept per category of SIP users (evidence, not the whole directory)
MAX_DUPLICATES = 50    # duplicate URIs whose owners are looked up


def iter_sip_users(conn: ldap3.Connection, base: str, page_size: int) -> Iterator[RawEntry]:
    entries = conn.extend.standard.paged_search(base, SIP_USER_FILTER, ldap3.SUBTREE,
                                                attributes=list(USER_ATTRIBUTES),
                                                paged_size=page_size, generator=True)
    for entry in entries:
        if entry.get("type") == "searchResEntry":
            yield entry["dn"], entry["raw_attributes"]
    code = conn.result.get("result")
    if code not in (0, None):
        raise FactUnavailable(Reason.PROTOCOL, f"paged search of SIP users: {conn.result.get('description')}")


def summarise(entries: Iterator[RawEntry], conn: ldap3.Connection, base: str) -> Dict[str, Any]:
    """The recorded form of a values.ad.SipUserSummary, built while ``entries`` are consumed."""

    def bucket() -> Dict[str, Any]:
        return {"count": 0, "sample": []}

    def add(group: Dict[str, Any], item: Any) -> None:
        group["count"] += 1
        if len(group["sample"]) < SAMPLE:
            group["sample"].append(item)

    summary: Dict[str, Any] = {"total": 0, "domains": {}, "home_servers": {}, "no_home": bucket(),
                               "malformed": bucket(), "mail_mismatch": bucket(), "no_mail": bucket(),
                               "duplicates": {}, "disabled": bucket()}
    seen = set()
    duplicated: List[str] = []
    homes: Dict[str, str] = {}   # lower-case DN -> the spelling first met (the key in the summary)
    for dn, raw in entries:
        summary["total"] += 1
        uri = (attr_text(raw, "msRTCSIP-PrimaryUserAddress") or "").strip()
        home = attr_text(raw, "msRTCSIP-PrimaryHomeServer")
        mail = attr_text(raw, "mail")
        address = uri[4:] if uri.lower().startswith("sip:") else ""
        user, at, domain = address.rpartition("@")
        if (attr_int(raw, "userAccountControl") or 0) & UF_ACCOUNTDISABLE:
            add(summary["disabled"], [dn, uri])
        else:
            if not (user and at and domain):
                add(summary["malformed"], [dn, uri])
            else:
                add(summary["domains"].setdefault(domain.lower(), bucket()), dn)
            if home:
                add(summary["home_servers"].setdefault(homes.setdefault(home.lower(), home), bucket()), dn)
            else:
                add(summary["no_home"], dn)
            if not mail:
                add(summary["no_mail"], dn)
            elif address and mail.lower() != address.lower():
                add(summary["mail_mismatch"], [dn, uri, mail])
        if uri:
            digest = hashlib.blake2b(uri.lower().encode(), digest_size=8).digest()
            if digest in seen:
                if uri.lower() not in duplicated and len(duplicated) < MAX_DUPLICATES:
                    duplicated.append(uri.lower())
            else:
                seen.add(digest)
    for uri in duplicated:
        # Second, targeted look-up: the owners of each duplicate (a digest collision shows one owner: dropped).
        # A failed search raises (a busy DC must not turn a duplicate into a "collision" and drop it).
        found = search(conn, base, f"(&{SIP_USER_FILTER}(msRTCSIP-PrimaryUserAddress={_conv.escape_filter_chars(uri)}))",
                       ldap3.SUBTREE, ("cn",))
        owners = sorted(dn for dn, _raw in found)
        if len(owners) > 1:
            summary["duplicates"][uri] = owners
    return summary
