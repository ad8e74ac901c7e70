"""Connections to domain controllers (ldap3): TLS always before the bind, timeouts on everything, a pool
of sessions per DC shared by a run's facts, and ldap3/socket errors turned into typed, secret-free reasons.

Transport: ``ldaps://`` (certificate verified against tls.ca_bundle, or the system store when none
is set) or ``ldap://`` upgraded with StartTLS before the bind; a bind is never sent in clear.
Timeouts: the site's run.timeout bounds the TCP connect and every LDAP operation.

A pool of bound connections per DC URL (sized by ``DcConnections.expect``, at most MAX_POOL), each used by
one operation at a time (an ldap3 SYNC connection is not thread-safe), so independent searches run in
parallel instead of queueing behind one connection. The first caller opens the first connection, and the others are dialled beside it at
once (TCP and TLS in parallel with the first's), but they bind only once the first bind has worked: a
wrong password costs one refused bind per run, never one per connection (lockout thresholds). The first
connection's failure is remembered, so a DC that is down costs one timeout per run, not one per fact, and
every other lookup of it fails at once.

Why a pool of SYNC connections rather than ldap3's ASYNC strategy (several operations in flight on one
connection): bench/bench_ldap_pool.py (the RootDSE, then 24 base searches, at 100 ms one way) gave 1.10 s
with 24 pooled connections and 1.05 s on one ASYNC connection — the same within noise — and its ASYNC
runs failed now and then (a TLS open failing with "wrong version number" or "no certificate or CRL
found", searches never answered); its StartTLS also runs in its receiver thread. MAX_POOL is the number
of searches a full post has in flight at once after the RootDSE (23 in the tutorial's forest, the paged
user walk included): they then take one round trip; with 16 connections they took two
(bench/bench_latency.py --timeline). The price is one bind per connection — on Windows, a logon event each —
so a run asks, per DC, for the connections its checks need (``expect``, from the prefetch): on the site's DC
about two searches in flight per selected check that reads the directory, one for ad.forest-level alone, 23
for a full post; on another DC what is read there. A DC nobody sized (the API reading a fact directly) gets
DEFAULT_POOL.

ldap3 is used with ``get_info=NONE``: Samba's schema trips ldap3's schema loader (reading
forestFunctionality raises LDAPAttributeError with ALL), and raw values are decoded by the facts.
"""
from __future__ import annotations

import math
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple, TypeVar
from urllib.parse import urlparse

from ocscheck.config import LdapSettings
from ocscheck.facts.lazy import lazy
from ocscheck.facts.store import FactUnavailable, Reason

ldap3 = lazy("ldap3")  # imported when a DC is first dialled (a replay never loads it)
ssl = lazy("ssl")
lx = lazy("ldap3.core.exceptions")

T = TypeVar("T")
RawEntry = Tuple[str, Dict[str, List[bytes]]]   # (DN, attribute -> raw values)
Find = Callable[..., List[RawEntry]]            # ``search`` without its connection: DcConnections.search of one DC

# The "data NNN" sub-code of AD's invalidCredentials answer says why the bind account was refused.
_BIND_DATA = {"52e": "wrong user name or password", "525": "no such user", "530": "logon not permitted now",
              "531": "logon not permitted from this workstation", "532": "password expired",
              "533": "account disabled", "701": "account expired", "773": "password must be changed",
              "775": "account locked out"}


@dataclass(frozen=True)
class Target:
    url: str
    host: str
    port: int
    ldaps: bool


def target(url: str) -> Target:
    parsed = urlparse(url)
    ldaps = parsed.scheme == "ldaps"
    return Target(url.rstrip("/"), parsed.hostname or "", parsed.port or (636 if ldaps else 389), ldaps)


MAX_POOL = 24     # connections per DC at most: a full post's searches in flight at once after the RootDSE
DEFAULT_POOL = 4  # when no run said how many it needs (module notes)


class _Pool:
    """One DC's connections; the condition guards every field."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.idle: List["ldap3.Connection"] = []
        self.count = 0                               # connections open or being opened
        self.failure: Optional[FactUnavailable] = None
        self.settled = threading.Event()             # the first connection is bound, or failed
        self.proven = False                          # ... and it was bound: others may bind
        self.closed = False


class DcConnections:
    """The run's bound connections to domain controllers, a small pool per URL."""

    def __init__(self, settings: LdapSettings, ca_bundle: Optional[Path], timeout: float,
                 password: Callable[[], str]) -> None:
        self._settings = settings
        self._ca_bundle = ca_bundle
        self._timeout = timeout
        self._password = password
        self._pools: Dict[str, _Pool] = {}
        self._lock = threading.Lock()
        self._sizes: Dict[str, int] = {}  # connections per DC URL, dialled together by its first lookup

    def expect(self, searches: int, url: str) -> None:
        """The run will have about ``searches`` searches in flight at once on the DC at ``url``: size its pool
        to it (before its first lookup; at most MAX_POOL), so that they take one round trip and no bind is
        wasted. A DC nobody sized gets DEFAULT_POOL."""
        with self._lock:
            self._sizes[url.rstrip("/")] = max(1, min(MAX_POOL, searches))

    def _size(self, where: Target) -> int:
        with self._lock:
            return self._sizes.get(where.url, DEFAULT_POOL)

    def configured(self, url: str) -> Target:
        if not url:
            raise FactUnavailable(Reason.NOT_CONFIGURED, "no domain controller in the site file ([ldap] url)")
        if not self._settings.user:
            raise FactUnavailable(Reason.MISCONFIGURED, "[ldap] url is set but no bind account ([ldap] user)")
        return target(url)

    def _pool(self, where: Target) -> _Pool:
        with self._lock:
            return self._pools.setdefault(where.url, _Pool())

    def _connect(self, where: Target) -> "ldap3.Connection":
        """TCP, TLS (LDAPS or StartTLS), not yet bound."""
        timeout = self._timeout
        user = self._settings.user
        password = self._password()
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(self._ca_bundle) if self._ca_bundle else None)
        server = ldap3.Server(where.host, port=where.port, use_ssl=where.ldaps, tls=tls,
                              get_info=ldap3.NONE, connect_timeout=timeout)
        if self._settings.auth == "ntlm":
            if "\\" not in user:  # the NetBIOS domain name cannot be guessed from a UPN
                raise FactUnavailable(Reason.MISCONFIGURED, "[ldap] auth = \"ntlm\" needs user as DOMAIN\\name")
            options = dict(user=user, password=password, authentication=ldap3.NTLM)
        else:
            options = dict(user=user, password=password, authentication=ldap3.SIMPLE)
        # ldap3 packs receive_timeout into SO_RCVTIMEO as whole seconds on POSIX: it must be an int.
        connection = ldap3.Connection(server, receive_timeout=max(1, math.ceil(timeout)), raise_exceptions=False,
                                      read_only=True, **options)
        try:
            connection.open()
            if not where.ldaps:
                connection.start_tls()  # raises when the DC refuses: never fall back to a clear bind
        except Exception as exc:
            close_quietly(connection)
            raise unavailable(exc, where.url, timeout) from None
        return connection

    def _bind(self, connection: "ldap3.Connection", where: Target) -> None:
        user = self._settings.user
        try:
            if not connection.bind():
                result = connection.result or {}
                if result.get("result") == 49:
                    message = result.get("message", "")
                    why = next((text for code, text in _BIND_DATA.items() if f"data {code}," in message),
                               "invalid credentials")
                    raise FactUnavailable(Reason.AUTH_FAILED, f"{where.url}: bind as {user} refused: {why}",
                                          raw=message.strip())
                raise FactUnavailable(Reason.REFUSED, f"{where.url}: bind as {user} failed: "
                                                      f"{result.get('description')}", raw=result.get("message", ""))
        except FactUnavailable:
            close_quietly(connection)
            raise
        except Exception as exc:
            close_quietly(connection)
            raise unavailable(exc, where.url, self._timeout) from None

    def _checkout(self, where: Target, pool: _Pool) -> "ldap3.Connection":
        """A bound connection of ``where``'s pool for the caller alone: idle, or opened now."""
        size = self._size(where)
        with pool.cond:
            while True:
                if pool.failure is not None:
                    raise pool.failure
                if pool.idle:
                    return pool.idle.pop()
                first = pool.count == 0 and not pool.settled.is_set()
                if first or (pool.proven and pool.count < size):
                    break
                pool.cond.wait()  # the first bind under way, or every connection busy
            if first:  # the others open beside the first one, and bind once it has
                extras = size - 1
                pool.count = 1 + extras
            else:
                extras = 0
                pool.count += 1
        for number in range(extras):
            threading.Thread(target=self._open_extra, args=(where, pool), daemon=True,
                             name=f"ldap {where.url} #{number + 2}").start()
        try:
            connection = self._connect(where)
            self._bind(connection, where)
        except FactUnavailable as exc:
            with pool.cond:
                pool.count -= 1
                if first:
                    pool.failure = exc  # the DC costs one timeout per run: every other lookup fails at once
                    pool.settled.set()
                pool.cond.notify_all()
            raise
        if first:
            with pool.cond:
                pool.proven = True
                pool.settled.set()
                pool.cond.notify_all()
        return connection

    def _open_extra(self, where: Target, pool: _Pool) -> None:
        """A further pooled connection: TCP and TLS now, the bind once the first one has bound."""
        connection = None
        try:
            connection = self._connect(where)
            pool.settled.wait()
            if pool.proven and not pool.closed:
                self._bind(connection, where)
                with pool.cond:
                    if not pool.closed:
                        pool.idle.append(connection)
                        pool.cond.notify_all()
                        return
        except FactUnavailable:
            connection = None  # _connect and _bind close what they opened
        except Exception:  # a pool helper never takes the run down: the lookups open their own
            pass
        if connection is not None:
            close_quietly(connection)
        with pool.cond:
            pool.count -= 1
            pool.cond.notify_all()

    def _release(self, pool: _Pool, connection: "ldap3.Connection") -> None:
        with pool.cond:
            if not pool.closed:
                pool.idle.append(connection)
                pool.cond.notify_all()
                return
        close_quietly(connection)

    def run(self, url: str, operation: Callable[["ldap3.Connection"], T]) -> T:
        """``operation`` on a connection of ``url``'s pool, which no other operation uses meanwhile."""
        where = self.configured(url)
        pool = self._pool(where)
        connection = self._checkout(where, pool)
        try:
            result = operation(connection)
        except FactUnavailable:
            self._release(pool, connection)
            raise
        except Exception as exc:
            # A broken connection is not reused; the next fact opens another.
            close_quietly(connection)
            with pool.cond:
                pool.count -= 1
                pool.cond.notify_all()
            raise unavailable(exc, where.url, self._timeout) from None
        self._release(pool, connection)
        return result

    def search(self, url: str, base: str, flt: str, scope, attributes, controls=None,
               missing_ok: bool = True) -> List[RawEntry]:
        """One search (``search`` below) on a pooled connection of ``url``: searches of several threads run together."""
        return self.run(url, lambda conn: search(conn, base, flt, scope, attributes, controls, missing_ok))

    def close(self) -> None:
        """Unbind every DC connection of the run (once the checks are done)."""
        with self._lock:
            pools = list(self._pools.values())
        for pool in pools:
            with pool.cond:
                pool.closed = True
                idle, pool.idle = pool.idle, []
                pool.cond.notify_all()
            for connection in idle:
                close_quietly(connection)


def search(conn: "ldap3.Connection", base: str, flt: str, scope, attributes, controls=None,
           missing_ok: bool = True) -> List[RawEntry]:
    """The entries found; [] when ``base`` does not exist and ``missing_ok``; other LDAP errors raise."""
    conn.search(base, flt, scope, attributes=list(attributes), controls=controls)
    code = conn.result.get("result")
    if code == 32 and missing_ok:  # noSuchObject: the base does not exist
        return []
    if code not in (0, None):
        raise FactUnavailable(Reason.PROTOCOL, f"search {flt} under {base!r}: {conn.result.get('description')} "
                                               f"{conn.result.get('message', '')}".strip())
    return [(entry["dn"], entry["raw_attributes"]) for entry in conn.response or []
            if entry.get("type") == "searchResEntry"]


def close_quietly(connection: "ldap3.Connection") -> None:
    """Unbind, ignoring a socket that is already broken (the error being reported is the first one)."""
    try:
        connection.unbind()
    except Exception:
        pass


def unavailable(exc: Exception, where: str, timeout: float) -> FactUnavailable:
    """An ldap3/socket exception as a typed, secret-free FactUnavailable."""
    text = str(exc)
    lowered = text.lower()
    raw = _first_line(text)
    if "certificate" in lowered or "ssl" in lowered and "verify" in lowered:
        return FactUnavailable(Reason.PROTOCOL, f"{where}: the DC's TLS certificate is not trusted by tls.ca_bundle "
                                                f"or does not match the host name", raw)
    if isinstance(exc, lx.LDAPStartTLSError):
        return FactUnavailable(Reason.PROTOCOL, f"{where}: StartTLS refused; use ldaps:// or enable TLS on the DC",
                               raw)
    if isinstance(exc, (socket.timeout, TimeoutError)) or "timed out" in lowered or "timeout" in lowered:
        return FactUnavailable(Reason.TIMEOUT, f"{where}: no answer within {timeout:g} s", raw)
    if "refused" in lowered:
        return FactUnavailable(Reason.UNREACHABLE, f"{where}: connection refused", raw)
    if isinstance(exc, (lx.LDAPSocketOpenError, lx.LDAPSocketReceiveError, lx.LDAPSocketSendError,
                        lx.LDAPSessionTerminatedByServerError, OSError)):
        return FactUnavailable(Reason.UNREACHABLE, f"{where}: the connection failed", raw)
    return FactUnavailable(Reason.PROTOCOL, f"{where}: {type(exc).__name__}", raw)


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else "(no detail)"


def attr_text(raw: Dict[str, List[bytes]], name: str) -> Optional[str]:
    """The first value of attribute ``name`` as text, or None."""
    values = raw.get(name) or []
    return values[0].decode("utf-8", "replace") if values else None


def attr_int(raw: Dict[str, List[bytes]], name: str) -> Optional[int]:
    value = attr_text(raw, name)
    return int(value) if value not in (None, "") else None


def attr_bool(raw: Dict[str, List[bytes]], name: str) -> Optional[bool]:
    value = attr_text(raw, name)
    return None if value is None else value.upper() == "TRUE"
