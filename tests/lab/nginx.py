"""nginx as the CRL distribution point (HTTP on 127.0.0.40:80) and as IIS's HTTPS binding (443).

IIS publishes the OCS web components behind Windows authentication: an anonymous GET answers 401
with ``WWW-Authenticate: Negotiate`` / ``NTLM``. nginx gives the same answer for the paths a
scenario says are present and 404 for everything else, over a real TLS listener.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from tests.lab import CRL_HOST, Server, require_root, require_tool, wait_for_port
from tests.lab.pki import permissive_openssl_env

# The internal virtual directories the OCS front end publishes (reference: IIS, post-install).
WEB_COMPONENTS = ("/ABS/int/Handler", "/AutoUpdate/Int", "/Conf/Int", "/DeviceUpdateFiles_Int", "/etc/place/null",
                  "/GroupExpansion/int/service.asmx", "/PhoneConferencing/Int")


@dataclass(frozen=True)
class HttpsSite:
    """One TLS listener standing in for IIS's Default Web Site binding."""

    address: str
    port: int
    cert: Path                       # leaf then chain, PEM
    key: Path
    present: Sequence[str] = WEB_COMPONENTS
    tls10_only: bool = False         # IIS 7.5's default on Windows Server 2008 R2

    def block(self) -> str:
        legacy = "    ssl_protocols TLSv1;\n    ssl_ciphers ALL:@SECLEVEL=0;\n" if self.tls10_only else ""
        locations = "".join(
            f"    location ^~ {path} {{ add_header WWW-Authenticate Negotiate always;"
            f" add_header WWW-Authenticate NTLM always; return 401; }}\n" for path in self.present)
        return (f"  server {{\n    listen {self.address}:{self.port} ssl;\n    ssl_certificate {self.cert};\n"
                f"    ssl_certificate_key {self.key};\n{legacy}{locations}    location / {{ return 404; }}\n  }}\n")


def config(workdir: Path, crl_dir: Path, https: Sequence[HttpsSite]) -> str:
    temp = "".join(f"  {kind}_temp_path {workdir}/{kind};\n" for kind in
                   ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    # `user root`: the lab's files live in pytest's private (mode 0700) temporary directories.
    return (f"user root;\nworker_processes 1;\npid {workdir}/nginx.pid;\nerror_log {workdir}/error.log info;\n"
            f"events {{ worker_connections 64; }}\n"
            f"http {{\n  access_log {workdir}/access.log;\n{temp}  default_type application/octet-stream;\n"
            f"  types {{ application/pkix-crl crl; }}\n"
            f"  server {{\n    listen {CRL_HOST}:80;\n    location /crl/ {{ alias {crl_dir}/; }}\n"
            f"    location / {{ return 404; }}\n  }}\n"
            + "".join(site.block() for site in https) + "}\n")


def start_nginx(workdir: Path, crl_dir: Path, https: Sequence[HttpsSite] = ()) -> Server:
    """nginx serving ``crl_dir`` under http://127.0.0.40/crl/ and the ``https`` listeners; ready when all listen."""
    require_root()
    binary = require_tool("nginx")
    workdir.mkdir(parents=True, exist_ok=True)
    crl_dir.mkdir(parents=True, exist_ok=True)
    conf = workdir / "nginx.conf"
    conf.write_text(config(workdir, crl_dir, https))
    server = Server("nginx", [binary, "-p", str(workdir), "-c", str(conf), "-g", "daemon off;"],
                    workdir / "nginx.out", env=permissive_openssl_env(workdir))
    listeners = [(CRL_HOST, 80)] + [(site.address, site.port) for site in https]
    server.ready(lambda: all(wait_for_port(host, port, 0.2) for host, port in listeners), timeout=10)
    return server
