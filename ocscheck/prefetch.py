"""Facts fetched as soon as the site is known, before any check asks for them.

A check reads its facts one after another (iis.https-binding: the 443 handshake, the 5061 handshake,
then each web path; the AD checks: the RootDSE, then their lookup), so over a slow link its time is
the sum of those round trips, and with dead hosts the sum of their timeouts. Starting, at the beginning
of a live run, the facts that depend only on the site file lets them travel together: the checks then
find them fetched or under way (the store's single flight), a chain of dead hosts costs one timeout,
and the web paths share their round trips.

Only what the selected checks read, and only from the site file: the handshakes with the server on
its SIP and HTTPS ports, the web paths (when iis.https-binding runs), the site DC's RootDSE (which opens
its connection pool), the DC's repadmin links (when ad.replication runs) and the server host's system probe. Never in a replay. A prefetch that fails
is memoised like any fact, and the check that reads it reports it; a prefetch never raises.
"""
from __future__ import annotations

import threading
from typing import Callable, List, Sequence

from ocscheck.facts import Facts, FactUnavailable
from ocscheck.model import CheckSpec, Phase

Warmup = Callable[[], object]


def warmups(facts: Facts, phase: Phase, specs: Sequence[CheckSpec]) -> List[Warmup]:
    """The facts worth starting now for ``specs`` at ``facts.site``."""
    site = facts.site
    needs = {alt for spec in specs for need in spec.needs for alt in need.split("|")}
    ids = {spec.id for spec in specs}
    fqdn = site.deployment.server_fqdn
    found: List[Warmup] = []
    if "tls" in needs and phase is Phase.POST:
        found.append(lambda: facts.tls.handshake(fqdn, site.tls.sip_port))
    if "iis.https-binding" in ids:
        found.append(lambda: facts.tls.handshake(fqdn, site.tls.https_port))
        for path in site.tls.web_paths:
            found.append(lambda path=path: facts.http.web(fqdn, site.tls.https_port, path))
    if "ldap" in needs and site.ldap.url:
        found.append(lambda: facts.ldap.rootdse())
    if "ad.replication" in ids and (site.winrm_dc is not None or "dc" in facts.inputs.host_snapshots
                                    or facts.inputs.repadmin is not None):
        # The check reads the DC's LDAP, then its repadmin over WinRM, whatever the first answered.
        found.append(lambda: facts.host("dc").replication_links())
    if "winrm.server" in needs and (site.winrm_server is not None or "server" in facts.inputs.host_snapshots):
        found.append(lambda: facts.host("server").system())
    return found


# The network clients each source's fetchers load (ocscheck.facts.lazy), by need.
CLIENTS = {
    "ldap": ("ldap3", "ldap3.core.exceptions", "ldap3.protocol.microsoft", "ldap3.utils.conv"),
    "dns.internal": ("dns.resolver", "dns.nameserver"), "dns.external": ("dns.resolver", "dns.nameserver"),
    "tls": ("OpenSSL.SSL", "dns.resolver"), "sip": ("OpenSSL.SSL",), "http": ("urllib3", "requests"),
    "winrm.server": ("winrm.protocol", "requests"), "winrm.dc": ("winrm.protocol", "requests"),
}


def preload(specs: Sequence[CheckSpec]) -> None:
    """Import, one after the other in this thread, the network clients the selected checks' fetchers use.

    A replay never gets here. In a live run every fetcher imports its client at once on its first fetch:
    a dozen threads importing ldap3, requests, dnspython, pyOpenSSL and pywinrm together, serialised by
    the GIL and the import locks, took 0.8 s before the first dial to a DC could start (measured with
    bench/fact_timeline.py); one after the other they take less than half of that, and every dial then
    starts at once.
    """
    import importlib

    needs = {alt for spec in specs for need in spec.needs for alt in need.split("|")}
    for module in dict.fromkeys(m for need in sorted(needs) for m in CLIENTS.get(need, ())):
        try:
            importlib.import_module(module)
        except ImportError:
            pass  # an optional client (the fetcher that needs it says so when it runs)


def start(facts: Facts, phase: Phase, specs: Sequence[CheckSpec]) -> List[threading.Thread]:
    """Load the clients, then start every warm-up in a daemon thread of its own (they wait on the network)."""
    preload(specs)
    threads = []
    for number, warmup in enumerate(warmups(facts, phase, specs)):
        thread = threading.Thread(target=_quietly, args=(warmup,), daemon=True, name=f"prefetch {number}")
        thread.start()
        threads.append(thread)
    return threads


def _quietly(warmup: Warmup) -> None:
    try:
        warmup()
    except FactUnavailable:
        pass  # memoised: the check that reads the fact reports it
    except Exception:
        pass  # a fetcher bug: the store forgot the entry, and the check's own read reports the crash
