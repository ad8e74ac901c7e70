"""Facts fetched as soon as the site is known, before any check asks for them.

A check reads its facts one after another (iis.https-binding: the 443 handshake, the 5061 handshake,
then each web path; the AD checks: the RootDSE, then their lookup), so over a slow link its time is
the sum of those round trips, and with dead hosts the sum of their timeouts. Starting, at the beginning
of a live run, the facts that depend only on the site file lets them travel together: the checks then
find them fetched or under way (the store's single flight), a chain of dead hosts costs one timeout,
and the web paths share their round trips.

Only what the selected checks read, and only from the site file (or from a fact fetched here first: a
warm-up may fetch one fact, then start the facts that need it with ``fan_out``). One function per
source below, each returning its warm-ups. Never in a replay. A prefetch that fails is memoised like
any fact, and the check that reads it reports it; a prefetch never raises.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, FrozenSet, List, Sequence

from ocscheck.facts import Facts, FactUnavailable
from ocscheck.model import CheckSpec, Phase

Warmup = Callable[[], object]


@dataclass(frozen=True)
class Plan:
    """What a run will read: its facts, phase, the selected checks' ids and needs."""
    facts: Facts
    phase: Phase
    ids: FrozenSet[str]
    needs: FrozenSet[str]

    @classmethod
    def of(cls, facts: Facts, phase: Phase, specs: Sequence[CheckSpec]) -> "Plan":
        return cls(facts, phase, frozenset(spec.id for spec in specs),
                   frozenset(alt for spec in specs for need in spec.needs for alt in need.split("|")))


def _tls(plan: Plan) -> List[Warmup]:
    facts, site = plan.facts, plan.facts.site
    fqdn = site.deployment.server_fqdn
    found: List[Warmup] = []
    if "tls" in plan.needs and plan.phase is Phase.POST:
        found.append(lambda: facts.tls.handshake(fqdn, site.tls.sip_port))
    if "iis.https-binding" in plan.ids:
        found.append(lambda: facts.tls.handshake(fqdn, site.tls.https_port))
        for path in site.tls.web_paths:
            found.append(lambda path=path: facts.http.web(fqdn, site.tls.https_port, path))
    return found


def _ldap(plan: Plan) -> List[Warmup]:
    """The RootDSE of every DC the site names (each dial opens that DC's pool), then every lookup the selected
    checks read there whose key the site file and that RootDSE give: they all travel together, instead of one
    check's lookups one after the other once that check has read the RootDSE."""
    facts, ids = plan.facts, plan.ids
    if "ldap" not in plan.needs or not facts.site.ldap.url:
        return []
    ldap = facts.ldap

    def lookups() -> None:
        from ocscheck.checks.ad.prep import domain_prep_targets

        dse = ldap.rootdse()
        found: List[Warmup] = []
        if ids & {"ad.schema-prep", "ad.prep-replicated"}:
            found.append(ldap.schema_version)
        if ids & {"ad.forest-prep", "ad.sip-domain", "ad.pool", "ad.prep-replicated", "users.sip"}:
            found.append(ldap.rtc_objects)
        if ids & {"ad.forest-prep", "ad.domain-prep"}:
            found.append(ldap.rtc_groups)
        if "ad.domain-prep" in ids:
            found += [lambda dn=dn: ldap.dacl(dn) for dn in domain_prep_targets(dse.default_nc)]
        if "ad.service-accounts" in ids:
            found.append(ldap.domain_policy)
            found += [lambda name=name: ldap.account(name) for name in facts.site.ldap.service_accounts]
        if "ad.prep-replicated" in ids:
            found.append(ldap.domain_controllers)
        if "ad.replication" in ids:
            found.append(ldap.replication_state)
        if "users.sip" in ids:
            found.append(ldap.sip_users)
        if "cert.ca-published" in ids:
            found.append(ldap.published_cas)
        fan_out(found)

    def other_dc(url: str) -> None:
        ldap.rootdse(url)
        if "ad.prep-replicated" in ids:  # what it reads of that DC (ad.replication's comes with replication_state)
            fan_out([lambda: ldap.schema_version(url), lambda: ldap.rtc_objects(url)])

    others = [url for url in facts.site.ldap.replication_dcs if url.rstrip("/") != ldap.url]
    return [lookups] + [lambda url=url: other_dc(url) for url in others]


def _hosts(plan: Plan) -> List[Warmup]:
    facts, site = plan.facts, plan.facts.site
    found: List[Warmup] = []
    if "ad.replication" in plan.ids and (site.winrm_dc is not None or "dc" in facts.inputs.host_snapshots
                                         or facts.inputs.repadmin is not None):
        # The check reads the DC's LDAP, then its repadmin over WinRM, whatever the first answered.
        found.append(lambda: facts.host("dc").replication_links())
    if "winrm.server" in plan.needs and (site.winrm_server is not None or "server" in facts.inputs.host_snapshots):
        found.append(lambda: facts.host("server").system())
    return found


SOURCES: Sequence[Callable[[Plan], List[Warmup]]] = (_hosts, _ldap, _tls)


def warmups(facts: Facts, phase: Phase, specs: Sequence[CheckSpec]) -> List[Warmup]:
    """The facts worth starting now for ``specs`` at ``facts.site``."""
    plan = Plan.of(facts, phase, specs)
    return [warmup for source in SOURCES for warmup in source(plan)]


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
    return fan_out(warmups(facts, phase, specs))


def fan_out(calls: Sequence[Warmup]) -> List[threading.Thread]:
    """Start each call in a daemon thread of its own (they wait on the network); failures stay memoised."""
    threads = []
    for call in calls:
        thread = threading.Thread(target=_quietly, args=(call,), daemon=True, name="prefetch")
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
