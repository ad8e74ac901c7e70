"""The test lab: real servers started on loopback addresses by pytest fixtures.

Address plan (127.0.0.0/8 only; the whole range is routed to ``lo``, also inside the
network namespace tests/run.sh creates):

    127.0.0.2   Samba AD DC 1 (ocsdc1.todorovic.adds)     LDAP ports are fixed: one address per DC
    127.0.0.3   Samba AD DC 2 (ocsdc2.todorovic.adds), joined to DC 1 for replication scenarios
    127.0.0.4   Samba AD DC of a second forest at functional level 2003, never prepared
    127.0.0.5   throw-away Samba AD DC for the bulk-user (paged search) scenarios
    127.0.0.20  the OCS server (ocs.todorovic.adds): Kamailio TLS 5061, nginx HTTPS 443
    127.0.0.21  a second TLS host for scenarios needing another certificate
    127.0.0.30  WS-Management (WinRM) test endpoint
    127.0.0.40  CRL distribution point (nginx, HTTP 80)
    127.0.0.53  dnsmasq, internal view          127.0.0.54  dnsmasq, external view
    127.0.0.60  blackholed address (nftables drop) / nothing listening
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Sequence, TypeVar

import pytest

T = TypeVar("T")

DC1, DC2 = "127.0.0.2", "127.0.0.3"
OCS = "127.0.0.20"
OCS_ALT = "127.0.0.21"
WINRM = "127.0.0.30"
CRL_HOST = "127.0.0.40"
DNS_INTERNAL, DNS_EXTERNAL = "127.0.0.53", "127.0.0.54"
DEAD = "127.0.0.60"

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


class Gate:
    """Holds what passes (a connection, a query) until ``count`` different ones have arrived, then lets
    everything through.

    A client asking one thing only after another's answer stalls at the gate: each holder gives up after
    ``wait`` seconds and passes anyway, and ``held_apart`` records it. So a test proves requests were in
    flight together by their outcome and ``held_apart``, not by timing them. ``key``: what makes two
    arrivals the same one (a resolver's retry of a query), counted once."""

    def __init__(self, count: int, wait: float = 5.0) -> None:
        self.count, self.wait = count, wait
        self.arrived: List[object] = []
        self.held_apart = False
        self._lock = threading.Lock()
        self._open = threading.Event()

    def pass_through(self, key: object = None) -> None:
        with self._lock:
            if key is None or key not in self.arrived:
                self.arrived.append(object() if key is None else key)
            if len(self.arrived) >= self.count:
                self._open.set()
        if not self._open.wait(self.wait):
            self.held_apart = True

    @property
    def opened(self) -> bool:
        return self._open.is_set()


def stopped_after(make: Callable[..., "T"]) -> Iterator[Callable[..., "T"]]:
    """A fixture's body for a factory of lab servers: yields ``make`` (each server it makes is kept), then
    stops them all after the test: ``yield from stopped_after(GatedCrls)``."""
    made: List = []

    def start(*args, **kwargs):  # type: ignore[no-untyped-def]
        made.append(make(*args, **kwargs))
        return made[-1]

    yield start
    for server in made:
        server.stop()


def unavailable(message: str) -> None:
    """A lab server could not start: fail under CI=true, skip on a developer's machine."""
    if IN_CI:
        pytest.fail(f"lab server unavailable (CI=true): {message}", pytrace=False)
    pytest.skip(f"lab server unavailable: {message}")


def require_tool(name: str, *extra_dirs: str) -> str:
    path = shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin",
                                                    *extra_dirs]))
    if not path:
        unavailable(f"{name} is not installed (tests/run.sh installs the lab's Debian packages)")
    return path  # type: ignore[return-value]


def require_root() -> None:
    if os.geteuid() != 0:
        unavailable("this server needs root (privileged port); run the suite with tests/run.sh as root")


def wait_for_port(host: str, port: int, timeout: float = 10.0, proc: Optional[subprocess.Popen] = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Server:
    """A lab process with its log; stopped with SIGTERM (then SIGKILL) by ``stop``."""

    def __init__(self, name: str, argv: Sequence[str], log: Path, cwd: Optional[Path] = None,
                 env: Optional[dict] = None):
        self.name = name
        self.argv = list(argv)
        self.log_path = log
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log, "ab")
        self.proc = subprocess.Popen(self.argv, stdout=self._log, stderr=subprocess.STDOUT, cwd=cwd,
                                     env=env, start_new_session=True)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def ready(self, probe: Callable[[], bool], timeout: float = 15.0) -> None:
        """Wait for ``probe`` to be true; on failure stop the process and report it unavailable."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if probe():
                return
            time.sleep(0.05)
        self.stop()
        unavailable(f"{self.name} did not become ready (exit {self.proc.returncode}); log:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        # Its children too (Kamailio's TCP workers hold the listening socket): the next test's server binds the
        # same address and port, and a dying child still accepting would answer its first connections.
        deadline = time.monotonic() + 5
        while self._group_running() and time.monotonic() < deadline:
            time.sleep(0.02)
        if self._group_running():
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()

    def _group_running(self) -> bool:
        """Whether a process of this server's process group still runs (a zombie holds no socket)."""
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                state, _ppid, group = stat.read_text().rsplit(")", 1)[1].split()[:3]
            except (OSError, ValueError):
                continue  # gone meanwhile
            if int(group) == self.proc.pid and state != "Z":
                return True
        return False


def run(argv: List[str], timeout: float = 60.0, **kwargs) -> subprocess.CompletedProcess:
    """Run a lab set-up command; its failure makes the lab unavailable with the command's output."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)
    except (OSError, subprocess.TimeoutExpired) as exc:
        unavailable(f"{argv[0]} failed: {exc}")
    if done.returncode != 0:
        unavailable(f"{' '.join(argv[:4])} … exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done


@contextmanager
def blackhole(table: str, address: str = DEAD, ports: Sequence[int] = ()) -> Iterator[None]:
    """Silently drop TCP to ``address`` (only ``ports`` if given) in the input hook, with nftables table ``table``.

    Connects then get no answer at all, like a filtered port or a dead host; deleting the table restores.
    """
    require_root()
    nft = require_tool("nft")
    run([nft, "add", "table", "inet", table])
    try:
        run([nft, "add", "chain", "inet", table, "in", "{ type filter hook input priority 0; policy accept; }"])
        match = ["tcp", "dport", "{ " + ", ".join(str(p) for p in ports) + " }"] if ports else ["meta", "l4proto", "tcp"]
        run([nft, "add", "rule", "inet", table, "in", "ip", "daddr", address, *match, "drop"])
        yield
    finally:
        subprocess.run([nft, "delete", "table", "inet", table], check=False, capture_output=True)
