"""How to run a post's independent LDAP lookups together over a slow link (issue 11): ocscheck's pool of K SYNC
connections dialled at once, or ldap3's ASYNC strategy (several operations in flight on one connection). As root:

    bash bench/netns.sh .venv/bin/python bench/bench_ldap_pool.py [--delay 0.1] [--lookups 24] [--runs 3]

Starts the good Samba lab (LDAPS on 127.0.0.2) behind the delay proxy (bench/delay_proxy.py), then times, from
the first dial to the last answer, what a post does: the RootDSE, then ``--lookups`` base searches issued by as
many threads at once.
"""
from __future__ import annotations

import argparse
import math
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List

import ldap3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_latency import SOURCE, delay_off, delay_on, proxy_address  # noqa: E402
from ocscheck.config import LdapSettings  # noqa: E402
from ocscheck.facts.ldap.connection import DcConnections  # noqa: E402
from tests.lab import samba  # noqa: E402

DC = ("127.0.0.2", 636)
URL = f"ldaps://{DC[0]}"


def async_connection(ca: str, timeout: float = 10.0) -> ldap3.Connection:
    """Opened and bound as facts.ldap.connection does, with ldap3's ASYNC strategy."""
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=ca)
    server = ldap3.Server(DC[0], port=DC[1], use_ssl=True, tls=tls, get_info=ldap3.NONE, connect_timeout=timeout)
    conn = ldap3.Connection(server, f"{samba.READER}@{samba.DOMAIN}", samba.READER_PASSWORD,
                            client_strategy=ldap3.ASYNC, receive_timeout=math.ceil(timeout), raise_exceptions=False)
    conn.open()
    conn.bind()
    return conn


def bases(count: int) -> List[str]:
    known = list(samba.NAMING_CONTEXTS) + list(samba.DOMAIN_PREP_TARGETS)
    return [known[i % len(known)] for i in range(count)]


FAILED: List[str] = []  # what went wrong, per scenario (a bench prints, it does not stop)


def threads(calls: List[Callable[[], None]]) -> None:
    def guarded(call: Callable[[], None]) -> None:
        try:
            call()
        except Exception as exc:
            FAILED.append(f"{type(exc).__name__}: {str(exc)[:100]}")

    started = [threading.Thread(target=guarded, args=(call,)) for call in calls]
    for thread in started:
        thread.start()
    for thread in started:
        thread.join()


def sync_pool(ca: str, size: int, lookups: int) -> float:
    """ocscheck's pool (facts.ldap.connection) of ``size`` SYNC connections: the first caller dials them all,
    the others bind once the first has; each lookup takes a free one."""
    dcs = DcConnections(LdapSettings(url=URL, user=f"{samba.READER}@{samba.DOMAIN}"), Path(ca), 10.0,
                        lambda: samba.READER_PASSWORD)
    dcs.expect(size, URL)
    began = time.monotonic()
    dcs.search(URL, "", "(objectClass=*)", ldap3.BASE, ("namingContexts",))
    threads([lambda base=base: dcs.search(URL, base, "(objectClass=*)", ldap3.BASE, ("objectClass",))
             for base in bases(lookups)])
    elapsed = time.monotonic() - began
    dcs.close()
    return elapsed


def async_pipelined(ca: str, size: int, lookups: int) -> float:
    """``size`` ASYNC connections dialled together; the lookups share them, all in flight at once."""
    began = time.monotonic()
    conns: List[ldap3.Connection] = []
    threads([lambda: conns.append(async_connection(ca)) for _ in range(size)])

    def lookup(index: int, base: str) -> None:
        conn = conns[index % len(conns)]
        _, result = conn.get_response(conn.search(base, "(objectClass=*)", ldap3.BASE,
                                                         attributes=["objectClass"]), timeout=10)
        assert result["result"] == 0, result

    if conns:
        lookup(0, "")
        threads([lambda i=i, base=base: lookup(i, base) for i, base in enumerate(bases(lookups))])
    elapsed = time.monotonic() - began
    for conn in conns:
        conn.unbind()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--lookups", type=int, default=24)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ocscheck-bench-ldap-") as tmp:
        site, stop = samba.start_good_lab(Path(tmp) / "ad")
        ca = str(site["tls"]["ca_bundle"])
        proxy = subprocess.Popen([sys.executable, str(Path(__file__).with_name("delay_proxy.py")), "--delay",
                                  str(args.delay), "--source", SOURCE,
                                  f"tcp:{proxy_address(DC[0])}:{DC[1]}={DC[0]}:{DC[1]}"],
                                 stdout=subprocess.PIPE, text=True)
        try:
            assert proxy.stdout is not None and proxy.stdout.readline().strip() == "ready"
            delay_on([("tcp", *DC)])
            scenarios: Dict[str, Callable[[], float]] = {}
            for size in (4, 8, 12, 16, args.lookups):
                scenarios[f"SYNC pool of {size}"] = lambda s=size: sync_pool(ca, s, args.lookups)
            for size in (1, 2, 4):
                scenarios[f"ASYNC x{size}, pipelined"] = lambda s=size: async_pipelined(ca, s, args.lookups)
            print(f"the RootDSE, then {args.lookups} base searches, {args.delay * 1000:.0f} ms one way; "
                  f"median of {args.runs}")
            for name, scenario in scenarios.items():
                FAILED.clear()
                seconds = statistics.median(scenario() for _ in range(args.runs))
                failed = f"   {len(FAILED)} failed: {FAILED[0]}" if FAILED else ""
                print(f"  {name:<40} {seconds:5.2f} s{failed}", flush=True)
        finally:
            delay_off()
            proxy.terminate()
            proxy.wait()
            stop()


if __name__ == "__main__":
    main()
