"""When each fact of a run was fetched: `python bench/fact_timeline.py SITE [--only ID] [--code DIR]` prints, for
one live `post` run judged in-process, every fact's start (seconds after the run began), duration and key, and
each check's start and end: what the run's time is made of. Used by bench_latency.py --timeline. --code DIR: the
package of that tree (a commit before, for a before/after), not this one's.
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path
from typing import List, Tuple



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--only", action="append", default=[])
    parser.add_argument("--code", type=Path, help="run the package from this tree instead of this one")
    args = parser.parse_args()
    sys.path.insert(0, str((args.code or Path(__file__).parents[1]).resolve()))
    from ocscheck.api import run
    from ocscheck.config import load_site
    from ocscheck.facts.store import FactStore

    events: List[Tuple[float, float, str]] = []
    lock = threading.Lock()
    original = FactStore._fill
    begin = time.monotonic()

    def timed_fill(self, key, entry, fetch):  # type: ignore[no-untyped-def]
        started = time.monotonic()
        try:
            original(self, key, entry, fetch)
        finally:
            with lock:
                events.append((started - begin, time.monotonic() - started,
                               key + ("  [error]" if entry.error is not None else "")))

    FactStore._fill = timed_fill  # type: ignore[method-assign]
    report = run(load_site(args.site), "post", only=args.only)
    total = time.monotonic() - begin
    print(f"run: {total:.2f} s (checks {report.duration_s:.2f} s)")
    for start, seconds, key in sorted(events):
        print(f"  fact  {start:5.2f} +{seconds:5.2f}  {key[:110]}")
    for outcome in sorted(report.outcomes, key=lambda o: (o.started_s or 0)):
        print(f"  check {outcome.started_s or 0:5.2f} +{outcome.duration_s:5.2f}  {outcome.id} {outcome.status}")


if __name__ == "__main__":
    main()
