"""TLS facts: what a server really presents on a port (pyOpenSSL), and a certificate read from a file.

The handshake never validates anything itself (VERIFY_NONE): it captures the chain exactly as the
server sends it (``get_peer_cert_chain``), the negotiated protocol and cipher, and whether the server
asks for a client certificate (MTLS). The checks validate the captured chain with ``ocscheck.values.certs``.

Which address is dialled for a name: ``tls.server_address`` when the site sets it (a workstation
whose DNS does not see the server), else the A record from the internal DNS view when ``[dns]
internal`` is set (what clients use), else the system resolver. The value records which.
"""
from __future__ import annotations

import ipaddress
import select
import socket
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Set, Tuple

from cryptography import x509
from ocscheck.facts import background
from ocscheck.facts.dial import Dials
from ocscheck.facts.lazy import lazy
from ocscheck.facts.store import FactUnavailable, Reason
from ocscheck.values.certs import is_ca
from ocscheck.values.tls import CertificateFile, Handshake

if TYPE_CHECKING:
    from concurrent.futures import Future

SSL = lazy("OpenSSL.SSL")  # pyOpenSSL loads with the first handshake, not for a replay
# Used when a chain is captured or a file read, never in a replay (the ssh and cipher modules they pull
# in were a tenth of post --example's imports).
serialization = lazy("cryptography.hazmat.primitives.serialization")
pkcs12 = lazy("cryptography.hazmat.primitives.serialization.pkcs12")


class TlsSession:
    """A connected, handshaken TLS client session with deadline-bounded I/O (used by facts.sip too)."""

    def __init__(self, conn: SSL.Connection, sock: socket.socket, deadline: float, states: set):
        self.conn, self.sock, self.deadline, self._states = conn, sock, deadline, states

    @property
    def client_cert_requested(self) -> bool:
        return any(b"certificate request" in s for s in self._states)

    def _drive(self, operation: Callable[[], Any]) -> Any:
        """Run a pyOpenSSL operation on the non-blocking socket, waiting for I/O until the deadline."""
        while True:
            try:
                return operation()
            except SSL.WantReadError:
                wait_read, wait_write = [self.sock], []
            except SSL.WantWriteError:
                wait_read, wait_write = [], [self.sock]
            remaining = self.deadline - time.monotonic()
            if remaining <= 0 or not any(select.select(wait_read, wait_write, [], remaining)[:2]):
                raise socket.timeout("timed out")

    def handshake(self) -> None:
        self._drive(self.conn.do_handshake)

    def send_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            sent = self._drive(lambda: self.conn.send(view))
            view = view[sent:]

    def recv(self, size: int) -> bytes:
        """Up to ``size`` bytes; b"" when the peer closed; socket.timeout past the deadline."""
        try:
            return self._drive(lambda: self.conn.recv(size))
        except SSL.ZeroReturnError:
            return b""
        except SSL.SysCallError as exc:
            if exc.args and exc.args[0] == -1:  # unexpected EOF: the peer closed without close_notify
                return b""
            raise

    def idle(self) -> bool:
        """Still open, and nothing received since the handshake but session tickets: clean for a request."""
        try:
            self.conn.recv(1, socket.MSG_PEEK)  # non-blocking: reads tickets, never application data
        except SSL.WantReadError:
            return True
        except (SSL.Error, OSError):
            return False
        return False  # the server spoke first: not the state a fresh connection would be in

    def close(self) -> None:
        try:
            self.conn.set_shutdown(SSL.SENT_SHUTDOWN)  # no close_notify round trip: we are leaving anyway
        finally:
            self.sock.close()


def open_session(address: str, port: int, sni: Optional[str], deadline: float,
                 dials: Optional[Dials] = None) -> TlsSession:
    """TCP connect and TLS handshake, bounded by ``deadline``. Raises FactUnavailable (refused/timeout/...).
    ``dials``: the run's connects, so that a failed one is remembered per address and port (``dial``)."""
    return tls_session((dials or Dials()).connect(address, port, deadline), address, port, sni, deadline)


def tls_session(sock: socket.socket, address: str, port: int, sni: Optional[str], deadline: float) -> TlsSession:
    """The TLS handshake on the connected ``sock`` (closed on failure), bounded by ``deadline``."""
    where = f"{address}:{port}"
    sock.setblocking(False)
    context = SSL.Context(SSL.TLS_CLIENT_METHOD)
    # Capture, never judge: validation happens in the checks on the chain captured here.
    context.set_verify(SSL.VERIFY_NONE, lambda *args: True)
    # Schannel on Windows Server 2008 / 2008 R2 speaks TLS 1.0 unless TLS 1.1/1.2 were enabled in the
    # registry, and OpenSSL 3 refuses TLS 1.0 at its default security level: allow everything (but
    # NULL ciphers, which ALL excludes) and report what was negotiated.
    context.set_min_proto_version(SSL.TLS1_VERSION)
    context.set_cipher_list(b"ALL:@SECLEVEL=0")
    states: set = set()
    context.set_info_callback(lambda conn, where_, ret: states.add(conn.get_state_string()))
    conn = SSL.Connection(context, sock)
    if sni:
        conn.set_tlsext_host_name(sni.encode("idna"))
    conn.set_connect_state()
    session = TlsSession(conn, sock, deadline, states)
    try:
        session.handshake()
    except socket.timeout:
        sock.close()
        raise FactUnavailable(Reason.TIMEOUT, f"TLS handshake with {where} did not finish in time "
                                              f"(the port accepts TCP but does not answer TLS)") from None
    except SSL.SysCallError as exc:
        sock.close()
        detail = "closed the connection" if exc.args and exc.args[0] == -1 else f"{exc.args[-1] if exc.args else exc}"
        raise FactUnavailable(Reason.PROTOCOL, f"TLS handshake with {where} failed: the server {detail}") from None
    except SSL.Error as exc:
        sock.close()
        raise FactUnavailable(Reason.PROTOCOL, f"TLS handshake with {where} failed: {_ssl_error(exc)}") from None
    except OSError as exc:
        sock.close()
        raise FactUnavailable(Reason.UNREACHABLE, f"TLS handshake with {where} failed: {exc}") from None
    return session


def _ssl_error(exc: SSL.Error) -> str:
    reasons = [e[2] for e in (exc.args[0] if exc.args and isinstance(exc.args[0], list) else []) if len(e) > 2]
    return "; ".join(reasons) or str(exc) or type(exc).__name__


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


def _system_resolve(name: str, timeout: float) -> str:
    """getaddrinfo has no timeout of its own: run it in a thread and give up after ``timeout``."""
    found: Dict[str, Any] = {}

    def work() -> None:
        try:
            found["address"] = socket.getaddrinfo(name, None, socket.AF_INET, socket.SOCK_STREAM)[0][4][0]
        except OSError as exc:
            found["error"] = exc

    thread = threading.Thread(target=work, daemon=True, name=f"resolve {name}")
    thread.start()
    thread.join(timeout)
    if "address" in found:
        return found["address"]
    if "error" in found:
        raise FactUnavailable(Reason.UNREACHABLE, f"{name} does not resolve with the system resolver: "
                                                  f"{found['error']}")
    raise FactUnavailable(Reason.TIMEOUT, f"the system resolver did not answer for {name} within {timeout:g} s")


def key(name: str, port: int) -> str:
    """The recording key of the TLS handshake with ``name``:``port``."""
    return f"tls:{name.rstrip('.').lower()}:{port}"


class TlsFacts:
    def __init__(self, facts) -> None:
        self._facts = facts
        self._store = facts.store
        self._settings = facts.site.tls
        self.dials = facts.dials  # the run's TCP connects: a dead address:port costs one timeout, whatever dials it
        self._lock = threading.Lock()
        self._keep_ports: Set[int] = set()   # where SIP OPTIONS goes over a handshake's connection
        self._kept: Dict[Tuple[str, int, Optional[str]], TlsSession] = {}  # by address, port and SNI, until taken

    def dial_failure(self, address: str, port: int) -> None:
        """Raise the failure of an earlier connect to ``address``:``port`` in this run, if any."""
        self.dials.check(address, port)

    def remember_dial_failure(self, address: str, port: int, failure: FactUnavailable) -> None:
        self.dials.remember(address, port, failure)

    def open(self, address: str, port: int, sni: Optional[str], deadline: float) -> TlsSession:
        """A TLS session to ``address``:``port`` through the run's dials (used by facts.sip)."""
        return open_session(address, port, sni, deadline, self.dials)

    def address(self, name: str) -> Tuple[str, str]:
        """The address dialled for ``name`` and how it was found (see the module doc)."""
        if self._settings.server_address:
            return self._settings.server_address, "tls.server_address"
        if _is_ip(name):
            return name, "literal address"
        if self._facts.site.dns.internal:
            answer = self._facts.dns.lookup("internal", name, "A")
            if not answer.addresses:
                raise FactUnavailable(Reason.UNREACHABLE, f"{name} does not resolve on the internal DNS "
                                                          f"({answer.rcode})")
            return answer.addresses[0], "internal DNS"
        # A fact like any other: one lookup per name per run, and every connection to it dials the same address.
        return self._store.get(f"resolve:{name}", lambda: _system_resolve(name, self._facts.timeout)), \
            "system resolver"

    def handshake(self, name: str, port: int) -> Handshake:
        """The TLS handshake with ``name``:``port`` (memoised, recorded): chain, protocol, cipher, MTLS."""
        name = name.rstrip(".").lower()
        data = self._store.get(key(name, port), lambda: self._handshake(name, port))
        return Handshake.from_json(data)

    def keep_sessions(self, port: int) -> None:
        """SIP OPTIONS will be sent to ``port`` in this run: keep the connection of the handshakes made there
        (one per address and SNI, the first made) for ``kept_session``, instead of closing it."""
        with self._lock:
            self._keep_ports.add(port)

    def kept_session(self, address: str, port: int, sni: Optional[str], deadline: float) -> Optional[TlsSession]:
        """A kept connection to ``address``:``port`` negotiated with ``sni`` (what a new one would send: the
        server cannot tell them apart), now bounded by ``deadline``, when it is still clean; else None."""
        with self._lock:
            session = self._kept.pop((address, port, sni), None)
        if session is None:
            return None
        session.deadline = deadline
        if session.idle():
            return session
        session.close()
        return None

    def _handshake(self, name: str, port: int) -> Dict[str, Any]:
        started = time.monotonic()
        deadline = started + self._facts.timeout
        address, source = self.address(name)
        where = f"{name} ({address}, {source}):{port}"
        try:
            sock = self.dials.connect(address, port, deadline)  # its failure is the fact's, with its own words
        except FactUnavailable as exc:
            raise FactUnavailable(exc.reason, f"{where}: {exc.detail}") from None
        # Communicator 2007 R2 on Windows XP sends no SNI (Schannel before Vista cannot): that handshake decides,
        # and the one with SNI counts only when the server refuses it, as a modern client's retry. Both run at
        # once, so that the retry costs no round trips of its own; an unused SNI session is closed when done.
        with_sni = None if _is_ip(name) else \
            background.in_thread(lambda: open_session(address, port, name, deadline, self.dials))
        no_sni_error, sni = "", None
        try:
            session = tls_session(sock, address, port, None, deadline)
        except FactUnavailable as exc:
            if exc.reason is not Reason.PROTOCOL or with_sni is None:
                raise FactUnavailable(exc.reason, f"{where}: {exc.detail}") from None
            no_sni_error, sni = exc.detail, name
            try:
                session = with_sni.result()  # open_session honours the deadline
            except FactUnavailable as again:
                raise FactUnavailable(again.reason, f"{where}: without SNI: {no_sni_error}; with SNI {name}: "
                                                    f"{again.detail}") from None
        finally:
            if with_sni is not None and sni is None:
                with_sni.add_done_callback(_close_session)
        try:
            conn = session.conn
            chain = [c.to_cryptography() for c in conn.get_peer_cert_chain() or []]  # pyOpenSSL >= 24 (setup.cfg)
            return Handshake(
                name=name, port=port, address=address, address_source=source, sni=sni, no_sni_error=no_sni_error,
                protocol=conn.get_protocol_version_name(), cipher=conn.get_cipher_name() or "",
                chain_pem=tuple(c.public_bytes(serialization.Encoding.PEM).decode() for c in chain),
                client_cert_requested=session.client_cert_requested,
                client_ca_names=tuple(_x509_name(n) for n in conn.get_client_ca_list()),
                seconds=round(time.monotonic() - started, 4)).to_json()
        finally:
            with self._lock:
                kept = port in self._keep_ports and (address, port, sni) not in self._kept
                if kept:
                    self._kept[(address, port, sni)] = session
            if not kept:
                session.close()

    def close(self) -> None:
        """Close the kept connections nobody took (Facts.close, once the checks are done)."""
        with self._lock:
            sessions = list(self._kept.values())
            self._kept.clear()
        for session in sessions:
            session.close()

    def ca_bundle(self) -> List[x509.Certificate]:
        """The site's CA bundle (tls.ca_bundle), read once and recorded so that a replay needs no file."""
        path = self._settings.ca_bundle
        if not path:
            raise FactUnavailable(Reason.NOT_CONFIGURED, "no CA bundle: set tls.ca_bundle to a PEM file with the "
                                                         "internal root (and intermediate) CA certificates")
        # Keyed by file name, not path: a recording must replay wherever it is moved (the bundled example).
        pems = self._store.get(f"cabundle:{Path(path).name}", lambda: _read_bundle(Path(path)))
        return [x509.load_pem_x509_certificate(p.encode()) for p in pems]

    def certificate_file(self) -> CertificateFile:
        """The certificate file given with --certificate (or tls.certificate), for preflight."""
        path = self._facts.inputs.certificate or self._settings.certificate
        if not path:
            raise FactUnavailable(Reason.NOT_CONFIGURED, "no certificate file: give --certificate FILE "
                                                         "(or tls.certificate in the site file)")
        data = self._store.get(f"certfile:{Path(path).name}", lambda: self._read_file(Path(path)))
        return CertificateFile.from_json(data)

    def _read_file(self, path: Path) -> Dict[str, Any]:
        try:
            content = path.read_bytes()
        except OSError as exc:
            raise FactUnavailable(Reason.UNREADABLE, f"cannot read {path}: {exc.strerror}") from None
        if b"-----BEGIN" in content:
            try:
                certs, kind = x509.load_pem_x509_certificates(content), "PEM"
            except ValueError:
                raise FactUnavailable(Reason.PROTOCOL, f"{path}: no readable PEM certificate in the file") from None
        else:
            try:
                certs, kind = [x509.load_der_x509_certificate(content)], "DER"
            except ValueError:
                certs, kind = self._pkcs12(path, content), "PKCS#12"
        leaf = next((c for c in certs if not is_ca(c)), certs[0])
        chain = [leaf] + [c for c in certs if c is not leaf]
        return {"path": self._shown(path), "format": kind,
                "chain_pem": [c.public_bytes(serialization.Encoding.PEM).decode() for c in chain]}

    def _shown(self, path: Path) -> str:
        """``path`` as evidence and recordings show it: relative to the site file's folder when inside it,
        so that a recording (the bundled example) carries no absolute path of the machine that made it."""
        try:
            return str(Path(path).resolve().relative_to(self._facts.site.source.resolve().parent))
        except ValueError:
            return str(path)

    def _pkcs12(self, path: Path, content: bytes) -> List[x509.Certificate]:
        env = self._settings.certificate_password_env
        passwords: List[Optional[bytes]] = (
            [self._facts.secret(env, f"password of {path}").encode()] if env else [None, b""])
        for password in passwords:
            try:
                bundle = pkcs12.load_pkcs12(content, password)
            except ValueError:
                continue
            # Only certificates leave this function: the private key is never kept or recorded.
            certs = ([bundle.cert.certificate] if bundle.cert else []) + \
                [c.certificate for c in bundle.additional_certs]
            if not certs:
                raise FactUnavailable(Reason.PROTOCOL, f"{path}: the PKCS#12 file holds no certificate")
            return certs
        if env:
            raise FactUnavailable(Reason.AUTH_FAILED, f"{path}: not a certificate (PEM, DER), or a PKCS#12 file "
                                                      f"the password in {env} does not open")
        raise FactUnavailable(Reason.UNREADABLE, f"{path}: not a PEM or DER certificate; if it is a PKCS#12 "
                                                     f"(.pfx) file, set tls.certificate_password_env")


def _read_bundle(path: Path) -> List[str]:
    try:
        certs = x509.load_pem_x509_certificates(path.read_bytes())
    except OSError as exc:
        raise FactUnavailable(Reason.UNREADABLE, f"cannot read the CA bundle {path}: {exc.strerror}") from None
    except ValueError:
        raise FactUnavailable(Reason.PROTOCOL, f"the CA bundle {path} holds no PEM certificate") from None
    return [c.public_bytes(serialization.Encoding.PEM).decode() for c in certs]


def _close_session(attempt: "Future[TlsSession]") -> None:
    if attempt.exception() is None:
        attempt.result().close()


def _x509_name(name: Any) -> str:
    return ", ".join(f"{k.decode()}={v.decode(errors='replace')}" for k, v in name.get_components())


