"""The run's TCP dials (ocscheck.facts.dial): connections made ahead (preconnect) and taken later, on loopback."""
from __future__ import annotations

import socket
import time
from typing import Iterator

import pytest

from ocscheck.facts.dial import Dials
from ocscheck.facts.store import FactUnavailable, Reason

HOST = "127.0.0.1"


@pytest.fixture
def server() -> Iterator[socket.socket]:
    """A listening socket on loopback (accepts wait up to 5 s)."""
    with socket.socket() as listening:
        listening.bind((HOST, 0))
        listening.listen(16)
        listening.settimeout(5)
        yield listening


@pytest.fixture
def dials() -> Iterator[Dials]:
    run_dials = Dials()
    yield run_dials
    run_dials.close()


def soon(seconds: float = 5.0) -> float:
    return time.monotonic() + seconds


def test_preconnected_connections_are_open_before_any_take_and_each_is_taken_once(server, dials):
    port = server.getsockname()[1]
    dials.preconnect(HOST, port, 2, soon())
    accepted = [server.accept()[0] for _ in range(2)]  # made ahead: nobody has asked for one yet
    taken = [dials.take(HOST, port, soon()) for _ in range(2)]
    peers = {sock.getsockname() for sock in taken}
    assert peers == {sock.getpeername() for sock in accepted}  # the very connections made ahead
    third = dials.take(HOST, port, soon())  # none parked any more: a connect of its own
    assert server.accept()[0].getpeername() == third.getsockname()
    for sock in [*accepted, *taken, third]:
        sock.close()


def test_preconnect_tops_up_to_the_count_asked(server, dials):
    port = server.getsockname()[1]
    dials.preconnect(HOST, port, 2, soon())
    dials.preconnect(HOST, port, 2, soon())  # already two under way: nothing more
    dials.preconnect(HOST, port, 3, soon())  # one more
    accepted = [server.accept()[0] for _ in range(3)]
    server.settimeout(0.3)
    with pytest.raises(socket.timeout):
        server.accept()
    dials.close()
    for sock in accepted:
        sock.close()


def test_connections_nobody_took_are_closed_with_the_run(server, dials):
    port = server.getsockname()[1]
    dials.preconnect(HOST, port, 2, soon())
    accepted = [server.accept()[0] for _ in range(2)]
    used = dials.take(HOST, port, soon())
    dials.close()
    ends = []
    for sock in accepted:
        sock.settimeout(5)
        ends.append(sock.getpeername() == used.getsockname() or sock.recv(1) == b"")
    assert ends == [True, True]  # the unused one was closed, never having carried a byte
    used.sendall(b"x")  # the one taken is its taker's, open
    assert [sock.recv(1) for sock in accepted if sock.getpeername() == used.getsockname()] == [b"x"]
    for sock in [*accepted, used]:
        sock.close()


def test_a_parked_connection_the_host_closed_is_replaced_by_a_new_connect(server, dials):
    port = server.getsockname()[1]
    dials.preconnect(HOST, port, 1, soon())
    server.accept()[0].close()  # the host hangs up while the connection waits to be taken
    time.sleep(0.1)
    fresh = dials.take(HOST, port, soon())
    again = server.accept()[0]
    assert again.getpeername() == fresh.getsockname()
    for sock in (fresh, again):
        sock.close()


def test_a_refused_preconnect_is_the_take_s_failure_and_is_remembered(dials):
    with socket.socket() as probe:  # bound, never listening: connects to it are refused
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
        dials.preconnect(HOST, port, 2, soon())
        started = time.monotonic()
        with pytest.raises(FactUnavailable) as taken:
            dials.take(HOST, port, soon())
        assert taken.value.reason is Reason.REFUSED
        with pytest.raises(FactUnavailable) as later:  # the other parked one failed too: no connect of its own
            dials.take(HOST, port, soon())
        assert later.value.reason is Reason.REFUSED
        with pytest.raises(FactUnavailable) as remembered:
            dials.connect(HOST, port, soon())
        assert "remembered" in remembered.value.detail
        assert time.monotonic() - started < 2


def test_a_take_waits_for_the_preconnect_under_way_no_longer_than_its_own_deadline(dials):
    # A listener whose backlog is full: the kernel leaves further connects unanswered (SYNs dropped).
    with socket.socket() as server:
        server.bind((HOST, 0))
        server.listen(0)
        port = server.getsockname()[1]
        fillers = []
        for _ in range(4):  # fill the accept queue without accepting
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex((HOST, port))
            fillers.append(filler)
        time.sleep(0.2)
        dials.preconnect(HOST, port, 1, soon(10))
        started = time.monotonic()
        with pytest.raises(FactUnavailable) as taken:
            dials.take(HOST, port, time.monotonic() + 0.5)
        assert taken.value.reason is Reason.TIMEOUT
        assert 0.4 < time.monotonic() - started < 2
        dials.close()
        for filler in fillers:
            filler.close()
