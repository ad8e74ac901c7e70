"""The WS-Management test endpoint (server.py) as a lab server on 127.0.0.30.

``WinrmEndpoint`` runs server.py in its own process (pyspnego's NTLM acceptor reads its users from
the NTLM_USER_FILE environment variable, which stays in that process); a test switches scenario
with ``set_scenario`` (a JSON file the endpoint re-reads at each command).
"""
from __future__ import annotations

import gc
import json
import os
import sys
import threading
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from tests.lab import WINRM, Server, wait_for_port
from tests.winrm_endpoint import scenarios

ROOT = Path(__file__).resolve().parent.parent.parent
USER, PASSWORD = "Administrator", "Ocs-Lab-Passw0rd!"
DOMAIN = "TODOROVIC"
PASSWORD_ENV = "OCSCHECK_WINRM_PASSWORD"


class WinrmEndpoint:
    def __init__(self, workdir: Path, address: str = WINRM, port: int = 5985,
                 tls: Optional[Tuple[Path, Path]] = None, client_ca: Optional[Path] = None):
        """``tls`` = (certificate chain, key) PEM files makes it the https listener; ``client_ca`` lets it
        accept client certificates of that CA (transport = certificate)."""
        self.dir = Path(workdir)
        self.scheme = "https" if tls else "http"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.address, self.port = address, port
        (self.dir / "users").write_text(f"{DOMAIN}:{USER}:{PASSWORD}\n")
        self.set_scenario(scenarios.ready_host())
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        argv = [sys.executable, "-m", "tests.winrm_endpoint.server", "--address", address, "--port", str(port),
                "--state", str(self.dir)]
        if tls:
            argv += ["--certfile", str(tls[0]), "--keyfile", str(tls[1])]
        if client_ca:
            argv += ["--client-ca", str(client_ca)]
        self.server = Server("winrm-endpoint", argv, self.dir / "endpoint.log", cwd=ROOT, env=env)
        self.server.ready(lambda: wait_for_port(address, port, timeout=0.2), timeout=15)

    def set_scenario(self, host: Dict[str, object], mode: str = "normal", auth: str = "ntlm",
                     delays: Optional[Dict[str, float]] = None, throws: Optional[Dict[str, str]] = None) -> None:
        """Answer ``host``'s outputs; ``mode`` 401, 500 or hang; ``delays`` seconds before a probe's output;
        ``throws``: the exception a PowerShell probe throws instead (it ends the script that runs it)."""
        outputs = scenarios.endpoint_outputs(host)
        for probe, seconds in (delays or {}).items():
            outputs[probe]["delay"] = seconds
        for probe, message in (throws or {}).items():
            outputs[probe]["throws"] = message
        document = {"mode": mode, "auth": auth, "outputs": outputs}
        tmp = self.dir / "scenario.json.tmp"
        tmp.write_text(json.dumps(document))
        tmp.replace(self.dir / "scenario.json")

    def requests(self) -> List[dict]:
        path = self.dir / "requests.log"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def connections(self) -> List[dict]:
        """The connections that have ended: client port and requests carried, in the order they ended."""
        path = self.dir / "connections.log"
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []

    def clear_requests(self) -> None:
        (self.dir / "requests.log").unlink(missing_ok=True)
        (self.dir / "connections.log").unlink(missing_ok=True)

    def site_overrides(self, role: str = "server", transport: str = "ntlm") -> Dict[str, object]:
        return {"winrm": {role: {"host": self.address, "port": self.port, "scheme": self.scheme,
                                 "transport": transport, "user": f"{DOMAIN}\\{USER}",
                                 "password_env": PASSWORD_ENV}}}

    def stop(self) -> None:
        self.server.stop()


def start_good_lab(workdir: Path, thumbprint: str = scenarios.OCS_THUMBPRINT
                   ) -> Tuple[Dict[str, object], Callable[[], None]]:
    """The "everything right" WinRM host for the bundled example: a ready 2008 R2 OCS server on
    127.0.0.30:5985 (NTLM, message encryption) that is also the DC answering dcdiag/repadmin with the
    tutorial's names (ocsdc1/ocsdc2, todorovic.adds, replicated ten minutes ago).

    ``thumbprint``: the SHA-1 (hex) of the certificate the lab serves on 5061/443, which netsh reports
    bound to 0.0.0.0:443. Returns the site-file overrides ([winrm.server] and [winrm.dc]) and the
    function stopping it; the password (``PASSWORD``) must be in the environment variable ``PASSWORD_ENV``.
    """
    endpoint = WinrmEndpoint(Path(workdir))
    endpoint.set_scenario(scenarios.tutorial_host(thumbprint))
    overrides = {"winrm": {**endpoint.site_overrides("server")["winrm"],  # type: ignore[dict-item]
                           **endpoint.site_overrides("dc")["winrm"]}}  # type: ignore[dict-item]
    return overrides, endpoint.stop


def start_failing_lab(workdir: Path, thumbprint: str = scenarios.OCS_THUMBPRINT
                      ) -> Tuple[Dict[str, object], Callable[[], None]]:
    """start_good_lab with the mistakes the failing example shows: KB974571 installed before setup, the
    Front End (RtcSrv) stopped, and DC1 failing to replicate the domain partition from DC2 for three days."""
    endpoint = WinrmEndpoint(Path(workdir))
    endpoint.set_scenario(scenarios.failing_tutorial_host(thumbprint))
    overrides = {"winrm": {**endpoint.site_overrides("server")["winrm"],  # type: ignore[dict-item]
                           **endpoint.site_overrides("dc")["winrm"]}}  # type: ignore[dict-item]
    return overrides, endpoint.stop


def env() -> Dict[str, str]:
    return {PASSWORD_ENV: PASSWORD}


@pytest.fixture(scope="module")
def winrm_endpoint(tmp_path_factory) -> Iterator[WinrmEndpoint]:
    """The endpoint for a test module, back on the ready scenario before each use by the caller."""
    endpoint = WinrmEndpoint(tmp_path_factory.mktemp("winrm"))
    yield endpoint
    endpoint.stop()


def release_runs() -> None:
    """Let the runner's check threads end, then collect: the runs' facts go, their shells are deleted."""
    for thread in threading.enumerate():
        if thread.name.startswith("check "):
            thread.join(5)
    gc.collect()


@pytest.fixture
def endpoint(winrm_endpoint: WinrmEndpoint) -> WinrmEndpoint:
    """The module's endpoint answering as a ready host, with no shell of an earlier test left and no request."""
    winrm_endpoint.set_scenario(scenarios.ready_host())
    release_runs()  # earlier runs' shells are deleted now, not during this test
    winrm_endpoint.clear_requests()
    return winrm_endpoint


def judge_variant(endpoint: WinrmEndpoint, variant: str, phase: str, ids=("host.*",), overrides=None, **kwargs):
    """Outcomes by id of ``ids`` run against ``endpoint`` answering as the scenario ``variant``."""
    from tests.helpers import judge, make_site

    endpoint.set_scenario(scenarios.variant(variant))
    site = make_site({**endpoint.site_overrides("server"), **(overrides or {})})
    return judge(site, list(ids), phase, env=env(), **kwargs)
