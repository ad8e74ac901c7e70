"""How a run uses the real Samba DC (tests/lab/samba.py): lookups of a list in flight together, one bind per
pooled connection, the paged user walk on the pool, every connection closed at the end.

Behaviour only (a barrier proves lookups overlap; counters count binds): the speed itself is measured by
bench/bench_latency.py, never asserted here.
"""
from __future__ import annotations

import threading
from typing import Dict, List

import ocscheck.facts.ldap as facts_ldap
from ocscheck.api import RunSetup
from ocscheck.facts.ldap import connection, key
from ocscheck.facts.ldap.connection import MAX_POOL, DcConnections
from tests.helpers import judge, make_site
from tests.lab.samba import BASE_DN, DOMAIN_PREP_TARGETS, NAMING_CONTEXTS, Lab

# The LDAP checks of a post (ad.replication and ad.prep-replicated also read DC2 when another module started it).
AD_POST = ("ad.*", "users.sip")
PASSING = ("ad.forest-level", "ad.domain-level", "ad.schema-prep", "ad.forest-prep", "ad.domain-prep", "ad.sip-domain",
           "ad.service-accounts", "ad.pool", "users.sip")


def barrier_on(monkeypatch, attribute: str, parties: int) -> threading.Barrier:
    """Every search asking for ``attribute`` waits until ``parties`` of them are in flight at once (a broken
    barrier, raised to the fetch, means they were read one after another)."""
    barrier = threading.Barrier(parties, timeout=10)
    original = connection.search

    def search(conn, base, flt, scope, attributes, *args, **kwargs):
        if attribute in attributes:
            barrier.wait()
        return original(conn, base, flt, scope, attributes, *args, **kwargs)

    monkeypatch.setattr(connection, "search", search)
    return barrier


def test_domain_prep_reads_its_four_dacls_together(samba_good: Lab, monkeypatch):
    barrier_on(monkeypatch, "nTSecurityDescriptor", len(DOMAIN_PREP_TARGETS))
    with RunSetup(make_site(samba_good.site()), "post", environ=samba_good.env) as setup:
        ldap = setup.facts.ldap
        dacls = ldap.together(ldap.dacl, DOMAIN_PREP_TARGETS)
    assert len(dacls) == 4 and all(dacl for dacl in dacls)


def test_repsfrom_of_every_naming_context_is_read_together(samba_good: Lab, monkeypatch):
    barrier_on(monkeypatch, "repsFrom", len(NAMING_CONTEXTS))
    with RunSetup(make_site(samba_good.site()), "post", environ=samba_good.env) as setup:
        setup.facts.ldap.expect(len(NAMING_CONTEXTS) + 1)  # as a run's prefetch sizes the pool: NCs + DC list
        state = setup.facts.ldap.replication_state()
    assert state.dsa_count >= 1 and not state.unreadable


def test_a_run_binds_once_per_pooled_connection_walks_users_on_the_pool_and_closes_them_all(
        samba_good: Lab, monkeypatch):
    bound: List[object] = []
    per_dc: Dict[str, int] = {}
    searched: List[object] = []
    walked: List[object] = []
    lock = threading.Lock()
    bind, search, walk = DcConnections._bind, connection.search, facts_ldap.iter_sip_users

    def counting_bind(self, conn, where):
        bind(self, conn, where)
        with lock:
            bound.append(conn)
            per_dc[where.url] = per_dc.get(where.url, 0) + 1

    def counting_search(conn, *args, **kwargs):
        searched.append(conn)
        return search(conn, *args, **kwargs)

    def walking(conn, base, page_size):
        walked.append(conn)
        return walk(conn, base, page_size)

    monkeypatch.setattr(DcConnections, "_bind", counting_bind)
    monkeypatch.setattr(connection, "search", counting_search)
    monkeypatch.setattr(facts_ldap, "iter_sip_users", walking)
    outcomes = judge(make_site(samba_good.site()), AD_POST, "post", env=dict(samba_good.env))
    assert {str(outcomes[i].status) for i in PASSING} == {"pass"}, {i: outcomes[i].summary for i in PASSING}
    assert 1 <= per_dc[samba_good.dc1.url] <= MAX_POOL and max(per_dc.values()) <= MAX_POOL
    assert len({id(c) for c in bound}) == len(bound)  # one bind per connection, none per lookup
    assert searched and {id(c) for c in searched} <= {id(c) for c in bound}  # every search on a pooled connection
    assert len(walked) == 1 and any(walked[0] is c for c in bound)  # the user walk took a pooled connection
    assert all(c.closed for c in bound)  # every connection closed when the run ended


def test_a_run_binds_the_connections_its_checks_need(samba_good: Lab, monkeypatch):
    """A bind on a Windows DC is a logon event: ad.forest-level alone (one search) dials and binds one
    connection; three checks dial five (about two per check, at most MAX_POOL: a full post's 23)."""
    binds: List[object] = []
    dials: List[object] = []
    bind, connect = DcConnections._bind, DcConnections._connect

    def counting_bind(self, conn, where):
        bind(self, conn, where)
        binds.append(conn)

    def counting_connect(self, where):
        dials.append(where)
        return connect(self, where)

    monkeypatch.setattr(DcConnections, "_bind", counting_bind)
    monkeypatch.setattr(DcConnections, "_connect", counting_connect)
    outcomes = judge(make_site(samba_good.site()), ("ad.forest-level",), "post", env=dict(samba_good.env))
    assert str(outcomes["ad.forest-level"].status) == "pass"
    assert len(dials) == len(binds) == 1
    dials.clear()
    judge(make_site(samba_good.site()), ("ad.forest-level", "ad.domain-level", "ad.schema-prep"), "post",
          env=dict(samba_good.env))
    assert len(dials) == 5  # the extras may be closed before they bind when the run ends first


def test_a_refused_password_costs_one_bind_for_the_whole_run(samba_good: Lab, monkeypatch):
    attempts: List[object] = []
    bind = DcConnections._bind

    def counting_bind(self, conn, where):
        attempts.append(conn)
        bind(self, conn, where)

    monkeypatch.setattr(DcConnections, "_bind", counting_bind)
    outcomes = judge(make_site(samba_good.site()), AD_POST, "post",
                     env={name: "wrong-password" for name in samba_good.env})
    assert {str(o.status) for o in outcomes.values()} == {"error"}
    assert "authentication failed" in outcomes["ad.forest-level"].summary
    assert len(attempts) == 1


def test_lookups_of_a_list_answer_in_order_each_under_its_own_key(samba_good: Lab):
    """``together`` answers in the items' order, each value memoised and recorded as a single read is."""
    names = ["RTCService", "no-such-account", "RTCComponentService"]
    with RunSetup(make_site(samba_good.site()), "post", environ=samba_good.env) as setup:
        ldap = setup.facts.ldap
        accounts = ldap.together(ldap.account, names)
        recorded = setup.store.recording()
    assert [a.dn if a else None for a in accounts] == [f"CN=RTCService,CN=Users,{BASE_DN}", None,
                                                       f"CN=RTCComponentService,CN=Users,{BASE_DN}"]
    assert {key(samba_good.dc1.url, f"account:{name.lower()}") for name in names} <= set(recorded)
