"""dnsmasq as the internal and external DNS views, one instance per view per scenario (< 0.3 s to start)."""
from __future__ import annotations

import itertools
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import dns.message
import dns.query
import pytest

from tests.lab import DEAD, DNS_EXTERNAL, DNS_INTERNAL, Gate, Server, require_tool, stopped_after

_ports = itertools.count(5301)


@dataclass
class Zone:
    """Records of one view: A records, CNAMEs, SRVs (name, target, port, priority, weight)."""

    a: Dict[str, List[str]] = field(default_factory=dict)
    cname: Dict[str, str] = field(default_factory=dict)
    srv: List[Tuple[str, str, int, int, int]] = field(default_factory=list)
    domains: Tuple[str, ...] = ("todorovic.fr", "todorovic.adds")
    # Zones this view hosts (dnsmasq's authoritative mode: an SOA with the AA flag); `local` domains alone
    # answer their records but no SOA, like a resolver that does not host the zone.
    auth_zones: Tuple[str, ...] = ()

    def config(self, address: str, port: int, pid_file: Path) -> str:
        lines = [f"port={port}", f"listen-address={address}", "bind-interfaces", "no-resolv", "no-hosts",
                 "no-dhcp-interface=", f"pid-file={pid_file}", "user=root", "log-queries", "log-facility=-"]
        lines += [f"local=/{d}/" for d in self.domains]
        if self.auth_zones:
            lines.append(f"auth-server=ns.{self.auth_zones[0]},{address}")
            lines += [f"auth-zone={zone}" for zone in self.auth_zones]
        for name, addresses in self.a.items():
            lines += [f"host-record={name},{ip}" for ip in addresses]
        lines += [f"cname={name},{target}" for name, target in self.cname.items()]
        lines += [f"srv-host={name},{target},{port_},{prio},{weight}" for name, target, port_, prio, weight in self.srv]
        return "\n".join(lines) + "\n"


def failing_internal() -> Zone:
    """The tutorial's records with the mistake people make: _sip._tls published on 5060 (the TCP port)."""
    zone = good_internal()
    zone.srv = [(name, target, 5060, priority, weight) for name, target, _port, priority, weight in zone.srv]
    return zone


def good_internal() -> Zone:
    """The tutorial's records, right, in a zone for the SIP domain hosted by the internal DNS."""
    return Zone(a={"ocs.todorovic.adds": ["127.0.0.20"], "ocsdc1.todorovic.adds": ["127.0.0.2"]},
                cname={"sip.todorovic.fr": "ocs.todorovic.adds"},
                srv=[("_sip._tls.todorovic.fr", "sip.todorovic.fr", 5061, 0, 0)], auth_zones=("todorovic.fr",))


def good_external() -> Zone:
    """The public view of the tutorial's deployment: no Edge server, so no SIP record outside (only the
    domain's other public names, at a documentation-range address)."""
    return Zone(a={"www.todorovic.fr": ["203.0.113.80"]}, domains=("todorovic.fr",))


def edge_external() -> Zone:
    """The public view with an Access Edge (sip.todorovic.fr, 203.0.113.10): remote access on 443 and
    federation on 5061, as findings-2026-12 §4 lists them."""
    return Zone(a={"sip.todorovic.fr": ["203.0.113.10"], "www.todorovic.fr": ["203.0.113.80"]},
                srv=[("_sip._tls.todorovic.fr", "sip.todorovic.fr", 443, 0, 0),
                     ("_sipfederationtls._tcp.todorovic.fr", "sip.todorovic.fr", 5061, 0, 0)],
                domains=("todorovic.fr",))


def start_view(zone: Zone, address: str, workdir: Path, port: Optional[int] = None) -> Tuple[Server, int]:
    """Start dnsmasq serving ``zone`` on ``address``; returns the server and its port once it answers."""
    binary = require_tool("dnsmasq")
    port = port or next(_ports)
    workdir.mkdir(parents=True, exist_ok=True)
    conf = workdir / f"dnsmasq-{address}-{port}.conf"
    conf.write_text(zone.config(address, port, workdir / f"dnsmasq-{port}.pid"))
    server = Server(f"dnsmasq {address}:{port}", [binary, "--keep-in-foreground", f"--conf-file={conf}"],
                    workdir / f"dnsmasq-{port}.log")

    def answers() -> bool:
        try:
            dns.query.udp(dns.message.make_query("todorovic.fr", "SOA"), address, timeout=0.2, port=port)
            return True
        except Exception:
            return False

    server.ready(answers, timeout=10)
    return server, port


def start_good_lab(workdir: Path, internal_zone: Optional[Zone] = None) -> Tuple[Dict[str, Any], Callable[[], None]]:
    """Both views (the internal one ``internal_zone``, right by default) on the fixed port 5353: the site's
    [dns] overrides and a stop function."""
    internal, port = start_view(internal_zone or good_internal(), DNS_INTERNAL, workdir / "dns", 5353)
    external, ext_port = start_view(good_external(), DNS_EXTERNAL, workdir / "dns", 5353)

    def stop() -> None:
        internal.stop()
        external.stop()

    return {"dns": {"internal": [f"{DNS_INTERNAL}:{port}"], "external": [f"{DNS_EXTERNAL}:{ext_port}"]}}, stop


@pytest.fixture
def dns_views(tmp_path) -> Iterator[Callable[[Zone, Optional[Zone]], Dict[str, list]]]:
    """Factory: start the internal (and optionally external) view; returns the site's [dns] table."""
    started: List[Server] = []

    def start(internal: Zone, external: Optional[Zone] = None) -> Dict[str, list]:
        server, port = start_view(internal, DNS_INTERNAL, tmp_path / "dns")
        started.append(server)
        table = {"internal": [f"{DNS_INTERNAL}:{port}"]}
        if external is not None:
            ext, ext_port = start_view(external, DNS_EXTERNAL, tmp_path / "dns")
            started.append(ext)
            table["external"] = [f"{DNS_EXTERNAL}:{ext_port}"]
        return table

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def silent_resolver() -> Iterator[str]:
    """A UDP and TCP port that accepts queries and never answers (a hostile or hung resolver)."""
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((DEAD, 0))
    port = udp.getsockname()[1]
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((DEAD, port))
    tcp.listen(8)
    stop = threading.Event()

    def swallow() -> None:
        udp.settimeout(0.2)
        while not stop.is_set():
            try:
                udp.recvfrom(4096)
            except OSError:
                continue

    thread = threading.Thread(target=swallow, daemon=True)
    thread.start()
    yield f"{DEAD}:{port}"
    stop.set()
    thread.join(2)
    udp.close()
    tcp.close()


class GatedResolver:
    """A UDP relay in front of a resolver (``upstream`` "host:port", e.g. a dnsmasq view) that holds each
    query at a ``Gate`` until ``together`` different questions are in flight; ``asked`` lists them."""

    def __init__(self, upstream: str, together: int) -> None:
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host, int(port))
        self.gate = Gate(together)
        self.asked: List[Tuple[str, str]] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.sock.settimeout(0.2)
        self.endpoint = f"{host}:{self.sock.getsockname()[1]}"
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True, name=f"gated resolver {self.endpoint}")
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                query, client = self.sock.recvfrom(65535)
            except OSError:
                continue
            threading.Thread(target=self._relay, args=(query, client), daemon=True).start()

    def _relay(self, query: bytes, client: Tuple[str, int]) -> None:
        question = dns.message.from_wire(query).question[0]
        asked = (question.name.to_text(omit_final_dot=True), dns.rdatatype.to_text(question.rdtype))
        if asked not in self.asked:
            self.asked.append(asked)
        self.gate.pass_through(asked)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as upstream:
            upstream.settimeout(5)
            upstream.sendto(query, self.upstream)
            try:
                self.sock.sendto(upstream.recv(65535), client)
            except OSError:
                pass  # the client gave up, or the relay stopped

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(2)
        self.sock.close()


@pytest.fixture
def gated_resolver() -> Iterator[Callable[[str, int], GatedResolver]]:
    """Factory: ``gated_resolver("host:port", together)`` relays to that resolver; stopped after the test."""
    yield from stopped_after(GatedResolver)
