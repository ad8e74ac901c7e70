"""users.sip over a real Samba AD with many SIP users (python bench/bench_users.py, as root for the lab).

For each size (default 2,000 and 20,000 users) a throw-away DC is provisioned on 127.0.0.5 with the OCS
schema, forest prep, the pool and the users, then, in the same run:

- `users.sip` judged in a child Python process (fresh facts, the paged LDAP walk at page_size 500 over
  LDAPS, the summary, the verdict): wall time including the interpreter's start-up and imports, the time
  inside the process, medians of --runs, and the child's peak RSS (GNU time %M);
- `ldapsearch -E pr=500/noprompt` over LDAPS with the same filter and attributes, output discarded:
  wall time, median of --runs, peak RSS.

The child is a separate process so that its peak RSS is the figure that matters (how memory grows with
the directory), not the bench's own.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ocscheck.facts.ldap import SIP_USER_FILTER  # noqa: E402
from tests.lab.samba import BASE_DN, BULK_DC, READER, READER_PASSWORD, start_lab  # noqa: E402

TIME = "/usr/bin/time"
CHILD = """
import json, sys, time
sys.path.insert(0, {root!r})
from tests.helpers import judge, make_site
overrides = json.loads(sys.argv[1])
started = time.perf_counter()
outcome = judge(make_site(overrides), ["users.sip"], "post", env={{"OCSCHECK_LDAP_PASSWORD": sys.argv[2]}})["users.sip"]
print(json.dumps({{"seconds": time.perf_counter() - started, "status": str(outcome.status),
                  "summary": outcome.summary}}))
"""


def run_measured(argv: List[str], env: Dict[str, str], workdir: Path) -> Tuple[float, int, bytes]:
    """Wall seconds, peak RSS (KiB) and stdout of one child process.

    GNU time forks the child from its own small image: wait4() straight from this (large) Python process
    would report the RSS the child had before exec, i.e. ours.
    """
    report = workdir / "time.txt"
    started = time.perf_counter()
    done = subprocess.run([TIME, "-f", "%M", "-o", str(report), *argv], stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, env=env)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv[0]} exited {done.returncode}")
    return elapsed, int(report.read_text().split()[-1]), done.stdout


def bench(size: int, runs: int, workdir: Path) -> Dict[str, object]:
    started = time.perf_counter()
    lab = start_lab(workdir, ip=BULK_DC, hostname="ocsdc5")
    try:
        lab.forest.forest_prep()
        lab.forest.add_pool()
        lab.forest.bulk_users(size)
        setup = time.perf_counter() - started
        overrides = lab.site(page_size=500)
        overrides["run"] = {"timeout": 60.0}
        child = [sys.executable, "-c", CHILD.format(root=str(ROOT)), json.dumps(overrides), READER_PASSWORD]
        ours, inside, our_rss, summary = [], [], [], None
        for _ in range(runs):
            seconds, rss, out = run_measured(child, dict(os.environ), workdir)
            result = json.loads(out)
            ours.append(seconds)
            inside.append(result["seconds"])
            our_rss.append(rss)
            summary = result["summary"]
        env = {**os.environ, "LDAPTLS_CACERT": str(lab.ca.pem)}
        ldapsearch = ["ldapsearch", "-LLL", "-H", f"ldaps://{BULK_DC}", "-x", "-D", f"{READER}@todorovic.adds",
                      "-w", READER_PASSWORD, "-b", BASE_DN, "-E", "pr=500/noprompt", SIP_USER_FILTER,
                      "msRTCSIP-PrimaryUserAddress", "msRTCSIP-PrimaryHomeServer", "mail"]
        theirs, their_rss = [], []
        for _ in range(runs):
            seconds, rss, out = run_measured(ldapsearch, env, workdir)
            theirs.append(seconds)
            their_rss.append(rss)
        entries = out.count(b"\ndn: ") + out.startswith(b"dn: ")
    finally:
        lab.dc1.stop()
    return {"users": size, "setup_s": round(setup, 1), "users_sip_s": round(statistics.median(ours), 3),
            "users_sip_in_process_s": round(statistics.median(inside), 3),
            "users_sip_peak_rss_mib": round(max(our_rss) / 1024, 1), "summary": summary,
            "ldapsearch_s": round(statistics.median(theirs), 3),
            "ldapsearch_peak_rss_mib": round(max(their_rss) / 1024, 1), "ldapsearch_entries": entries}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    for size in args.sizes:
        tmp = Path(tempfile.mkdtemp(prefix="bench-users-"))
        try:
            print(json.dumps(bench(size, args.runs, tmp)), flush=True)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # a stopping DC's children may still be writing


if __name__ == "__main__":
    main()
