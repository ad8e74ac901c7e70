"""The site's LDAP password never goes to an LDAP host named by a certificate's CDP.

A CDP URL comes from a certificate that is being judged, not trusted: a hostile LDAPS server with a
certificate the site trusts (a public one, in real life) must only ever see an anonymous bind.
"""
from __future__ import annotations

import socket
import ssl
import threading

from ocscheck.api import RunSetup
from ocscheck.facts.store import FactUnavailable
from tests.helpers import make_site
from tests.lab.pki import Pki, write_server_files

PASSWORD = "Site-Ldap-S3cret"


def test_explicit_ldap_cdp_host_gets_an_anonymous_bind_only(tmp_path):
    pki = Pki(tag="crlsecret")
    leaf = pki.leaf(cn="localhost", sans=("localhost",))
    cert, key = write_server_files(leaf, [pki.issuing], tmp_path, "hostile")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    received = bytearray()

    def serve() -> None:
        listener.settimeout(5)
        try:
            conn, _ = listener.accept()
            with context.wrap_socket(conn, server_side=True) as tls:
                tls.settimeout(2)
                while True:
                    chunk = tls.recv(4096)  # the client's first LDAP message (its bind) is all we need
                    if not chunk:
                        break
                    received.extend(chunk)
                    break
        except OSError:
            pass
        finally:
            listener.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    site = make_site({"ldap": {"url": "ldaps://ocsdc1.todorovic.adds", "user": "ocsreader@todorovic.adds",
                               "password_env": "LDAP_PW"},
                      "tls": {"ca_bundle": str(pki.bundle(tmp_path / "ca.pem"))}, "run": {"timeout": 2.0}})
    facts = RunSetup(site, "post", environ={"LDAP_PW": PASSWORD}).facts
    try:
        facts.http.crl(f"ldaps://localhost:{port}/CN=Evil%20CA,CN=CDP?certificateRevocationList?base")
    except FactUnavailable:
        pass  # the hostile server answers nothing useful: what matters is what it was sent
    thread.join(5)
    assert received, "the LDAP client never sent its bind"
    assert PASSWORD.encode() not in bytes(received)
    assert b"ocsreader" not in bytes(received)
