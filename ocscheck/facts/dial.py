"""TCP connects of one run, by address and port: a failed connect is remembered and shared.

Several facts dial the same endpoint under different names (the certificate checks' handshake with
ocs.todorovic.adds:5061, sip.tls's with sip.todorovic.fr:5061, both 127.0.0.20:5061; the HTTPS paths
and the 443 handshake). A host that is down must cost one timeout per run, not one per fact: the first
failure (refused, unreachable, no answer) is kept for the run and every later dial of that address and
port fails at once with it. While the first dial of an endpoint is under way, other dials of it wait
for its outcome (a dead host then costs every one of them the first dial's timeout, not a timeout of
their own started later); once one connect has worked, dials no longer wait for each other.
"""
from __future__ import annotations

import select
import socket
import threading
import time
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from ocscheck.facts.background import futures
from ocscheck.facts.store import FactUnavailable, Reason

if TYPE_CHECKING:
    from concurrent.futures import Future

Endpoint = Tuple[str, int]


class Dials:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failed: Dict[Endpoint, FactUnavailable] = {}
        self._first: Dict[Endpoint, threading.Event] = {}   # set once the first dial has an outcome
        self._alive: set = set()
        self._parked: Dict[Endpoint, List["Future[socket.socket]"]] = {}  # preconnects not yet taken
        self._closed = False

    def check(self, address: str, port: int) -> None:
        """Raise the remembered failure of ``address``:``port``, if any."""
        with self._lock:
            failed = self._failed.get((address, port))
        if failed is not None:
            raise FactUnavailable(failed.reason, f"{failed.detail} (remembered from an earlier connect in this run)")

    def remember(self, address: str, port: int, failure: FactUnavailable) -> None:
        with self._lock:
            if (address, port) not in self._alive:
                self._failed.setdefault((address, port), failure)

    def connect(self, address: str, port: int, deadline: float) -> socket.socket:
        """A TCP connection to ``address``:``port`` by ``deadline``, or FactUnavailable (remembered)."""
        endpoint = (address, port)
        with self._lock:
            pending = None if endpoint in self._alive else self._first.get(endpoint)
            first = self._claim_first(endpoint)
        if pending is not None:
            pending.wait(max(0.0, deadline - time.monotonic()))
        self.check(address, port)
        if deadline - time.monotonic() <= 0:  # our own time is up: says nothing about the endpoint
            if first is not None:
                first.set()
            raise FactUnavailable(Reason.TIMEOUT, f"no time left to connect to {address}:{port}")
        try:
            sock = _tcp_connect(address, port, deadline)
        except FactUnavailable as exc:
            self.remember(address, port, exc)
            raise
        finally:
            if first is not None:
                first.set()
        self._worked(endpoint)
        return sock

    def _claim_first(self, endpoint: Endpoint) -> Optional[threading.Event]:
        """Under the lock: the event of the endpoint's first dial when the caller's dial is it, else None."""
        if endpoint in self._alive or endpoint in self._first:
            return None
        first = self._first[endpoint] = threading.Event()
        return first

    def _worked(self, endpoint: Endpoint) -> None:
        with self._lock:
            self._alive.add(endpoint)
            self._failed.pop(endpoint, None)

    def preconnect(self, address: str, port: int, count: int, deadline: float) -> None:
        """Have ``count`` connections to ``address``:``port`` parked or under way, for the next ``take`` calls:
        the missing ones are started at once, in the background (together the endpoint's first dial)."""
        endpoint = (address, port)
        with self._lock:
            if self._closed or endpoint in self._failed:
                return
            parked = self._parked.setdefault(endpoint, [])
            new: List["Future[socket.socket]"] = [futures.Future() for _ in range(count - len(parked))]
            parked.extend(new)
            first = self._claim_first(endpoint) if new else None  # no dial started: no first dial to wait for
        outcomes = {"pending": len(new)}

        def dial(future: "Future[socket.socket]") -> None:
            try:
                sock = _tcp_connect(address, port, deadline)
            except FactUnavailable as exc:
                self.remember(address, port, exc)
                future.set_exception(exc)
            else:
                self._worked(endpoint)
                future.set_result(sock)
            finally:
                with self._lock:
                    outcomes["pending"] -= 1
                    last = outcomes["pending"] == 0
                if first is not None and (last or future.exception() is None):
                    first.set()  # one connect worked, or every one has failed: the dials waiting go on

        for future in new:
            threading.Thread(target=dial, args=(future,), daemon=True, name=f"preconnect {address}:{port}").start()

    def take(self, address: str, port: int, deadline: float) -> socket.socket:
        """A TCP connection to ``address``:``port``: a preconnected one (waited for, up to ``deadline``) when
        one is parked and still open, else a new ``connect``."""
        with self._lock:
            parked = self._parked.get((address, port))
            future = parked.pop(0) if parked else None
        if future is not None:
            try:
                sock = future.result(timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                future.add_done_callback(_close_unused)
                raise FactUnavailable(Reason.TIMEOUT, f"no TCP answer from {address}:{port} in time "
                                                      f"(filtered or host down)") from None
            if _still_open(sock):
                return sock
            sock.close()  # the host closed it while it was parked: dial again
        return self.connect(address, port, deadline)

    def close(self) -> None:
        """Close the preconnected connections nobody took (those still connecting, once connected)."""
        with self._lock:
            self._closed = True
            unused = [future for parked in self._parked.values() for future in parked]
            self._parked.clear()
        for future in unused:
            future.add_done_callback(_close_unused)


def _close_unused(future: "Future[socket.socket]") -> None:
    if future.exception() is None:
        future.result().close()


def _still_open(sock: socket.socket) -> bool:
    """Nothing to read on a connection that has sent nothing yet: readable means closed (or a host talking
    first, which no protocol parked here does)."""
    readable, _, _ = select.select([sock], [], [], 0)
    return not readable


def _tcp_connect(address: str, port: int, deadline: float) -> socket.socket:
    where = f"{address}:{port}"
    remaining = max(0.01, deadline - time.monotonic())
    try:
        return socket.create_connection((address, port), timeout=remaining)
    except ConnectionRefusedError:
        raise FactUnavailable(Reason.REFUSED, f"TCP connection to {where} refused (nothing listens)") from None
    except socket.timeout:
        raise FactUnavailable(Reason.TIMEOUT, f"no TCP answer from {where} within {remaining:.1f} s "
                                              f"(filtered or host down)") from None
    except OSError as exc:
        raise FactUnavailable(Reason.UNREACHABLE, f"cannot connect to {where}: {exc.strerror or exc}") from None
