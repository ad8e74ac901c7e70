"""Runs the selected checks concurrently.

Each check runs in its own daemon thread so that a check stuck past its timeout can be
abandoned (reported as error) without holding up the run or the process exit. ``workers`` bounds
the checks *working* at once, not those waiting: a check waiting on the network (fetching a fact,
or waiting for another check's fetch of it, see ``FactStore.waiting``) gives its slot back, and
takes one again (before any check not yet started) when the wait ends. So checks blocked on a dead
host cannot keep the others from starting, and a run with dead hosts takes one timeout, whatever
``workers`` is. A check waits for the checks it ``depends`` on and is skipped when one of them did
not pass. Outcomes come back in the order of the specs given. A replay waits on nothing: its checks
run one after the other in the calling thread.

Interrupted (Ctrl-C, or the CLI's SIGTERM handler), the checks not finished become errors and the
interruption is raised again, carrying every outcome, so that the caller still writes its reports.
"""
from __future__ import annotations

import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Sequence

from ocscheck.context import CheckContext
from ocscheck.facts.store import FactUnavailable
from ocscheck.model import CheckSpec, Interrupted, Outcome, Result, Status

# Called as each check finishes: its outcome, how many are done, how many in all, the ids still running.
ProgressCallback = Callable[[Outcome, int, int, Sequence[str]], None]


@dataclass
class _Running:
    thread: threading.Thread
    started: float
    result: Optional[Result] = None
    detail: str = ""
    busy: bool = True        # holds a worker slot (False while it waits on the network)
    abandoned: bool = False  # timed out: its thread may go on, but no longer counts
    depth: int = 0           # nested waits (a fetch that reads another fact)


class _Slots:
    """The worker bound, counted over the checks that are not waiting; guarded by the runner's condition."""

    def __init__(self, wake: threading.Condition, workers: int) -> None:
        self.wake = wake
        self.workers = max(1, workers)
        self.busy = 0
        self.resuming = 0  # checks whose wait ended, waiting for a slot: they go before new checks
        self.local = threading.local()

    def can_start(self) -> bool:
        return self.busy < self.workers and not self.resuming

    def release(self, slot: _Running) -> None:
        if slot.busy and not slot.abandoned:
            self.busy -= 1
        slot.busy = False
        self.wake.notify_all()

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """FactStore.waiting while checks run: the calling check's slot is free until the wait ends."""
        slot: Optional[_Running] = getattr(self.local, "slot", None)
        if slot is None:  # not a check thread (a prefetch, the main thread): nothing to give back
            yield
            return
        with self.wake:
            slot.depth += 1
            if slot.depth == 1:
                self.release(slot)
        try:
            yield
        finally:
            with self.wake:
                slot.depth -= 1
                if slot.depth == 0:
                    self.resuming += 1
                    while self.busy >= self.workers and not slot.abandoned:
                        self.wake.wait()
                    self.resuming -= 1
                    if not slot.abandoned:
                        self.busy += 1
                    slot.busy = True
                    self.wake.notify_all()


def run_one(spec: CheckSpec, ctx: CheckContext) -> tuple:
    """The result of one check (never raises) and the traceback text of a crash."""
    try:
        result = spec.func(ctx)
        if not isinstance(result, Result):
            raise TypeError(f"check returned {type(result).__name__}, not Result")
        return result, ""
    except FactUnavailable as exc:
        status = Status.SKIP if exc.reason.skips else Status.ERROR
        # The summary is the short sentence; what the library said goes to the evidence (-v).
        return Result(status, f"{exc.reason}: {exc.detail}", (f"said: {exc.raw}",) if exc.raw else ()), ""
    except Exception as exc:  # a crashing check must not take the others down
        what = f"{type(exc).__name__}: {str(exc)[:200]}"
        key = ctx.facts.store.last_key()
        # Most crashes are a value the check did not expect (a hostile server, a hand-edited recording):
        # name the fact, so the report says where to look; the traceback is in -v.
        summary = (f"unexpected value in the fact {key} ({what})" if key else f"check crashed ({what})")
        return Result.error(ctx.facts.secrets.redactor.redact(summary)), \
            ctx.facts.secrets.redactor.redact(traceback.format_exc())


def run_checks(specs: Sequence[CheckSpec], ctx: CheckContext, workers: int, timeout: float,
               progress: Optional[ProgressCallback] = None) -> List[Outcome]:
    by_id = {spec.id: spec for spec in specs}
    waiting: List[CheckSpec] = list(specs)
    running: Dict[str, _Running] = {}
    done: Dict[str, Outcome] = {}
    wake = threading.Condition()
    total = len(specs)

    run_start = time.monotonic()

    def finish(spec: CheckSpec, result: Result, duration: float, detail: str = "",
               started: Optional[float] = None) -> None:
        # started: when the check began (monotonic); the report's suite times are wall spans, not sums.
        outcome = Outcome.of(spec, result, duration, detail,
                             started_s=None if started is None else started - run_start)
        done[spec.id] = outcome
        if progress:
            progress(outcome, len(done), total, [i for i in running if i not in done])

    slots = _Slots(wake, workers)
    store = ctx.facts.store

    def body(spec: CheckSpec, slot: _Running) -> None:
        slots.local.slot = slot
        result, detail = run_one(spec, ctx)
        with wake:
            slot.result, slot.detail = result, detail
            wake.notify_all()

    previous_hook, store.waiting = store.waiting, slots.waiting
    try:
        if store.replaying:
            _in_turn(specs, by_id, done, finish, ctx)
        else:
            _loop(specs, by_id, waiting, running, done, wake, slots, timeout, finish, body)
    except (KeyboardInterrupt, Interrupted) as exc:
        # Ctrl-C or SIGTERM: what finished stands, the rest is an error, and the caller writes its reports.
        stop = exc if isinstance(exc, Interrupted) else Interrupted()
        now = time.monotonic()
        for spec in specs:
            if spec.id not in done:
                slot = running.get(spec.id)
                finish(spec, Result.error(f"interrupted ({stop.signal_name}) before it finished"),
                       now - slot.started if slot else 0.0, started=slot.started if slot else None)
        stop.outcomes = tuple(done[spec.id] for spec in specs)
        raise stop from None
    finally:
        store.waiting = previous_hook
    return [done[spec.id] for spec in specs]


def _loop(specs: Sequence[CheckSpec], by_id: Dict[str, CheckSpec], waiting: List[CheckSpec],
          running: Dict[str, _Running], done: Dict[str, Outcome], wake: threading.Condition, slots: _Slots,
          timeout: float, finish: Callable[..., None], body: Callable[[CheckSpec, _Running], None]) -> None:
    with wake:
        while waiting or running:
            # Collect finished and overdue checks.
            now = time.monotonic()
            for check_id, slot in list(running.items()):
                spec = by_id[check_id]
                if slot.result is not None:
                    finish(spec, slot.result, now - slot.started, slot.detail, slot.started)
                    slots.release(slot)
                    del running[check_id]
                elif now - slot.started > timeout:
                    finish(spec, Result.error(f"timed out after {timeout:g} s (the check was abandoned)"),
                           now - slot.started, started=slot.started)
                    slots.release(slot)
                    slot.abandoned = True
                    del running[check_id]
            # Start what can start: dependencies settled, a worker free.
            for spec in list(waiting):
                if _blockers(spec, by_id, done):
                    continue
                skipped = _skipped(spec, done)
                if skipped is not None:
                    waiting.remove(spec)
                    finish(spec, skipped, 0.0, started=time.monotonic())
                    continue
                if not slots.can_start():
                    break
                waiting.remove(spec)
                slot = _Running(thread=None, started=time.monotonic())  # type: ignore[arg-type]
                slots.busy += 1
                slot.thread = threading.Thread(target=body, args=(spec, slot), daemon=True,
                                               name=f"check {spec.id}")
                running[spec.id] = slot
                slot.thread.start()
            if running:
                deadline = min(slot.started for slot in running.values()) + timeout
                wake.wait(max(0.0, min(deadline - time.monotonic(), 0.5)) + 0.01)
            elif waiting:
                # Dependencies outside the selection never finish: treat them as absent.
                for spec in waiting:
                    if _blockers(spec, by_id, done):
                        raise RuntimeError(f"dependency cycle around {spec.id}: {_blockers(spec, by_id, done)}")


def _in_turn(specs: Sequence[CheckSpec], by_id: Dict[str, CheckSpec], done: Dict[str, Outcome],
             finish: Callable[..., None], ctx: CheckContext) -> None:
    """A replay answers every fact at once: each check runs in turn in the calling thread, after the checks it
    depends on — no thread to start, no worker slot, no timeout to watch (threads cost a replay more time
    than its checks take to judge)."""
    pending = list(specs)
    while pending:
        spec = next((spec for spec in pending if not _blockers(spec, by_id, done)), None)
        if spec is None:
            raise RuntimeError(f"dependency cycle around {pending[0].id}: {_blockers(pending[0], by_id, done)}")
        pending.remove(spec)
        started = time.monotonic()
        skipped = _skipped(spec, done)
        if skipped is not None:
            finish(spec, skipped, 0.0, started=started)
            continue
        result, detail = run_one(spec, ctx)
        finish(spec, result, time.monotonic() - started, detail, started)


def _blockers(spec: CheckSpec, by_id: Dict[str, CheckSpec], done: Dict[str, Outcome]) -> List[str]:
    """The selected checks ``spec`` depends on that have not finished."""
    return [d for d in spec.depends if d in by_id and d not in done]


def _skipped(spec: CheckSpec, done: Dict[str, Outcome]) -> Optional[Result]:
    """``spec``'s skip when a check it depends on finished without passing (a warning passes), else None."""
    failed = [d for d in spec.depends if d in done and done[d].status not in (Status.PASS, Status.WARN)]
    if not failed:
        return None
    return Result.skip(f"skipped because {', '.join(f'{d} ({done[d].status})' for d in failed)} did not pass")
