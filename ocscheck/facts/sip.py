"""SIP facts: one OPTIONS request over TLS, and the first response, read with bounds.

When the run keeps the handshakes' connections (``TlsFacts.keep_sessions``: the prefetch does when
sip.options runs), the request goes over the one made to the same address with the same SNI, if still
clean, as a client signs in over the connection it has just negotiated: no second handshake's round
trips. Otherwise (none kept, or the server has spoken or closed since) over a new connection.

The read stops at the end of the first response (headers and Content-Length body), at 64 KiB, or
at the deadline, whichever comes first: a server that never answers or answers endlessly cannot
hold the run. What came back is recorded as received (truncated), so the check can show it.
"""
from __future__ import annotations

import base64
import re
import secrets
import socket
import time
from typing import Any, Dict

from ocscheck import __version__
from ocscheck.facts.store import FactUnavailable, Reason
from ocscheck.facts.tls import SSL
from ocscheck.values.sip import OptionsAnswer, message_complete

MAX_RESPONSE = 64 * 1024
KEEP = 2048  # bytes of a response kept in the recording
STATUS_LINE = re.compile(rb"^SIP/2\.0 ([1-6]\d\d) ([^\r\n]*)\r?\n")


def options_request(target: str, port: int, domain: str, local: str, local_port: int) -> bytes:
    """A well-formed out-of-dialog OPTIONS (RFC 3261 §11): the From has a tag, the To must not have one."""
    branch = "z9hG4bK" + secrets.token_hex(8)
    tag, call_id = secrets.token_hex(6), secrets.token_hex(12)
    lines = [
        f"OPTIONS sip:{target}:{port};transport=tls SIP/2.0",
        f"Via: SIP/2.0/TLS {local}:{local_port};branch={branch};rport",
        "Max-Forwards: 70",
        f"From: <sip:ocscheck@{domain}>;tag={tag}",
        f"To: <sip:{target}:{port}>",
        f"Call-ID: {call_id}@{local}",
        "CSeq: 1 OPTIONS",
        f"Contact: <sip:ocscheck@{local}:{local_port};transport=tls>",
        "Accept: application/sdp",
        f"User-Agent: ocscheck/{__version__}",
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def key(target: str, port: int) -> str:
    """The recording key of the OPTIONS exchange with ``target``:``port``."""
    return f"sip:{target.rstrip('.').lower()}:{port}:options"


class SipFacts:
    def __init__(self, facts) -> None:
        self._facts = facts
        self._store = facts.store

    def options(self, target: str, port: int) -> OptionsAnswer:
        """Send OPTIONS to ``target``:``port`` over TLS and read the first response (memoised, recorded)."""
        target = target.rstrip(".").lower()
        data = self._store.get(key(target, port), lambda: self._options(target, port))
        return OptionsAnswer.from_json(data)

    def _options(self, target: str, port: int) -> Dict[str, Any]:
        # The handshake fact says where and whether SNI is needed; a handshake there may have kept its connection.
        tls = self._facts.tls
        handshake = tls.handshake(target, port)
        address, source = handshake.address, handshake.address_source
        started = time.monotonic()
        deadline = started + self._facts.timeout
        session = tls.kept_session(address, port, handshake.sni, deadline)
        if session is None:
            try:
                session = tls.open(address, port, handshake.sni, deadline)
            except FactUnavailable as exc:
                raise FactUnavailable(exc.reason, f"{target} ({address}, {source}):{port}: {exc.detail}") from None
        buffer, ended = b"", "response"
        try:
            local, local_port = session.sock.getsockname()[:2]
            session.send_all(options_request(target, port, self._facts.site.deployment.default_sip_domain,
                                             local, local_port))
            while not message_complete(buffer):
                if len(buffer) >= MAX_RESPONSE:
                    ended = "limit"
                    break
                chunk = session.recv(MAX_RESPONSE - len(buffer))
                if not chunk:
                    ended = "closed"
                    break
                buffer += chunk
        except socket.timeout:
            ended = "timeout"
        except (SSL.Error, OSError) as exc:
            if not buffer:
                raise FactUnavailable(Reason.PROTOCOL, f"{target} ({address}):{port}: the TLS session failed "
                                                       f"during the OPTIONS exchange: {exc}") from None
            ended = "closed"
        finally:
            session.close()
        status_line = STATUS_LINE.match(buffer)
        return {"target": target, "port": port, "address": address, "address_source": source, "ended": ended,
                "status": int(status_line.group(1)) if status_line else None,
                "reason": status_line.group(2).decode("utf-8", "replace") if status_line else "",
                "received_b64": base64.b64encode(buffer[:KEEP]).decode(), "received_total": len(buffer),
                "seconds": round(time.monotonic() - started, 4)}
