"""A requests adapter whose connections come from the run's dials (ocscheck.facts.dial).

pywinrm talks through requests; mounted on its session, this adapter makes urllib3 open each TCP connection
with ``Dials.take``: a connection preconnected while the run was still planning is used at once, and a failed
connect is remembered per address and port like every other source's. Everything above the TCP socket (TLS
over https, keep-alive, the NTLM exchange) is urllib3's and requests' own.
"""
from __future__ import annotations

import socket
import time
from typing import Any, Type

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from ocscheck.facts.dial import Dials
from ocscheck.facts.store import FactUnavailable, Reason


def dialled_adapter(dials: Dials, timeout: float) -> HTTPAdapter:
    """An adapter whose connections are ``dials.take(host, port, now + timeout)``."""

    def connection_class(base: Type[HTTPConnection]) -> Type[HTTPConnection]:
        class Dialled(base):  # type: ignore[valid-type, misc]
            def _new_conn(self) -> socket.socket:
                try:
                    sock = dials.take(self._dns_host, self.port, time.monotonic() + timeout)
                except FactUnavailable as exc:  # as urllib3's own connect would fail: requests says the same
                    error = ConnectTimeoutError if exc.reason is Reason.TIMEOUT else NewConnectionError
                    raise error(self, exc.detail) from None
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # urllib3's default socket option
                if isinstance(self.timeout, (int, float)):
                    sock.settimeout(self.timeout)
                return sock
        return Dialled

    pools = {"http": type("DialledPool", (HTTPConnectionPool,), {"ConnectionCls": connection_class(HTTPConnection)}),
             "https": type("DialledHTTPSPool", (HTTPSConnectionPool,),
                           {"ConnectionCls": connection_class(HTTPSConnection)})}

    class DialledAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

    return DialledAdapter()
