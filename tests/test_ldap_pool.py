"""The LDAP connection pool (facts.ldap.connection.DcConnections), with stand-in connections: no server.

What the pool promises: at most DEFAULT_POOL connections per DC, each used by one operation at a time (ldap3
SYNC connections are not thread-safe); one bind attempt before the account is proven (a wrong password is
refused once, never once per connection); a DC that cannot be reached costs one wait, and every other
lookup fails at once with the remembered reason; closing does not wait for a busy connection. And
``background.parallel``, which puts a list of lookups in flight together.
"""
from __future__ import annotations

import threading
import time
from typing import List

import pytest

from ocscheck.config import LdapSettings
from ocscheck.facts import background
from ocscheck.facts.ldap import connection as conn_module
from ocscheck.facts.ldap.connection import DEFAULT_POOL, DcConnections
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
    assert 1 < len({id(c) for c in seen}) <= DEFAULT_POOL
    assert events["connects"] <= DEFAULT_POOL and events["binds"] == events["connects"]


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



def test_closing_does_not_wait_for_a_busy_connection_and_closes_it_when_released(monkeypatch):
    dcs, _ = make_pool(monkeypatch)
    closed: List[FakeConnection] = []
    monkeypatch.setattr(conn_module, "close_quietly", closed.append)
    busy, release = threading.Event(), threading.Event()

    def slow(connection):
        busy.set()
        release.wait(5)
        return "late"

    worker = threading.Thread(target=dcs.run, args=(URL, slow))
    worker.start()
    assert busy.wait(5)
    pool = dcs._pool(dcs.configured(URL))
    deadline = time.monotonic() + 5
    while len(pool.idle) < DEFAULT_POOL - 1 and time.monotonic() < deadline:  # the extras, bound beside the busy one
        time.sleep(0.01)
    idle = DEFAULT_POOL - 1
    dcs.close()  # returns although an operation is under way
    assert len(closed) == idle
    release.set()
    worker.join(5)
    assert len(closed) == idle + 1  # the busy one, once its operation ended


# ----------------------------------------------------------------------------------------- parallel

def test_parallel_calls_are_in_flight_together_and_answer_in_order():
    barrier = threading.Barrier(5, timeout=5)  # broken unless all five are waiting at once

    def call(index):
        return lambda: (barrier.wait(), index)[1]

    assert background.parallel([call(i) for i in range(5)]) == [0, 1, 2, 3, 4]


def test_parallel_raises_the_first_failure_in_order_once_every_call_ended():
    ended: List[int] = []

    def fail(index, delay):
        def call():
            time.sleep(delay)
            ended.append(index)
            raise FactUnavailable(Reason.TIMEOUT, f"call {index}")
        return call

    def ok():
        time.sleep(0.2)
        ended.append(2)
        return "ok"

    with pytest.raises(FactUnavailable, match="call 0"):  # what a loop over the calls would have raised
        background.parallel([fail(0, 0.1), fail(1, 0.0), ok])
    assert sorted(ended) == [0, 1, 2]


def test_parallel_gives_the_waiting_callers_slot_back():
    entered: List[str] = []

    class Waiting:
        def __enter__(self):
            entered.append("enter")

        def __exit__(self, *exc):
            entered.append("exit")

    assert background.parallel([lambda: 1, lambda: 2], Waiting) == [1, 2]
    assert entered == ["enter", "exit"]
