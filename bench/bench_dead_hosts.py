"""A dead host costs one timeout, however many are dead (issue 11, B2). Run as root, in a namespace:

    bash bench/netns.sh .venv/bin/python bench/bench_dead_hosts.py --timeout 3 [--workers 16 4] [--code DIR]

Starts the bundled example's full lab (bench/lab.py), then for 0, 1, 2 and 3 dead hosts (the DC's LDAP
ports, the server's 5061 and 443, the WinRM host's 5985: nftables drop rules, so connects hang as they do
to a powered-off host) times `ocscheck post -c SITE --timeout T -q` and prints wall / T, with each run.workers
given. Start-up (`ocscheck --help`) is printed beside it: the goal is wall <= 1.2 x T + start-up.
--code DIR runs the package from another tree (e.g. a `git archive` of the commit before) for before/after.
"""
from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lab import bench_lab  # noqa: E402
from bench.timing import timed  # noqa: E402

DROPS = {"dc": "ip daddr 127.0.0.2 tcp dport { 389, 636 } drop",
         "server": "ip daddr 127.0.0.20 tcp dport { 443, 5061 } drop",
         "winrm": "ip daddr 127.0.0.30 tcp dport 5985 drop"}
TABLE = "ocscheck_bench_dead"


def set_dead(roles: Sequence[str]) -> None:
    subprocess.run(["nft", "delete", "table", "inet", TABLE], capture_output=True)
    if not roles:
        return
    rules = "\n".join(f"    {DROPS[role]}" for role in roles)
    script = f"table inet {TABLE} {{\n  chain out {{\n    type filter hook output priority 0;\n{rules}\n  }}\n}}\n"
    subprocess.run(["nft", "-f", "-"], input=script, text=True, check=True)


def one_run(argv: List[str], env: Dict[str, str], cwd: Optional[Path], report: Path) -> tuple:
    started = time.perf_counter()
    subprocess.run(argv + ["--report", f"json:{report}"], env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    wall = time.perf_counter() - started
    document = json.loads(report.read_text()) if report.exists() else {}
    checks = document.get("checks", [])
    report.unlink(missing_ok=True)
    statuses = {c["id"]: c["status"] for c in checks}
    slowest = max(checks, key=lambda c: c["duration_s"], default=None)
    span = f"checks {document.get('duration_s', 0):.1f} s, "
    return wall, statuses, span + (f"{slowest['id']} {slowest['duration_s']:.1f} s" if slowest else "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=3.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[16, 4])
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--only-dead", nargs="+", help="only this scenario (roles: dc server winrm)")
    parser.add_argument("--code", type=Path, help="run the package from this tree instead of the installed one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ocscheck-bench-dead-") as tmp:
        work = Path(tmp)
        with bench_lab(work, args.code) as (site, env, cwd):
            py = sys.executable
            startup = timed([py, "-m", "ocscheck", "--help"], 3)  # also fills the byte-code cache
            timed([py, "-m", "ocscheck", "post", "-c", str(site), "-q"], 1)  # warm the lab's caches once
            scenarios = [()] + [c for n in (1, 2, 3) for c in itertools.combinations(("dc", "server", "winrm"), n)]
            print(f"--timeout {args.timeout:g}; start-up (ocscheck --help) {startup:.2f} s; median of {args.runs}")
            print(f"{'dead hosts':<22}" + "".join(f"{'workers ' + str(w):>22}" for w in args.workers))
            if args.only_dead:
                scenarios = [tuple(args.only_dead)]
            for roles in scenarios:
                set_dead(roles)
                cells = []
                for workers in args.workers:
                    text = site.read_text().replace("workers = 16", f"workers = {workers}")
                    site_w = work / f"site-{workers}.toml"
                    site_w.write_text(text)
                    # The lab's relative paths (CA bundle, certificate) resolve against the site file's folder.
                    argv = [py, "-m", "ocscheck", "post", "-c", str(site_w), "--timeout", f"{args.timeout:g}", "-q"]
                    samples = [one_run(argv, env, cwd, work / "report.json") for _ in range(args.runs)]
                    wall = statistics.median(s[0] for s in samples)
                    errors = sum(1 for s in samples[-1][1].values() if s == "error")
                    cells.append(f"{wall:6.2f} s {wall / args.timeout:4.2f}xT {errors:2d} err")
                    slowest = samples[-1][2]
                print(f"{'+'.join(roles) or 'none':<22}" + "".join(f"{c:>22}" for c in cells) + f"   slowest: {slowest}",
                      flush=True)
            set_dead(())


if __name__ == "__main__":
    main()
