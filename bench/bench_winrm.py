"""How much a host run costs over WinRM: scripts sent, bytes, wall time.

    python bench/bench_winrm.py [--runs 10] [--workdir DIR]

Starts the WS-Management test endpoint on 127.0.0.30:5985 (the ready Windows Server 2008 R2 host,
NTLM with message encryption), then runs ``preflight`` and ``post`` for every host check plus
ad.dc-health and the iis binding fact (server and DC on the same endpoint), ``--runs`` times each,
and prints per run: commands sent (PowerShell scripts / native tools), HTTP requests, bytes on the
wire (both ways, NTLM handshake included), the size of the largest command line, and the wall time.
"""
from __future__ import annotations

import argparse
import gc
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from ocscheck.collector import PROBES  # noqa: E402
from ocscheck.api import run  # noqa: E402
from tests.helpers import make_site  # noqa: E402
from tests.winrm_endpoint import WinrmEndpoint, env  # noqa: E402


def host_run(site, phase: str) -> float:
    """One run of the host checks (and, on post, iis.https-binding, for its WinRM probes: the site has no 443 to
    judge), planned and sent as a real run sends them (the prefetch); its wall time."""
    started = time.perf_counter()
    report = run(site, phase, only=["host.*", "ad.dc-health"] + (["iis.https-binding"] if phase == "post" else []),
                 environ=env(), workers=16)
    elapsed = time.perf_counter() - started
    bad = [o.id for o in report.outcomes if o.id != "iis.https-binding" and str(o.status) not in ("pass", "skip")]
    if bad:
        raise SystemExit(f"unexpected verdicts in the ready scenario: {bad}")
    return elapsed


def release() -> None:
    for thread in threading.enumerate():
        if thread.name.startswith("check "):
            thread.join(5)
    gc.collect()  # the run's facts go away: their shells are deleted


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ocscheck-bench-winrm-"))
    endpoint = WinrmEndpoint(workdir)
    try:
        site = make_site({"winrm": {**endpoint.site_overrides("server")["winrm"],
                                    **endpoint.site_overrides("dc")["winrm"]}, "run": {"timeout": 10.0}})
        longest = max(len(p.command_line()) for p in PROBES.values())
        print(f"largest command line: {longest} characters (cmd.exe limit 8191)")
        for phase in ("preflight", "post"):
            times, per_run = [], []
            for _ in range(args.runs):
                release()
                endpoint.clear_requests()
                times.append(host_run(site, phase))
                release()
                requests = endpoint.requests()
                commands = [r for r in requests if r["action"] == "Command"]
                per_run.append((len(commands), len(requests), sum(r["wire_in"] + r["wire_out"] for r in requests)))
            scripts, http, wire = per_run[-1]
            ps = [p.name for p in PROBES.values() if p.kind == "ps"]
            print(f"{phase}: {scripts} commands per run ({http} HTTP requests incl. NTLM handshakes and shell "
                  f"create/delete), {wire} bytes on the wire; "
                  f"wall time median {statistics.median(times) * 1000:.0f} ms, "
                  f"min {min(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms over {args.runs} runs "
                  f"(PowerShell probes: {', '.join(ps)})")
    finally:
        endpoint.stop()


if __name__ == "__main__":
    main()
