"""The HTTPS GETs of the IIS web components (``HttpFacts.web``): one verifying SSL context per run, one
kept-alive connection pool per server name, port and address, shared by every path.

Before, each path built a requests session, an SSL context (``ssl.create_default_context``: 52 ms of CPU
loading the system store) and a new TLS connection. Here the context is built once per run and bundle,
with the same trust as before (the system store, plus the site's CA bundle, or plus certifi's bundle
when the site names none — what requests' ``verify=`` added on top of the context), and the pool keeps
connections alive, so a second path costs one round trip, and paths fetched at once each get their own
connection (urllib3's pool is thread-safe).

A path's chain of round trips is then what the protocol asks: the server's A record, TCP, the TLS
handshake (two round trips: IIS 7.5 on Windows Server 2008 R2, like the lab's nginx 1.22, stops at TLS
1.2, and neither OpenSSL nor Python has TLS False Start) and the GET — five, of which curl with --resolve
pays four. The context is built while the A record is asked (``prepare``), not after.

urllib3 is used directly (requests adds nothing here: no redirects, no proxy from the environment, no
cookies), imported when the first path is fetched.
"""
from __future__ import annotations

import threading
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from ocscheck.facts import background
from ocscheck.facts.lazy import lazy
from ocscheck.facts.store import FactUnavailable, Reason

if TYPE_CHECKING:
    from concurrent.futures import Future

urllib3 = lazy("urllib3")
ssl = lazy("ssl")  # a replay fetches nothing: neither ssl nor urllib3 loads
_errors = lazy("urllib3.exceptions")

MAX_KEPT_BODY = 1024 * 1024  # a larger answer body is not drained for keep-alive: the connection is dropped
POOL_SIZE = 8                # connections kept per server: tls.web_paths (7 by default) fetched at once


def legacy_client_context(ca_bundle: Optional[Path]) -> "ssl.SSLContext":
    """A verifying client context that still speaks to IIS 7.5 on Windows Server 2008 R2 (TLS 1.0 only,
    1024-bit keys): the key and protocol are judged by the checks, not refused here. Trust: the system
    store and the site's CA bundle (certifi's bundle when none), as requests' ``verify=`` gave."""
    context = ssl.create_default_context()
    with warnings.catch_warnings():  # deprecated, and exactly what the server speaks
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version = ssl.TLSVersion.TLSv1
    context.set_ciphers("DEFAULT:@SECLEVEL=0")
    if ca_bundle:
        context.load_verify_locations(cafile=str(ca_bundle))
    else:
        import certifi  # requests' default bundle (a dependency of requests)

        context.load_verify_locations(cafile=certifi.where())
    return context


class WebClient:
    """One run's HTTPS client for the web components: contexts per CA bundle, pools per server."""

    def __init__(self, ca_bundle: Optional[Path], timeout: float) -> None:
        self._ca_bundle = ca_bundle
        self._timeout = timeout
        self._lock = threading.Lock()
        self._context: "Optional[Future[ssl.SSLContext]]" = None
        self._pools: Dict[Tuple[str, int, str], Any] = {}

    def prepare(self) -> "Future[ssl.SSLContext]":
        """Start building the SSL context (40-50 ms of CPU: the system store, the bundle), once: a caller
        does it before its DNS wait, so that the context is ready when the address is."""
        with self._lock:
            if self._context is None:
                self._context = background.in_thread(lambda: legacy_client_context(self._ca_bundle))
            return self._context

    def _pool(self, name: str, port: int, address: str) -> Any:
        context = self.prepare().result()  # its failure (an unreadable bundle) is raised here, as before
        with self._lock:
            pool = self._pools.get((name, port, address))
            if pool is None:
                # Dial the address, while SNI and the certificate name check use the server's name.
                pool = urllib3.HTTPSConnectionPool(
                    address, port, maxsize=POOL_SIZE, block=False, retries=False,
                    timeout=urllib3.Timeout(connect=self._timeout, read=self._timeout),
                    ssl_context=context, cert_reqs="CERT_REQUIRED", server_hostname=name, assert_hostname=name)
                self._pools[(name, port, address)] = pool
            return pool

    def get(self, name: str, port: int, path: str, address: str) -> Dict[str, Any]:
        """An anonymous GET of ``path`` (redirects not followed): the fact's JSON form."""
        url = f"https://{name}:{port}{path}"
        where = f"{url} ({address})"
        try:
            response = self._pool(name, port, address).urlopen(
                "GET", path, headers={"Host": name}, redirect=False, preload_content=False)
        except _errors.SSLError as exc:
            raise FactUnavailable(Reason.PROTOCOL, f"{where}: TLS failed: {root_cause(exc)}") from None
        except _errors.NewConnectionError as exc:  # before ConnectTimeoutError: urllib3 makes it a subclass
            cause = root_cause(exc)
            reason = Reason.REFUSED if "refused" in cause.lower() else Reason.UNREACHABLE
            raise dial_failed(FactUnavailable(reason, f"{where}: {cause}")) from None
        except _errors.ConnectTimeoutError:
            raise dial_failed(FactUnavailable(Reason.TIMEOUT, f"{where}: no answer within {self._timeout:g} s")) \
                from None
        except (_errors.ReadTimeoutError, TimeoutError):
            raise FactUnavailable(Reason.TIMEOUT, f"{where}: no answer within {self._timeout:g} s") from None
        except (_errors.HTTPError, OSError) as exc:
            cause = root_cause(exc)
            reason = Reason.REFUSED if "refused" in cause.lower() else Reason.UNREACHABLE
            raise FactUnavailable(reason, f"{where}: {cause}") from None
        try:
            remaining = response.length_remaining
            if remaining is not None and remaining <= MAX_KEPT_BODY:
                response.drain_conn()       # the body read: the connection goes back to the pool
                response.release_conn()
            else:
                response.close()            # unknown or large body: not worth reading, not reused
        except (_errors.HTTPError, OSError):
            response.close()                # the status is what was asked; a broken body changes nothing
        return {"url": url, "address": address, "status": response.status,
                "authenticate": response.headers.get("WWW-Authenticate", "")}

    def close(self) -> None:
        with self._lock:
            pools = list(self._pools.values())
            self._pools.clear()
        for pool in pools:
            pool.close()


def dial_failed(exc: FactUnavailable) -> FactUnavailable:
    """Mark ``exc`` as a failed TCP connect (not a TLS or HTTP problem): the run remembers it per address
    and port (TlsFacts.remember_dial_failure), so other facts dialling there fail at once."""
    exc.dial_failed = True  # type: ignore[attr-defined]
    return exc


def root_cause(exc: BaseException) -> str:
    """The innermost reason of a urllib3/requests exception chain, short."""
    import re

    seen = exc
    while True:
        inner = getattr(seen, "reason", None) or seen.__cause__ or seen.__context__
        if inner is None or inner is seen or not isinstance(inner, BaseException):
            break
        seen = inner
    text = re.sub(r"\s*\(_ssl\.c:\d+\)", "", str(seen))  # CPython's source line: noise for an admin
    return text[:300] if text else type(seen).__name__
