"""The certificate/SIP/IIS lab: a PKI, nginx (CRLs on 127.0.0.40:80, "IIS" on 127.0.0.20:443) and
Kamailio (SIP over TLS on 127.0.0.20:5061), started per scenario in about 0.15 s.

``start_lab`` takes the scenario's certificates and CRL faults; ``start_good_lab`` is the tutorial's
right deployment (for the bundled example); the ``tls_lab`` fixture starts labs and stops them after.
``stub_tls`` starts a bare TLS listener (Python ssl) that misbehaves after the handshake; ``gated_crls``
an HTTP server of a lab's CRLs that holds each request until several are in flight.
"""
from __future__ import annotations

import socket
import ssl
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tests.lab import OCS, OCS_ALT, Gate, Server, stopped_after, unavailable
from tests.lab.kamailio import start_kamailio
from tests.lab.nginx import WEB_COMPONENTS, HttpsSite, start_nginx
from tests.lab.pki import Issued, Pki, PrivateKey, write_server_files

GOOD_SANS = ("ocs.todorovic.adds", "sip.todorovic.fr", "cwa.todorovic.fr")


@dataclass
class Lab:
    workdir: Path
    pki: Pki
    ca_bundle: Path
    servers: List[Server] = field(default_factory=list)

    def site(self, pin_address: bool = True, **tls: Any) -> Dict[str, Any]:
        """Site-file overrides for this lab; ``pin_address`` dials 127.0.0.20 without any DNS."""
        table: Dict[str, Any] = {"ca_bundle": str(self.ca_bundle), **tls}
        if pin_address:
            table.setdefault("server_address", OCS)
        return {"tls": table}

    def stop(self) -> None:
        for server in reversed(self.servers):
            server.stop()
        self.servers.clear()


def start_lab(workdir: Path, pki: Optional[Pki] = None, leaf: Optional[Issued] = None,
              chain: Optional[Sequence[Issued]] = None, web_leaf: Optional[Issued] = None,
              web_present: Sequence[str] = WEB_COMPONENTS, web_tls10_only: bool = False, revoked: Sequence[x509.Certificate] = (),
              crl_next_update_in: float = 7, crl_signed_by: Optional[PrivateKey] = None,
              publish_crls: bool = True, delta: Optional[str] = None,
              delta_revoked: Sequence[x509.Certificate] = (), sip: bool = True, https: bool = True,
              request_client_cert: bool = False, bundle_pki: Optional[Pki] = None,
              options_status: str = "200 OK") -> Lab:
    """One scenario: Kamailio presents ``leaf`` + ``chain`` on 5061, nginx presents ``web_leaf`` (default the
    same) + the issuing CA on 443 and serves the CRLs (with the faults asked for)."""
    pki = pki or Pki()
    leaf = leaf or pki.leaf(sans=GOOD_SANS)
    chain = [pki.issuing] if chain is None else list(chain)
    workdir.mkdir(parents=True, exist_ok=True)
    lab = Lab(workdir, pki, (bundle_pki or pki).bundle(workdir / "ca.pem"))
    crl_dir = workdir / "crl"
    crl_dir.mkdir(parents=True, exist_ok=True)
    if publish_crls:
        pki.write_crls(crl_dir, revoked, crl_next_update_in, crl_signed_by, delta, delta_revoked)
    cert, key = write_server_files(leaf, chain, workdir / "certs", "sip")
    try:
        if sip:
            lab.servers.append(start_kamailio(workdir / "kamailio", cert, key,
                                              client_ca=lab.ca_bundle if request_client_cert else None,
                                              options_status=options_status))
        sites = []
        if https:
            web_cert, web_key = write_server_files(web_leaf, [pki.issuing], workdir / "certs", "web") \
                if web_leaf else (cert, key)
            sites.append(HttpsSite(OCS, 443, web_cert, web_key, web_present, web_tls10_only))
        lab.servers.append(start_nginx(workdir / "nginx", crl_dir, sites))
    except BaseException:
        lab.stop()
        raise
    return lab


def start_good_lab(workdir: Path, pin_address: bool = False, also_trust: Sequence[Path] = (),
                   sans: Sequence[str] = GOOD_SANS) -> Tuple[Dict[str, Any], Callable[[], None]]:
    """The tutorial's right deployment: certificate for ocs.todorovic.adds with sip.todorovic.fr and
    cwa.todorovic.fr, issued by a two-level PKI with working CRLs, on Kamailio 5061 and nginx 443.

    Returns the site-file overrides and a function that stops the servers. The overrides set
    tls.ca_bundle = ``workdir``/ca.pem (the lab's root and issuing CA, then the PEM files of
    ``also_trust``, e.g. the Samba lab's CA: a site has one CA bundle) and, with ``pin_address``,
    tls.server_address = 127.0.0.20 for use without the lab's internal DNS view. ``sans``: the names the
    certificate carries (the failing example leaves out sip.todorovic.fr).
    """
    pki = Pki()
    lab = start_lab(workdir, pki=pki, leaf=pki.leaf(sans=tuple(sans)))
    with open(lab.ca_bundle, "ab") as bundle:
        for extra in also_trust:
            bundle.write(Path(extra).read_bytes())
    return lab.site(pin_address=pin_address), lab.stop


def good_lab_thumbprint(workdir: Path) -> str:
    """SHA-1 thumbprint (upper-case hex, as netsh reports it) of the certificate start_good_lab(``workdir``)
    serves on 5061 and 443: what the WinRM lab must report bound to 0.0.0.0:443 for iis.https-binding to pass."""
    leaf = x509.load_pem_x509_certificates((workdir / "certs" / "sip.crt").read_bytes())[0]
    return leaf.fingerprint(hashes.SHA1()).hex().upper()


@pytest.fixture
def tls_lab(tmp_path) -> Iterator[Callable[..., Lab]]:
    """Factory: ``tls_lab(**start_lab arguments)`` starts a scenario; everything stops after the test."""
    labs: List[Lab] = []

    def start(**kwargs: Any) -> Lab:
        lab = start_lab(tmp_path / f"lab{len(labs)}", **kwargs)
        labs.append(lab)
        return lab

    yield start
    for lab in labs:
        lab.stop()


class StubTlsServer:
    """A real TLS listener (Python ssl) whose behaviour after the handshake is the scenario's: say nothing,
    answer garbage, answer a given SIP status. ``require_sni`` refuses handshakes without a server name.
    ``together``: hold connections until that many are open (a ``Gate``: ``gate.held_apart`` says one
    waited in vain). ``sessions``: per handshake made, the server name the client sent (None without SNI)
    and the first bytes it sent after."""

    def __init__(self, address: str, port: int, cert: Path, key: Path,
                 respond: Callable[[ssl.SSLSocket, bytes], None], require_sni: bool = False,
                 tls10_only: bool = False, together: int = 0):
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        if tls10_only:  # Schannel's default on Windows Server 2008 R2
            self.context.set_ciphers("ALL:@SECLEVEL=0")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                self.context.minimum_version = self.context.maximum_version = ssl.TLSVersion.TLSv1
        self.context.load_cert_chain(cert, key)
        self.require_sni = require_sni
        self.context.sni_callback = self._server_name
        self.sessions: List[Tuple[Optional[str], bytes]] = []
        self.handshaken: List[ssl.SSLSocket] = []  # the server's side of each handshake made
        self.gate = Gate(together) if together else None
        self.respond = respond
        self.listener = socket.create_server((address, port), reuse_port=False)
        self.listener.settimeout(0.2)
        self.stopping = threading.Event()
        self.connections: List[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True, name=f"stub tls {address}:{port}")
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                raw, _ = self.listener.accept()
            except OSError:
                continue
            self.connections.append(raw)
            threading.Thread(target=self._handle, args=(raw,), daemon=True).start()

    def _server_name(self, sock: ssl.SSLSocket, name: Optional[str], context: ssl.SSLContext) -> Optional[int]:
        sock.requested_name = name  # type: ignore[attr-defined]
        return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME if self.require_sni and name is None else None

    def _handle(self, raw: socket.socket) -> None:
        if self.gate is not None:
            self.gate.pass_through()
        try:
            raw.settimeout(10)
            tls = self.context.wrap_socket(raw, server_side=True)
            self.handshaken.append(tls)
            request = b""
            try:
                request = tls.recv(65536)
            finally:
                self.sessions.append((getattr(tls, "requested_name", None), request))
            self.respond(tls, request)
        except OSError:
            pass  # the client gave up: that is what several scenarios test

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(2)
        self.listener.close()
        for connection in self.connections + self.handshaken:
            connection.close()


def stay_silent(tls: ssl.SSLSocket, request: bytes) -> None:
    """Read the request and never answer (until the client leaves)."""
    while tls.recv(4096):
        pass


def answer(data: bytes, close: bool = True) -> Callable[[ssl.SSLSocket, bytes], None]:
    def respond(tls: ssl.SSLSocket, request: bytes) -> None:
        tls.sendall(data)
        if not close:
            stay_silent(tls, request)
        else:
            tls.close()
    return respond


@pytest.fixture
def stub_tls(tmp_path) -> Iterator[Callable[..., StubTlsServer]]:
    """Factory: ``stub_tls(respond, address=127.0.0.21, ...)`` with the good lab certificate."""
    servers: List[StubTlsServer] = []

    def start(respond: Callable[[ssl.SSLSocket, bytes], None], address: str = OCS_ALT, port: int = 5061,
              leaf: Optional[Issued] = None, require_sni: bool = False, tls10_only: bool = False,
              together: int = 0) -> StubTlsServer:
        pki = Pki()
        cert, key = write_server_files(leaf or pki.leaf(sans=GOOD_SANS), [pki.issuing], tmp_path / "stub",
                                       f"stub{len(servers)}")
        try:
            server = StubTlsServer(address, port, cert, key, respond, require_sni, tls10_only, together)
        except OSError as exc:
            unavailable(f"cannot listen on {address}:{port}: {exc}")
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


GATED_CRL_BASE = f"http://{OCS_ALT}:8080/crl"  # Pki(crl_base=GATED_CRL_BASE): CDPs pointing at gated_crls


class GatedCrls:
    """HTTP on OCS_ALT:8080 serving ``directory`` under /crl/; each request waits at a ``Gate`` until
    ``together`` different paths are asked. ``asked``: the paths, in arrival order."""

    def __init__(self, directory: Path, together: int) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server protocol
                served.asked.append(self.path)
                served.gate.pass_through(self.path)
                file = directory / self.path.rpartition("/")[2]
                body = file.read_bytes() if self.path.startswith("/crl/") and file.is_file() else b""
                self.send_response(200 if body else 404)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.gate = Gate(together)
        self.asked: List[str] = []
        try:
            self.server = ThreadingHTTPServer((OCS_ALT, 8080), Handler)
        except OSError as exc:
            unavailable(f"cannot listen on {OCS_ALT}:8080: {exc}")
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True, name="gated crls")
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gated_crls() -> Iterator[Callable[[Path, int], GatedCrls]]:
    """Factory: ``gated_crls(lab.workdir / "crl", together)``; stopped after the test."""
    yield from stopped_after(GatedCrls)
