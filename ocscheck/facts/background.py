"""Facts asked ahead of their reading: started now, each in a daemon thread, and read later as usual.

A check that will read a list of facts (the DNS names of its SIP domains, the CRL URLs of a chain) starts
them all at once here, then reads them in its own order: each read waits for the fetch under way (the
store's single flight), and a failure is memoised for the read that reports it. The list may hold facts
the check ends up not reading (a later CRL URL when the first works): fetching one costs nothing more.

Never in a replay: a recording answers at once, and is never asked for keys the checks do not read.
"""
from __future__ import annotations

import threading
from contextlib import nullcontext
from typing import TYPE_CHECKING, Callable, ContextManager, Iterable, List, Sequence, TypeVar

from ocscheck.facts.lazy import lazy
from ocscheck.facts.store import FactStore, FactUnavailable

if TYPE_CHECKING:
    from concurrent.futures import Future

futures = lazy("concurrent.futures")  # with logging: 3 ms a replay, which starts no thread, does without

T = TypeVar("T")
# What a call raised that is not a fact's failure: a bug in a fetcher or in a warm-up's own code. Nobody
# would see it (the checks still read their facts, only later), so it is kept here, for the tests to fail on.
unexpected: List[BaseException] = []


def start(store: FactStore, calls: Iterable[Callable[[], object]]) -> None:
    """Run each of ``calls`` (a fact's read) in a daemon thread of its own: they wait on the network."""
    if store.replaying:
        return
    for call in calls:
        threading.Thread(target=_quietly, args=(call,), daemon=True, name="fact ahead").start()


def _quietly(call: Callable[[], object]) -> None:
    try:
        call()
    except FactUnavailable:
        pass  # memoised: the read reports it
    except Exception as exc:  # a bug: the store forgot the entry, and a check's own read reports a fetcher's
        unexpected.append(exc)


def in_thread(call: Callable[[], T]) -> "Future[T]":
    """``call()`` run in a daemon thread; its result (or exception) in the future returned."""
    future: "Future[T]" = futures.Future()

    def run() -> None:
        try:
            future.set_result(call())
        except BaseException as exc:  # handed to whoever reads the future
            future.set_exception(exc)

    threading.Thread(target=run, daemon=True, name="fact part").start()
    return future


def parallel(calls: Sequence[Callable[[], T]],
             waiting: Callable[[], ContextManager[object]] = nullcontext) -> List[T]:
    """Every call at once, each in a thread of its own (an LDAP read takes a pooled connection of its own): their
    results in the calls' order, and the first failure in that order raised, as a loop over them would raise it
    (once every call has ended). ``waiting`` (FactStore.waiting) is entered while the caller waits: a check
    gives its worker slot back meanwhile."""
    if len(calls) < 2:
        return [call() for call in calls]
    started = [in_thread(call) for call in calls]
    with waiting():
        futures.wait(started)
    return [future.result() for future in started]
