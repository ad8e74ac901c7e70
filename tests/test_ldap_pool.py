"""The LDAP connection pool (facts.ldap.connection.DcConnections), with stand-in connections: no server.

What the pool promises: at most POOL_SIZE connections per DC, each used by one operation at a time (ldap3
SYNC connections are not thread-safe); one bind attempt before the account is proven (a wrong password is
refused once, never once per connection); a DC that cannot be reached costs one wait, and every other
lookup fails at once with the remembered reason.
"""
from __future__ import annotations

import threading
import time
from typing import List

import pytest

from ocscheck.config import LdapSettings
from ocscheck.facts.ldap import connection as conn_module
from ocscheck.facts.ldap.connection import POOL_SIZE, DcConnections
from ocscheck.facts.store import FactUnavailable, Reason

URL = "ldaps://127.0.0.2"


class FakeConnection:
    def __init__(self) -> None:
        self.in_use = 0
        self.bound = False


def make_pool(monkeypatch, connect_seconds=0.05, bind_fails=False, connect_fails=False):
    events: dict = {"connects": 0, "binds": 0, "overlap": False}
    lock = threading.Lock()

    def connect(self, where):
        with lock:
            events["connects"] += 1
        time.sleep(connect_seconds)
        if connect_fails:
            raise FactUnavailable(Reason.TIMEOUT, f"{where.url}: no answer within 1 s")
        return FakeConnection()

    def bind(self, connection, where):
        with lock:
            events["binds"] += 1
        time.sleep(0.01)
        if bind_fails:
            raise FactUnavailable(Reason.AUTH_FAILED, f"{where.url}: bind refused")
        connection.bound = True

    monkeypatch.setattr(DcConnections, "_connect", connect)
    monkeypatch.setattr(DcConnections, "_bind", bind)
    monkeypatch.setattr(conn_module, "close_quietly", lambda connection: None)
    settings = LdapSettings(url=URL, user="reader@todorovic.adds")
    return DcConnections(settings, None, 1.0, lambda: "pw"), events


def operation(events, seen: List[FakeConnection]):
    def run(connection):
        assert connection.bound
        connection.in_use += 1
        if connection.in_use > 1:
            events["overlap"] = True
        seen.append(connection)
        time.sleep(0.02)
        connection.in_use -= 1
        return "ok"
    return run


def run_many(dcs, events, count=24):
    seen: List[FakeConnection] = []
    results, errors = [], []

    def worker():
        try:
            results.append(dcs.run(URL, operation(events, seen)))
        except FactUnavailable as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results, errors, seen


def test_lookups_share_a_bounded_pool_one_operation_per_connection(monkeypatch):
    dcs, events = make_pool(monkeypatch)
    results, errors, seen = run_many(dcs, events)
    assert results == ["ok"] * 24 and not errors
    assert not events["overlap"]
    assert 1 < len({id(c) for c in seen}) <= POOL_SIZE
    assert events["connects"] <= POOL_SIZE and events["binds"] == events["connects"]


def test_a_refused_bind_is_tried_once_and_shared(monkeypatch):
    dcs, events = make_pool(monkeypatch, bind_fails=True)
    results, errors, _ = run_many(dcs, events, count=8)
    assert not results and len(errors) == 8
    assert all(e.reason is Reason.AUTH_FAILED for e in errors)
    time.sleep(0.2)  # the connections opened beside the first one give up without binding
    assert events["binds"] == 1


def test_a_dead_dc_costs_one_wait(monkeypatch):
    dcs, events = make_pool(monkeypatch, connect_seconds=0.5, connect_fails=True)
    started = time.monotonic()
    results, errors, _ = run_many(dcs, events, count=8)
    assert not results and len(errors) == 8 and all(e.reason is Reason.TIMEOUT for e in errors)
    assert time.monotonic() - started < 0.9  # not one wait per lookup, nor per connection in turn
    with pytest.raises(FactUnavailable):
        dcs.run(URL, lambda connection: "never")  # remembered for the run
    assert time.monotonic() - started < 0.9


def test_the_user_walk_connection_waits_for_the_first_bind(monkeypatch):
    dcs, events = make_pool(monkeypatch, bind_fails=True)
    with pytest.raises(FactUnavailable):
        dcs.open(dcs.configured(URL))
    with pytest.raises(FactUnavailable):
        dcs.open(dcs.configured(URL))
    time.sleep(0.2)
    assert events["binds"] == 1
