"""The runner: concurrency, per-check timeout, crash isolation, dependency skips, order."""
from __future__ import annotations

import threading
import time

from ocscheck.api import RunSetup, run
from ocscheck.facts.store import FactStore, FactUnavailable, Reason
from ocscheck.model import CheckSpec, Phase, Result, Severity, Status
from ocscheck.runner import run_checks
from ocscheck.secrets import Redactor
from tests.helpers import make_site


def spec(check_id, func, depends=()):
    return CheckSpec(id=check_id, title=check_id, phases=(Phase.POST,), severity=Severity.HIGH, needs=(),
                     depends=tuple(depends), doc="", func=func)


def context(secret_env=None):
    return RunSetup(make_site(), Phase.POST, environ=secret_env or {}).context


def test_crash_becomes_error_and_others_still_run():
    def crash(ctx):
        raise KeyError("boom")

    outcomes = run_checks([spec("t.crash", crash), spec("t.ok", lambda ctx: Result.ok("fine"))], context(), 4, 5)
    assert [o.status for o in outcomes] == [Status.ERROR, Status.PASS]
    assert outcomes[0].summary == "check crashed (KeyError: 'boom')"
    assert "Traceback" in outcomes[0].detail


def test_a_crash_on_a_recorded_value_names_the_fact():
    from ocscheck.facts.dns import key as dns_key

    broken = {dns_key("internal", "ocs.todorovic.adds", "A"): {"value": {"rcode": "NOERROR"}}}  # fields missing
    site = make_site({"dns": {"internal": ["127.0.0.53"]}})
    outcome = run(site, "post", only=["dns.server-a"], replay=broken, environ={}).outcomes[0]
    assert outcome.status is Status.ERROR
    assert outcome.summary == ("unexpected value in the fact dns:internal:ocs.todorovic.adds:A "
                               "(KeyError: 'cname_chain')")
    assert "Traceback" in outcome.detail


def test_hung_check_is_abandoned_at_its_timeout():
    release = threading.Event()

    def hang(ctx):
        release.wait(30)
        return Result.ok("late")

    started = time.monotonic()
    outcomes = run_checks([spec("t.hang", hang), spec("t.ok", lambda ctx: Result.ok("fine"))], context(), 4, 0.5)
    release.set()
    assert time.monotonic() - started < 2
    assert outcomes[0].status is Status.ERROR and "timed out after 0.5 s" in outcomes[0].summary
    assert outcomes[1].status is Status.PASS


def test_checks_run_concurrently_with_bounded_workers():
    running, peak, lock = [0], [0], threading.Lock()

    def slow(ctx):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        return Result.ok("done")

    started = time.monotonic()
    outcomes = run_checks([spec(f"t.c{i}", slow) for i in range(8)], context(), 4, 5)
    assert peak[0] == 4
    assert time.monotonic() - started < 0.2 * 8 / 2
    assert [o.id for o in outcomes] == [f"t.c{i}" for i in range(8)]  # deterministic order


def test_dependency_failure_skips_dependant():
    outcomes = run_checks([spec("t.b", lambda ctx: Result.ok("b"), depends=["t.a"]),
                           spec("t.a", lambda ctx: Result.fail("a broke"))], context(), 4, 5)
    assert outcomes[0].status is Status.SKIP and outcomes[0].summary == "skipped because t.a (fail) did not pass"


def replay_context():
    return RunSetup(make_site(), Phase.POST, environ={}, replay={}).context


def test_a_replay_judges_in_turn_in_the_calling_thread_dependencies_first():
    seen = []

    def note(result):
        def check(ctx):
            seen.append(threading.current_thread())
            return result
        return check

    outcomes = run_checks([spec("t.b", note(Result.ok("b")), depends=["t.a"]), spec("t.a", note(Result.fail("a"))),
                           spec("t.c", note(Result.ok("c")), depends=["t.d"]), spec("t.d", note(Result.ok("d"))),
                           spec("t.e", lambda ctx: 1 / 0)], replay_context(), 4, 5)
    assert seen == [threading.current_thread()] * 3  # t.a, t.d, t.c: no thread started; t.b skipped
    assert [(o.id, o.status) for o in outcomes] == [("t.b", Status.SKIP), ("t.a", Status.FAIL), ("t.c", Status.PASS),
                                                    ("t.d", Status.PASS), ("t.e", Status.ERROR)]
    assert outcomes[0].summary == "skipped because t.a (fail) did not pass"


def test_fact_unavailable_maps_to_skip_or_error():
    def unconfigured(ctx):
        raise FactUnavailable(Reason.NOT_CONFIGURED, "no LDAP URL")

    def refused(ctx):
        raise FactUnavailable(Reason.REFUSED, "connection refused by 127.0.0.60:636")

    outcomes = run_checks([spec("t.u", unconfigured), spec("t.r", refused)], context(), 4, 5)
    assert (outcomes[0].status, outcomes[0].summary) == (Status.SKIP, "not configured: no LDAP URL")
    assert (outcomes[1].status, outcomes[1].summary) == (Status.ERROR, "refused: connection refused by 127.0.0.60:636")


def test_fact_is_fetched_once_for_many_checks_and_secret_never_leaks():
    ctx = context({"PW": "s3cret-Pa55"})
    calls = []

    def fetch():
        calls.append(1)
        time.sleep(0.1)
        password = ctx.facts.secret("PW", "test password")
        raise FactUnavailable(Reason.AUTH_FAILED, f"bind refused for password {password}")

    def reader(c):
        c.facts.store.get("test:fact", fetch)
        return Result.ok("unreachable")

    outcomes = run_checks([spec(f"t.r{i}", reader) for i in range(6)], ctx, 6, 5)
    assert len(calls) == 1
    for outcome in outcomes:
        assert outcome.status is Status.ERROR
        assert "s3cret-Pa55" not in outcome.summary and "********" in outcome.summary
    assert "s3cret-Pa55" not in str(ctx.facts.store.recording())


def test_missing_secret_of_a_configured_source_is_an_error_not_a_skip():
    outcomes = run_checks([spec("t.s", lambda c: Result.ok(c.facts.secret("NOPE", "LDAP password")))],
                          context(), 1, 5)
    assert outcomes[0].status is Status.ERROR
    assert outcomes[0].summary == "secret not available: environment variable NOPE (LDAP password) is not set"


def test_run_clock_is_recorded_and_replayed():
    import datetime

    ctx = context()
    first = ctx.facts.now()
    assert first.tzinfo is not None and abs(datetime.datetime.now(datetime.timezone.utc) - first).total_seconds() < 5
    assert ctx.facts.now() == first  # one reference time per run
    recording = ctx.facts.store.recording()
    assert recording["clock:now"] == {"value": first.isoformat()}
    replayed = RunSetup(make_site(), Phase.POST, environ={},
                        replay={"clock:now": {"value": "2026-01-02T03:04:05+00:00"}}).facts
    assert replayed.now() == datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)


def test_waiters_outlast_a_slow_fetch_and_never_get_an_empty_value_from_a_crash():
    store = FactStore(Redactor(), default_timeout=0.3)
    results, release = [], threading.Event()

    def slow():
        time.sleep(0.6)  # longer than the fact timeout plus slack, shorter than a check may run
        return "value"

    def crash():
        release.wait(2)
        raise KeyError("bug")

    def read(key, fetch):
        try:
            results.append(store.get(key, fetch))
        except Exception as exc:  # noqa: BLE001 - the test records what each caller saw
            results.append(exc)

    threads = [threading.Thread(target=read, args=("slow", slow)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert results == ["value"] * 3
    results.clear()
    owner = threading.Thread(target=read, args=("crash", crash))
    owner.start()
    time.sleep(0.1)
    waiter = threading.Thread(target=read, args=("crash", crash))
    waiter.start()
    time.sleep(0.1)
    release.set()
    owner.join(5)
    waiter.join(5)
    assert sorted(type(r).__name__ for r in results) == ["FactUnavailable", "KeyError"]
    unavailable = next(r for r in results if isinstance(r, FactUnavailable))
    assert unavailable.reason is Reason.PROTOCOL and "crashed: KeyError" in unavailable.detail


def test_progress_names_the_checks_still_running():
    release = threading.Event()

    def slow(ctx):
        release.wait(5)  # until the progress of the fast one has been seen
        return Result.ok("slow")

    seen = []

    def progress(outcome, done, total, running):
        seen.append((outcome.id, done, total, list(running)))
        release.set()

    run_checks([spec("t.slow", slow), spec("t.fast", lambda ctx: Result.ok("fast"))], context(), 4, 5,
               progress=progress)
    assert seen[0] == ("t.fast", 1, 2, ["t.slow"])  # the progress line says what is still going on
    assert seen[-1] == ("t.slow", 2, 2, [])


def test_a_check_waiting_on_a_fact_gives_its_worker_back():
    """With one worker, checks blocked on slow facts (one fetching, one waiting for that fetch) do not keep
    a third check from running; and at most one check works (is not waiting) at any time."""
    ctx = context()
    working, peak, lock = [0], [0], threading.Lock()
    ended = {}

    def work(seconds):
        with lock:
            working[0] += 1
            peak[0] = max(peak[0], working[0])
        time.sleep(seconds)
        with lock:
            working[0] -= 1

    def slow_fetch():
        time.sleep(0.6)
        return "value"

    def reader(name):
        def check(c):
            work(0.05)
            value = c.facts.store.get("test:slow", slow_fetch)
            work(0.05)
            ended[name] = time.monotonic()
            return Result.ok(value)
        return check

    def quick(c):
        work(0.05)
        ended["quick"] = time.monotonic()
        return Result.ok("quick")

    started = time.monotonic()
    outcomes = run_checks([spec("t.a", reader("a")), spec("t.b", reader("b")), spec("t.quick", quick)],
                          ctx, 1, 5)
    assert [o.status for o in outcomes] == [Status.PASS] * 3
    assert ended["quick"] - started < 0.4       # did not wait for the 0.6 s fetch
    assert peak[0] == 1                          # the bound still holds for the checks working
    assert time.monotonic() - started < 1.2


def test_a_failed_connect_is_remembered_per_address_and_port():
    import socket

    from ocscheck.facts.dial import Dials

    with socket.socket() as probe:  # a port nothing listens on: bound, never listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        dials = Dials()
        for attempt in range(2):
            try:
                dials.connect("127.0.0.1", port, time.monotonic() + 2)
            except FactUnavailable as exc:
                assert exc.reason is Reason.REFUSED
                assert ("remembered" in exc.detail) == (attempt == 1)
            else:
                raise AssertionError("connected to a port nothing listens on")
