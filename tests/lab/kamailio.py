"""Kamailio answering SIP OPTIONS over TLS, standing in for the OCS front end's 5061 listener.

Configuration as in the lab notes: only the tls, sl, pv, xlog and textops modules, no DNS, a TLS
server profile with the scenario's certificate (leaf then chain). ``request_client_cert`` makes it
send a CertificateRequest (verify_certificate = yes, require_certificate = no), as OCS does for MTLS.
"""
from __future__ import annotations

import socket
import ssl
from pathlib import Path
from typing import Optional

from tests.lab import OCS, Server, require_tool, wait_for_port
from tests.lab.pki import permissive_openssl_env

MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules/"


def config(address: str, port: int, tls_cfg: Path, options_status: str = "200 OK") -> str:
    code, _, reason = options_status.partition(" ")
    return f"""#!KAMAILIO
debug=2
log_stderror=yes
children=2
tcp_children=2
enable_tls=yes
listen=tls:{address}:{port}
dns=no
rev_dns=no
auto_aliases=no
mpath="{MODULES}"
loadmodule "tls.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "xlog.so"
loadmodule "textops.so"
modparam("tls", "config", "{tls_cfg}")
request_route {{
    if (is_method("OPTIONS")) {{
        append_to_reply("Allow: INVITE, ACK, CANCEL, OPTIONS, BYE\\r\\n");
        sl_send_reply("{code}", "{reason}");
        exit;
    }}
    sl_send_reply("403", "Forbidden");
    exit;
}}
"""


def tls_config(cert: Path, key: Path, client_ca: Optional[Path]) -> str:
    verify = (f"verify_certificate = yes\nrequire_certificate = no\nca_list = {client_ca}\n" if client_ca
              else "verify_certificate = no\nrequire_certificate = no\n")
    return f"[server:default]\nmethod = TLSv1.2+\nprivate_key = {key}\ncertificate = {cert}\n{verify}"


def start_kamailio(workdir: Path, cert: Path, key: Path, address: str = OCS, port: int = 5061,
                   client_ca: Optional[Path] = None, options_status: str = "200 OK") -> Server:
    """Kamailio on tls:``address``:``port``; ``client_ca`` set = it requests a client certificate;
    ``options_status`` is the status line it answers OPTIONS with (e.g. "503 Service Unavailable")."""
    binary = require_tool("kamailio")
    workdir.mkdir(parents=True, exist_ok=True)
    tls_cfg = workdir / "tls.cfg"
    tls_cfg.write_text(tls_config(cert, key, client_ca))
    cfg = workdir / "kamailio.cfg"
    cfg.write_text(config(address, port, tls_cfg, options_status))
    server = Server(f"kamailio {address}:{port}",
                    [binary, "-f", str(cfg), "-DD", "-E", "-m", "32", "-M", "8", "-P", str(workdir / "kamailio.pid"),
                     "-w", str(workdir)], workdir / "kamailio.log", env=permissive_openssl_env(workdir))
    server.ready(lambda: wait_for_port(address, port, 0.2) and presents(address, port, cert), timeout=10)
    return server


def presents(address: str, port: int, cert: Path) -> bool:
    """Whether a TLS handshake on ``address``:``port`` gets the first certificate of ``cert``: this Kamailio's TLS
    workers answer (an accepted TCP connection alone may be its main process before they are up)."""
    pem = cert.read_text()
    expected = ssl.PEM_cert_to_DER_cert(pem[:pem.index("-----END CERTIFICATE-----")] + "-----END CERTIFICATE-----\n")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_ciphers("DEFAULT:@SECLEVEL=0")  # the lab's 1024-bit keys (permissive_openssl_env)
    try:
        with socket.create_connection((address, port), timeout=0.5) as sock, \
                context.wrap_socket(sock) as tls:
            return tls.getpeercert(binary_form=True) == expected
    except OSError:
        return False
