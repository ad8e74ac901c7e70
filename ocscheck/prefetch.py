"""Facts fetched as soon as the site is known, before any check asks for them.

A check reads its facts one after another (iis.https-binding: the 443 handshake, the 5061 handshake,
then each web path; the AD checks: the RootDSE, then their lookup), so over a slow link its time is
the sum of those round trips, and with dead hosts the sum of their timeouts. Starting, at the beginning
of a live run, the facts that depend only on the site file lets them travel together: the checks then
find them fetched or under way (the store's single flight), a chain of dead hosts costs one timeout,
and the web paths share their round trips.

Only what the selected checks read, and only from the site file (or from a fact fetched here first: a
warm-up may fetch one fact, then start the facts that need it with ``background.start``). One function per
source below, each returning its warm-ups. Never in a replay. A prefetch that fails is memoised like
any fact, and the check that reads it reports it; a prefetch never raises.
"""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, FrozenSet, Iterable, List, Sequence, Tuple

from ocscheck.context import CheckContext
from ocscheck.facts import Facts, background
from ocscheck.model import CheckSpec, Phase

Warmup = Callable[[], object]


@dataclass(frozen=True)
class Plan:
    """What a run will read: its facts, phase and selected checks."""
    facts: Facts
    phase: Phase
    specs: Tuple[CheckSpec, ...]

    @cached_property
    def ids(self) -> FrozenSet[str]:
        return frozenset(spec.id for spec in self.specs)

    @cached_property
    def needs(self) -> FrozenSet[str]:
        return frozenset().union(*(spec.sources for spec in self.specs))


def _tls(plan: Plan) -> List[Warmup]:
    facts, site = plan.facts, plan.facts.site
    fqdn = site.deployment.server_fqdn
    found: List[Warmup] = []
    if "tls" in plan.needs and plan.phase is Phase.POST:
        found.append(lambda: facts.tls.handshake(fqdn, site.tls.sip_port))
    if "cert.revocation" in plan.ids:
        found.append(lambda: facts.http.start_crls(_chain_crl_urls(plan)))
    if plan.ids & {"sip.tls", "sip.options"}:
        found.append(lambda: background.start(facts.store, _sip_listeners(plan)))
    if "sip.options" in plan.ids:
        facts.tls.keep_sessions(site.tls.sip_port)  # before any handshake: OPTIONS goes over one of them
    if "iis.https-binding" in plan.ids:
        found.append(lambda: facts.tls.handshake(fqdn, site.tls.https_port))
        for path in site.tls.web_paths:
            found.append(lambda path=path: facts.http.web(fqdn, site.tls.https_port, path))
    return found


def _chain_crl_urls(plan: Plan) -> List[str]:
    """The CRL URLs of the certificate cert.revocation judges (post-install: right after the 5061 handshake)."""
    from ocscheck.checks.cert.revocation import crl_urls
    from ocscheck.checks.cert.source import subject_certificate, trusted_path

    ctx = CheckContext(plan.facts.site, plan.facts, plan.phase)
    return crl_urls(trusted_path(ctx, subject_certificate(ctx)))


def _sip_listeners(plan: Plan) -> List[Warmup]:
    """Once the _sip._tls SRV targets are known (as sip.tls finds them): each target's handshake, then, when
    sip.options runs, its OPTIONS over the same connection — not when sip.tls fails the handshake (then
    sip.options is skipped, and a run records only what its checks read)."""
    from ocscheck.checks.sip import carries_name, sip_targets

    facts, port = plan.facts, plan.facts.site.tls.sip_port

    def listener(target: str) -> None:
        handshake = facts.tls.handshake(target, port)  # raises when it fails
        if "sip.options" in plan.ids and carries_name(handshake, target):
            facts.sip.options(target, port)

    targets = [target for target, _how in sip_targets(CheckContext(facts.site, facts, plan.phase))]
    return [lambda target=target: listener(target) for target in targets]


def _dns(plan: Plan) -> List[Warmup]:
    """The DNS queries the selected checks read first, known from the site file, asked together; the SRV
    targets' A records follow with their handshakes (_tls)."""
    from ocscheck.checks import dns, dns_external

    facts, site = plan.facts, plan.facts.site
    tables = {**dns.QUERIES, **dns_external.QUERIES}
    queries = [query for check_id, of in tables.items() if check_id in plan.ids for query in of(site)]
    found: List[Warmup] = [lambda: facts.dns.start(queries)] if queries else []
    if "dns.sip-zone" in plan.ids:
        found += [lambda domain=domain: facts.dns.zone("internal", domain) for domain in site.deployment.sip_domains]
    return found


def _ldap(plan: Plan) -> List[Warmup]:
    """The RootDSE of every DC the site names (each dial opens that DC's pool), then every lookup the selected
    checks read there whose key the site file and that RootDSE give: they all travel together, instead of one
    check's lookups one after the other once that check has read the RootDSE."""
    facts, ids = plan.facts, plan.ids
    if "ldap" not in plan.needs or not facts.site.ldap.url:
        return []
    ldap = facts.ldap
    # About two searches in flight per check reading the directory once the RootDSE is in (a full post: 23),
    # one for a check alone: each bind on a Windows DC is a logon event, none is dialled for nothing.
    readers = sum(1 for spec in plan.specs if "ldap" in spec.sources)
    ldap.expect(2 * readers - 1)
    # Another DC (replication_dcs) is read for ad.prep-replicated (its schema version and both RTC partitions)
    # and ad.replication (repsFrom of its naming contexts: five in a forest with its DNS partitions).
    other_searches = 3 * ("ad.prep-replicated" in ids) + 5 * ("ad.replication" in ids)
    others = [url for url in facts.site.ldap.replication_dcs if url.rstrip("/") != ldap.url and other_searches]
    for url in others:
        ldap.expect(other_searches, url)

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
        background.start(facts.store, found)

    def other_dc(url: str) -> None:
        ldap.rootdse(url)
        if "ad.prep-replicated" in ids:  # what it reads of that DC (ad.replication's comes with replication_state)
            background.start(facts.store, [lambda: ldap.schema_version(url), lambda: ldap.rtc_objects(url)])

    return [lookups] + [lambda url=url: other_dc(url) for url in others]


def _hosts(plan: Plan) -> List[Warmup]:
    """Each WinRM host's probes that the selected checks declare (``@reads``), planned now (before any check
    can read one) and sent together by the warm-up: one chain of round trips per host."""
    from ocscheck.collector import host_reads

    wanted: dict[str, set[str]] = {}
    for spec in plan.specs:
        for role, probes in host_reads(spec.func, plan.phase.value).items():
            wanted.setdefault(role, set()).update(probes)
    hosts = [plan.facts.host(role) for role in sorted(wanted)]
    planned = [host for host in hosts if host.plan(wanted[host.role])]
    connections: Counter = Counter()
    for host in planned:
        connections[host.endpoint] += host.shells
    _dial_ahead(plan.facts, connections)  # before pywinrm is imported: TCP's round trip travels meanwhile
    return [host.start for host in planned]


def preconnect(facts: Facts) -> None:
    """For a run of a whole phase, called before its checks are even imported: the TCP connections of each
    WinRM host the site names (a whole phase reads every one, unless --dcdiag and --repadmin files stand in
    for the DC's probes), as many as its shells may be (MAX_SHELLS per role), so that WinRM's chain — the
    run's longest — starts ~0.1 s sooner. Those the plan leaves unused are closed at the end of the run,
    having carried nothing. Never in a replay."""
    from ocscheck.collector.batch import MAX_SHELLS

    connections: Counter = Counter()
    for role, settings in facts.site.winrm_hosts().items():
        if role not in facts.inputs.host_snapshots:  # a snapshot replaces that host's WinRM
            connections[settings.endpoint] += MAX_SHELLS
    _dial_ahead(facts, connections)


def _dial_ahead(facts: Facts, connections: Counter) -> None:
    deadline = time.monotonic() + facts.timeout
    for (address, port), count in connections.items():
        facts.dials.preconnect(address, port, count, deadline)


# The network clients each source's fetchers load (ocscheck.facts.lazy), by need.
CLIENTS = {
    "ldap": ("ldap3", "ldap3.core.exceptions", "ldap3.protocol.microsoft", "ldap3.utils.conv"),
    "dns.internal": ("dns.resolver", "dns.nameserver"), "dns.external": ("dns.resolver", "dns.nameserver"),
    "tls": ("OpenSSL.SSL", "dns.resolver"), "sip": ("OpenSSL.SSL",), "http": ("urllib3", "requests"),
    "winrm.server": ("winrm.protocol", "requests"), "winrm.dc": ("winrm.protocol", "requests"),
}


@dataclass(frozen=True)
class Source:
    needs: Tuple[str, ...]                       # whose CLIENTS its warm-ups' fetchers use
    warmups: Callable[[Plan], List[Warmup]]


# Longest chain of round trips first (WinRM: NTLM, shell, command; then LDAP: TLS, bind, RootDSE, lookups),
# so that its dial goes out before the next source's clients are even imported.
SOURCES: Sequence[Source] = (Source(("winrm.server", "winrm.dc"), _hosts), Source(("ldap",), _ldap),
                             Source(("dns.internal", "dns.external"), _dns), Source(("tls", "http"), _tls))


def start(facts: Facts, phase: Phase, specs: Sequence[CheckSpec]) -> None:
    """Start every warm-up of the run, source by source, each once its clients are imported.

    Importing is CPU work under the GIL (and the import locks): a dozen threads importing ldap3,
    requests, dnspython, pyOpenSSL and pywinrm together took 0.8 s before the first dial (measured
    with bench/fact_timeline.py). This thread imports them one after the other instead, and starts a
    source's warm-ups as soon as its own clients are in: while they wait on the network, the next
    source's clients load. A replay never gets here.
    """
    plan = Plan(facts, phase, tuple(specs))
    for source in SOURCES:
        calls = source.warmups(plan)
        if calls:
            _import(source.needs)
            background.start(facts.store, calls)
    _import(sorted(plan.needs))  # the clients of the checks' own fetches, before the checks start


def _import(needs: Iterable[str]) -> None:
    import importlib

    for module in dict.fromkeys(m for need in needs for m in CLIENTS.get(need, ())):
        try:
            importlib.import_module(module)
        except ImportError:
            pass  # an optional client (the fetcher that needs it says so when it runs)
