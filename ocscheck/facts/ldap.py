"""Active Directory facts over LDAP (ldap3): RootDSE, OCS schema and forest objects, ACLs, accounts,
SIP users, replication state.

Transport: ``ldaps://`` (certificate verified against tls.ca_bundle, or the system store when none
is set) or ``ldap://`` upgraded with StartTLS before the bind; a bind is never sent in clear.
Timeouts: the site's run.timeout bounds the TCP connect and every LDAP operation.

One connection per DC URL, shared by the facts of a run and serialised by a lock (an ldap3 SYNC
connection is not thread-safe); a failed connection is remembered, so a DC that is down costs one
timeout per run, not one per fact. The paged SIP-user search opens its own connection so that a
long directory walk does not queue the other facts behind it.

ldap3 is used with ``get_info=NONE``: Samba's schema trips ldap3's schema loader (reading
forestFunctionality raises LDAPAttributeError with ALL), and raw values are decoded here.
"""
from __future__ import annotations

import datetime
import hashlib
import math
import socket
import ssl
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple, TypeVar
from urllib.parse import urlparse

import ldap3
from ldap3.core import exceptions as lx
from ldap3.protocol.microsoft import security_descriptor_control
from ldap3.utils.conv import escape_filter_chars

from ocscheck.values import repsfrom, secdesc
from ocscheck.values.replication import ReplicationLink
from ocscheck.values.adtime import RTC_GROUPS
from ocscheck.facts.store import FactUnavailable, Reason

T = TypeVar("T")

SDFLAGS_DACL = 0x04
SAMPLE = 10            # DNs kept per category of SIP users (evidence, not the whole directory)
MAX_DUPLICATES = 50    # duplicate URIs whose owners are looked up
_RTC_CLASSES = ("msRTCSIP-GlobalContainer", "msRTCSIP-Domain", "msRTCSIP-Pools", "msRTCSIP-Pool")
_RTC_ATTRIBUTES = ("objectClass", "msRTCSIP-DomainName", "msRTCSIP-Default", "dNSHostName", "msRTCSIP-PoolType",
                   "msRTCSIP-PoolVersion", "msRTCSIP-PoolDisplayName")
_ACCOUNT_ATTRIBUTES = ("userAccountControl", "pwdLastSet", "lockoutTime", "accountExpires",
                       "msDS-UserPasswordExpiryTimeComputed", "msDS-User-Account-Control-Computed")
_USER_ATTRIBUTES = ("msRTCSIP-PrimaryUserAddress", "msRTCSIP-PrimaryHomeServer", "mail")
SIP_USER_FILTER = "(&(objectClass=user)(msRTCSIP-UserEnabled=TRUE))"
# The "data NNN" sub-code of AD's invalidCredentials answer says why the bind account was refused.
_BIND_DATA = {"52e": "wrong user name or password", "525": "no such user", "530": "logon not permitted now",
              "531": "logon not permitted from this workstation", "532": "password expired",
              "533": "account disabled", "701": "account expired", "773": "password must be changed",
              "775": "account locked out"}
_ROOTDSE_INT = ("forestFunctionality", "domainFunctionality", "domainControllerFunctionality")
_ROOTDSE_TEXT = ("defaultNamingContext", "configurationNamingContext", "schemaNamingContext",
                 "rootDomainNamingContext", "dnsHostName", "dsServiceName", "serverName", "currentTime")


# ------------------------------------------------------------------------------------- value types

@dataclass(frozen=True)
class RootDse:
    forest_level: Optional[int]
    domain_level: Optional[int]
    dc_level: Optional[int]
    default_nc: str
    configuration_nc: str
    schema_nc: str
    root_domain_nc: str
    naming_contexts: Tuple[str, ...]
    dns_host_name: str
    current_time: Optional[str]     # the DC's clock, ISO 8601 UTC (ages are judged on the run clock)

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "RootDse":
        return cls(data["forestFunctionality"], data["domainFunctionality"], data["domainControllerFunctionality"],
                   data["defaultNamingContext"], data["configurationNamingContext"], data["schemaNamingContext"],
                   data["rootDomainNamingContext"], tuple(data["namingContexts"]), data["dnsHostName"],
                   data["currentTime"])



@dataclass(frozen=True)
class ReplicationState:
    links: Tuple[ReplicationLink, ...]
    unreadable: Tuple[Tuple[str, str], ...]  # (DC URL, why) for DCs whose repsFrom could not be read
    dsa_count: int                           # DCs (nTDSDSA objects) in the forest

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "ReplicationState":
        return cls(tuple(ReplicationLink.from_json(link) for link in data["links"]),
                   tuple((u, w) for u, w in data["unreadable"]), data["dsa_count"])


def _generalized_time(text: str) -> str:
    """20261127064355.0Z -> 2026-11-27T06:43:55Z"""
    return datetime.datetime.strptime(text[:14], "%Y%m%d%H%M%S").strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(raw: Dict[str, List[bytes]], name: str) -> Optional[str]:
    values = raw.get(name) or []
    return values[0].decode("utf-8", "replace") if values else None


def _int(raw: Dict[str, List[bytes]], name: str) -> Optional[int]:
    text = _text(raw, name)
    return int(text) if text not in (None, "") else None


def _bool(raw: Dict[str, List[bytes]], name: str) -> Optional[bool]:
    text = _text(raw, name)
    return None if text is None else text.upper() == "TRUE"


# ----------------------------------------------------------------------------------- connections

@dataclass(frozen=True)
class _Target:
    url: str
    host: str
    port: int
    ldaps: bool


def _target(url: str) -> _Target:
    parsed = urlparse(url)
    ldaps = parsed.scheme == "ldaps"
    return _Target(url.rstrip("/"), parsed.hostname or "", parsed.port or (636 if ldaps else 389), ldaps)


class _Session:
    """One DC's connection, opened on first use; its failure is remembered for the run."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.connection: Optional[ldap3.Connection] = None
        self.failure: Optional[FactUnavailable] = None


class LdapFacts:
    def __init__(self, facts) -> None:
        self._facts = facts
        self._store = facts.store
        self._settings = facts.site.ldap
        self._sessions: Dict[str, _Session] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------------ connection plumbing

    @property
    def url(self) -> str:
        return self._settings.url.rstrip("/")

    def _key(self, what: str, url: Optional[str] = None) -> str:
        return f"ldap:{url or self.url}:{what}"

    def _get(self, what: str, fetch: Callable[[], Any], url: Optional[str] = None) -> Any:
        return self._store.get(self._key(what, url), fetch)

    def _configured(self, url: str) -> _Target:
        if not url:
            raise FactUnavailable(Reason.NOT_CONFIGURED, "no domain controller in the site file ([ldap] url)")
        if not self._settings.user:
            raise FactUnavailable(Reason.NOT_CONFIGURED, "no bind account in the site file ([ldap] user)")
        return _target(url)

    def _open(self, target: _Target) -> ldap3.Connection:
        timeout = self._facts.timeout
        password = self._facts.secret(self._settings.password_env, f"LDAP password for {self._settings.user}")
        ca_bundle = self._facts.site.tls.ca_bundle
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(ca_bundle) if ca_bundle else None)
        server = ldap3.Server(target.host, port=target.port, use_ssl=target.ldaps, tls=tls,
                              get_info=ldap3.NONE, connect_timeout=timeout)
        if self._settings.auth == "ntlm":
            if "\\" not in self._settings.user:  # the NetBIOS domain name cannot be guessed from a UPN
                raise FactUnavailable(Reason.NOT_CONFIGURED, "[ldap] auth = \"ntlm\" needs user as DOMAIN\\name")
            options = dict(user=self._settings.user, password=password, authentication=ldap3.NTLM)
        else:
            options = dict(user=self._settings.user, password=password, authentication=ldap3.SIMPLE)
        # ldap3 packs receive_timeout into SO_RCVTIMEO as whole seconds on POSIX: it must be an int.
        connection = ldap3.Connection(server, receive_timeout=max(1, math.ceil(timeout)), raise_exceptions=False,
                                      read_only=True, **options)
        where = f"{target.url}"
        try:
            connection.open()
            if not target.ldaps:
                connection.start_tls()  # raises when the DC refuses: never fall back to a clear bind
            if not connection.bind():
                result = connection.result or {}
                if result.get("result") == 49:
                    message = result.get("message", "")
                    why = next((text for code, text in _BIND_DATA.items() if f"data {code}," in message),
                               "invalid credentials")
                    raise FactUnavailable(Reason.AUTH_FAILED, f"{where}: bind as {self._settings.user} refused: "
                                                              f"{why} ({message.strip()})")
                raise FactUnavailable(Reason.REFUSED, f"{where}: bind as {self._settings.user} failed: "
                                                      f"{result.get('description')} {result.get('message', '')}")
        except FactUnavailable:
            _close(connection)
            raise
        except Exception as exc:
            _close(connection)
            raise _unavailable(exc, where, timeout) from None
        return connection

    def _session(self, url: str) -> _Session:
        with self._lock:
            return self._sessions.setdefault(url, _Session())

    def _run(self, url: str, operation: Callable[[ldap3.Connection], T]) -> T:
        target = self._configured(url)
        session = self._session(target.url)
        with session.lock:
            if session.failure is not None:
                raise session.failure
            if session.connection is None:
                try:
                    session.connection = self._open(target)
                except FactUnavailable as exc:
                    session.failure = exc
                    raise
            try:
                return operation(session.connection)
            except FactUnavailable:
                raise
            except Exception as exc:
                # A broken connection is not reused; the next fact reconnects once.
                _close(session.connection)
                session.connection = None
                raise _unavailable(exc, target.url, self._facts.timeout) from None

    def close(self) -> None:
        """Unbind every DC connection of the run (Facts.close, once the checks are done)."""
        with self._lock:
            sessions = list(self._sessions.values())
        for session in sessions:
            with session.lock:
                if session.connection is not None:
                    _close(session.connection)
                    session.connection = None

    # ------------------------------------------------------------------------------ raw searches

    @staticmethod
    def _search(conn: ldap3.Connection, base: str, flt: str, scope, attributes, controls=None,
                missing_ok: bool = True) -> List[Tuple[str, Dict[str, List[bytes]]]]:
        conn.search(base, flt, scope, attributes=list(attributes), controls=controls)
        code = conn.result.get("result")
        if code == 32 and missing_ok:  # noSuchObject: the base does not exist
            return []
        if code not in (0, None):
            raise FactUnavailable(Reason.PROTOCOL, f"search {flt} under {base!r}: {conn.result.get('description')} "
                                                   f"{conn.result.get('message', '')}".strip())
        return [(entry["dn"], entry["raw_attributes"]) for entry in conn.response or []
                if entry.get("type") == "searchResEntry"]

    # -------------------------------------------------------------------------------------- facts

    def rootdse(self, url: Optional[str] = None) -> RootDse:
        url = (url or self.url).rstrip("/")
        return RootDse.from_json(self._get("rootdse", lambda: self._run(url, self._fetch_rootdse), url))

    def _fetch_rootdse(self, conn: ldap3.Connection) -> Dict[str, Any]:
        entries = self._search(conn, "", "(objectClass=*)", ldap3.BASE,
                               (*_ROOTDSE_INT, *_ROOTDSE_TEXT, "namingContexts"), missing_ok=False)
        if not entries:
            raise FactUnavailable(Reason.PROTOCOL, "the RootDSE returned no entry")
        raw = entries[0][1]
        data: Dict[str, Any] = {name: _int(raw, name) for name in _ROOTDSE_INT}
        data.update({name: _text(raw, name) or "" for name in _ROOTDSE_TEXT})
        data["currentTime"] = _generalized_time(data["currentTime"]) if data["currentTime"] else None
        data["namingContexts"] = [v.decode() for v in raw.get("namingContexts", [])]
        return data

    def schema_version(self) -> Optional[Dict[str, Optional[int]]]:
        """rangeUpper/rangeLower of ms-RTC-SIP-SchemaVersion, or None when the schema is not prepared."""
        schema = self.rootdse().schema_nc

        def fetch(conn):
            found = self._search(conn, f"CN=ms-RTC-SIP-SchemaVersion,{schema}", "(objectClass=*)", ldap3.BASE,
                                 ("rangeUpper", "rangeLower"))
            if not found:
                return None
            return {"rangeUpper": _int(found[0][1], "rangeUpper"), "rangeLower": _int(found[0][1], "rangeLower")}

        return self._get("schema-version", lambda: self._run(self.url, fetch))

    def rtc_objects(self) -> Dict[str, Any]:
        """The forest-prep tree: RTC Service containers (with partition) and the objects beneath them."""
        dse = self.rootdse()
        bases = (("system", f"CN=System,{dse.root_domain_nc}"),
                 ("configuration", f"CN=Services,{dse.configuration_nc}"))

        def fetch(conn):
            services, objects = [], []
            for partition, base in bases:
                for dn, _ in self._search(conn, base, "(objectClass=msRTCSIP-Service)", ldap3.SUBTREE, ("cn",)):
                    services.append({"dn": dn, "partition": partition})
                    flt = "(|" + "".join(f"(objectClass={c})" for c in _RTC_CLASSES) + ")"
                    for child, raw in self._search(conn, dn, flt, ldap3.SUBTREE, _RTC_ATTRIBUTES):
                        classes = [v.decode() for v in raw.get("objectClass", [])]
                        objects.append({
                            "dn": child, "service": dn,
                            "class": next((c for c in _RTC_CLASSES if c in classes), classes[-1] if classes else ""),
                            "domain_name": _text(raw, "msRTCSIP-DomainName"),
                            "default": _bool(raw, "msRTCSIP-Default"),
                            "dns_host_name": _text(raw, "dNSHostName"),
                            "pool_type": _int(raw, "msRTCSIP-PoolType"),
                            "pool_version": _int(raw, "msRTCSIP-PoolVersion"),
                            "display_name": _text(raw, "msRTCSIP-PoolDisplayName")})
            return {"services": services, "objects": objects}

        return self._get("rtc", lambda: self._run(self.url, fetch))

    def rtc_groups(self) -> List[Dict[str, Any]]:
        """The forest-prep universal groups found in the domain: name, dn, sid, groupType."""
        base = self.rootdse().default_nc

        def fetch(conn):
            flt = "(&(objectClass=group)(|" + "".join(f"(sAMAccountName={g})" for g in RTC_GROUPS) + "))"
            groups = []
            for dn, raw in self._search(conn, base, flt, ldap3.SUBTREE, ("sAMAccountName", "objectSid", "groupType")):
                sid = raw.get("objectSid", [b""])[0]
                groups.append({"name": _text(raw, "sAMAccountName"), "dn": dn,
                               "sid": secdesc.parse_sid(sid)[0] if sid else None, "group_type": _int(raw, "groupType")})
            return sorted(groups, key=lambda g: g["name"].lower())

        return self._get("rtc-groups", lambda: self._run(self.url, fetch))

    def dacl(self, dn: str) -> Optional[List[secdesc.Ace]]:
        """The DACL of ``dn`` (SD flags control: DACL only, readable without SeSecurityPrivilege);
        None when the object does not exist."""

        def fetch(conn):
            found = self._search(conn, dn, "(objectClass=*)", ldap3.BASE, ("nTSecurityDescriptor",),
                                 controls=security_descriptor_control(sdflags=SDFLAGS_DACL))
            if not found:
                return None
            values = found[0][1].get("nTSecurityDescriptor") or []
            if not values:
                raise FactUnavailable(Reason.REFUSED, f"{dn}: nTSecurityDescriptor not returned to "
                                                      f"{self._settings.user} (no read-control right?)")
            try:
                descriptor = secdesc.parse(values[0])
            except secdesc.SecurityDescriptorError as exc:
                raise FactUnavailable(Reason.PROTOCOL, f"{dn}: unreadable nTSecurityDescriptor: {exc}") from None
            return [ace.to_json() for ace in descriptor.dacl or ()]

        data = self._get(f"dacl:{dn}", lambda: self._run(self.url, fetch))
        return None if data is None else [secdesc.Ace.from_json(a) for a in data]

    def domain_policy(self) -> Dict[str, Optional[int]]:
        """maxPwdAge, lockoutDuration, lockoutThreshold of the domain (negative 100 ns intervals)."""
        base = self.rootdse().default_nc

        def fetch(conn):
            found = self._search(conn, base, "(objectClass=*)", ldap3.BASE,
                                 ("maxPwdAge", "lockoutDuration", "lockoutThreshold"), missing_ok=False)
            raw = found[0][1] if found else {}
            return {name: _int(raw, name) for name in ("maxPwdAge", "lockoutDuration", "lockoutThreshold")}

        return self._get("domain-policy", lambda: self._run(self.url, fetch))

    def account(self, sam_account_name: str) -> Optional[Dict[str, Any]]:
        """The account's state attributes, or None when no such account exists in the domain."""
        base = self.rootdse().default_nc

        def fetch(conn):
            flt = f"(&(objectClass=user)(sAMAccountName={escape_filter_chars(sam_account_name)}))"
            found = self._search(conn, base, flt,
                                 ldap3.SUBTREE, _ACCOUNT_ATTRIBUTES)
            if not found:
                return None
            dn, raw = found[0]
            return {"dn": dn, **{name: _int(raw, name) for name in _ACCOUNT_ATTRIBUTES}}

        return self._get(f"account:{sam_account_name.lower()}", lambda: self._run(self.url, fetch))

    # ------------------------------------------------------------------------------ SIP users

    def sip_users(self) -> Dict[str, Any]:
        """A summary of every SIP-enabled user, built while paging through the directory.

        The directory is walked once with a paged search (site page_size) consumed as a generator,
        so memory grows with the number of distinct URIs (an 8-byte digest each), not with entries.
        Kept: counts and up to SAMPLE DNs per SIP domain and per home server, users without a home
        server, malformed URIs, URI ≠ mail, no mail; and every duplicate URI with all its owners.
        """
        return self._get("sip-users", lambda: self._walk_sip_users())

    def iter_sip_users(self, conn: ldap3.Connection, base: str) -> Iterator[Tuple[str, Dict[str, List[bytes]]]]:
        entries = conn.extend.standard.paged_search(base, SIP_USER_FILTER, ldap3.SUBTREE,
                                                    attributes=list(_USER_ATTRIBUTES),
                                                    paged_size=self._settings.page_size, generator=True)
        for entry in entries:
            if entry.get("type") == "searchResEntry":
                yield entry["dn"], entry["raw_attributes"]
        code = conn.result.get("result")
        if code not in (0, None):
            raise FactUnavailable(Reason.PROTOCOL, f"paged search of SIP users: {conn.result.get('description')}")

    def _walk_sip_users(self) -> Dict[str, Any]:
        base = self.rootdse().default_nc
        target = self._configured(self.url)
        conn = self._open(target)
        try:
            return _summarise(self.iter_sip_users(conn, base), conn, base)
        except FactUnavailable:
            raise
        except Exception as exc:
            raise _unavailable(exc, target.url, self._facts.timeout) from None
        finally:
            _close(conn)

    # ---------------------------------------------------------------------------- replication

    def replication_state(self) -> ReplicationState:
        """Inbound links (repsFrom of every naming-context head) of the site's DC and replication_dcs."""
        urls = [self.url] + [u.rstrip("/") for u in self._settings.replication_dcs if u.rstrip("/") != self.url]
        links: List[Dict[str, Any]] = []
        unreadable: List[Tuple[str, str]] = []
        dsas = self._dsas()
        for url in urls:
            try:
                dse = self.rootdse(url)  # the memoised fact (outside _run: its session lock is not re-entrant)
                links += self._get("repsfrom", lambda u=url, d=dse: self._run(
                    u, lambda c: self._fetch_repsfrom(c, u, d, dsas)), url)
            except FactUnavailable as exc:
                if url == self.url:
                    raise
                unreadable.append((url, str(exc)))
        return ReplicationState.from_json({"links": links, "unreadable": unreadable, "dsa_count": len(dsas)})

    def _dsas(self) -> Dict[str, str]:
        """objectGUID of each NTDS Settings object -> its server's dNSHostName."""
        config = self.rootdse().configuration_nc

        def fetch(conn):
            names = {}
            for dn, raw in self._search(conn, f"CN=Sites,{config}", "(objectClass=server)", ldap3.SUBTREE,
                                        ("dNSHostName",)):
                names[dn.lower()] = _text(raw, "dNSHostName") or dn
            result = {}
            for dn, raw in self._search(conn, f"CN=Sites,{config}", "(objectClass=nTDSDSA)", ldap3.SUBTREE,
                                        ("objectGUID",)):
                guid = str(uuid.UUID(bytes_le=raw["objectGUID"][0]))
                result[guid] = names.get(dn.split(",", 1)[1].lower(), dn)
            return result

        return self._get("dsas", lambda: self._run(self.url, fetch))

    def _fetch_repsfrom(self, conn: ldap3.Connection, url: str, dse: RootDse,
                        dsas: Dict[str, str]) -> List[Dict[str, Any]]:
        destination = dse.dns_host_name or url
        links = []
        for nc in dse.naming_contexts:
            found = self._search(conn, nc, "(objectClass=*)", ldap3.BASE, ("repsFrom",))
            for value in (found[0][1].get("repsFrom", []) if found else []):
                try:
                    reps = repsfrom.parse(value)
                except repsfrom.RepsFromError as exc:
                    raise FactUnavailable(Reason.PROTOCOL, f"{url}: repsFrom of {nc}: {exc}") from None
                source = dsas.get(reps.source_dsa_guid) or reps.source_address or reps.source_dsa_guid
                links.append(reps.link(destination, source, nc).to_json())
        return links


def _summarise(entries: Iterator[Tuple[str, Dict[str, List[bytes]]]], conn: ldap3.Connection,
               base: str) -> Dict[str, Any]:
    def bucket() -> Dict[str, Any]:
        return {"count": 0, "sample": []}

    def add(group: Dict[str, Any], item: Any) -> None:
        group["count"] += 1
        if len(group["sample"]) < SAMPLE:
            group["sample"].append(item)

    summary: Dict[str, Any] = {"total": 0, "domains": {}, "home_servers": {}, "no_home": bucket(),
                               "malformed": bucket(), "mail_mismatch": bucket(), "no_mail": bucket(),
                               "duplicates": {}}
    seen = set()
    duplicated: List[str] = []
    for dn, raw in entries:
        summary["total"] += 1
        uri = (_text(raw, "msRTCSIP-PrimaryUserAddress") or "").strip()
        home = _text(raw, "msRTCSIP-PrimaryHomeServer")
        mail = _text(raw, "mail")
        address = uri[4:] if uri.lower().startswith("sip:") else ""
        user, at, domain = address.rpartition("@")
        if not (user and at and domain):
            add(summary["malformed"], [dn, uri])
        else:
            add(summary["domains"].setdefault(domain.lower(), bucket()), dn)
        if home:
            add(summary["home_servers"].setdefault(home, bucket()), dn)
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
        found = LdapFacts._search(conn, base, f"(&{SIP_USER_FILTER}(msRTCSIP-PrimaryUserAddress="
                                  f"{escape_filter_chars(uri)}))", ldap3.SUBTREE, ("cn",))
        owners = sorted(dn for dn, _raw in found)
        if len(owners) > 1:
            summary["duplicates"][uri] = owners
    return summary


def _close(connection: ldap3.Connection) -> None:
    """Unbind, ignoring a socket that is already broken (the error being reported is the first one)."""
    try:
        connection.unbind()
    except Exception:
        pass


def _unavailable(exc: Exception, where: str, timeout: float) -> FactUnavailable:
    """An ldap3/socket exception as a typed, secret-free FactUnavailable."""
    text = str(exc)
    lowered = text.lower()
    if "certificate" in lowered or "ssl" in lowered and "verify" in lowered:
        return FactUnavailable(Reason.PROTOCOL, f"{where}: the DC's TLS certificate is not trusted or does not match "
                                                f"the host name (tls.ca_bundle): {_first_line(text)}")
    if isinstance(exc, lx.LDAPStartTLSError):
        return FactUnavailable(Reason.PROTOCOL, f"{where}: StartTLS failed ({_first_line(text)}); "
                                                f"use ldaps:// or enable TLS on the DC")
    if isinstance(exc, (socket.timeout, TimeoutError)) or "timed out" in lowered or "timeout" in lowered:
        return FactUnavailable(Reason.TIMEOUT, f"{where}: no answer within {timeout:g} s")
    if "refused" in lowered:
        return FactUnavailable(Reason.UNREACHABLE, f"{where}: connection refused")
    if isinstance(exc, (lx.LDAPSocketOpenError, lx.LDAPSocketReceiveError, lx.LDAPSocketSendError,
                        lx.LDAPSessionTerminatedByServerError, OSError)):
        return FactUnavailable(Reason.UNREACHABLE, f"{where}: {_first_line(text)}")
    return FactUnavailable(Reason.PROTOCOL, f"{where}: {type(exc).__name__}: {_first_line(text)}")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else "(no detail)"
