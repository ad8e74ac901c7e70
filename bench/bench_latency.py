"""A full post over a slow link, against the raw tools over the same link (issue 11, B1). As root, in a namespace:

    bash bench/netns.sh .venv/bin/python bench/bench_latency.py [--delay 0.1] [--runs 3] [--each] [--code DIR]

Starts the bundled example's full lab (bench/lab.py) and a delay proxy (bench/delay_proxy.py) in front of
each endpoint the site uses (LDAPS, 5061, 443, CRLs on 80, WinRM, both DNS views over UDP and TCP); nftables
DNAT inside the namespace sends the tools' traffic to the proxies, so neither the site file nor the names
change. Then, with --delay one way on every endpoint: the full `ocscheck post` (median of --runs), each
check alone (--each), and the raw probes of the same site over the same link — `ldapsearch` bind + one search
over LDAPS, `curl` of one HTTPS path, `openssl s_client` handshake on 5061 — and the ratio of the full run
to the slowest probe (goal <= 2). Beside them, not part of the goal: one command sent with pywinrm, what
WinRM's round trips cost a script (the site's WinRM host is part of the run, and of no raw tool). The
statuses with and without the delay are compared (they must match).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path
from typing import Dict, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lab import bench_lab  # noqa: E402

TCP = [("127.0.0.2", 636), ("127.0.0.2", 389), ("127.0.0.3", 636), ("127.0.0.3", 389), ("127.0.0.20", 5061),
       ("127.0.0.20", 443), ("127.0.0.30", 5985), ("127.0.0.40", 80), ("127.0.0.53", 5353), ("127.0.0.54", 5353)]
UDP = [("127.0.0.53", 5353), ("127.0.0.54", 5353)]
SOURCE = "127.0.100.1"   # the proxy's own upstream traffic: left alone by the DNAT rules
TABLE = "ocscheck_bench_delay"


def proxy_address(address: str) -> str:
    return "127.0.100." + address.rsplit(".", 1)[1]


def listening(kind: str) -> set:
    out = subprocess.run(["ss", "-Hln", "-t" if kind == "tcp" else "-u"], capture_output=True, text=True).stdout
    found = set()
    for line in out.splitlines():
        local = line.split()[3]
        host, _, port = local.rpartition(":")
        found.add((host.strip("[]"), int(port)))
    return found


def delay_on(routes: List[Tuple[str, str, int]]) -> None:
    rules = [f"    ip saddr {SOURCE} return"]
    for kind, address, port in routes:
        rules.append(f"    ip daddr {address} {kind} dport {port} dnat to {proxy_address(address)}:{port}")
    script = (f"table ip {TABLE} {{\n  chain out {{\n    type nat hook output priority -100;\n"
              + "\n".join(rules) + "\n  }\n}\n")
    subprocess.run(["nft", "-f", "-"], input=script, text=True, check=True)


def delay_off() -> None:
    subprocess.run(["nft", "delete", "table", "ip", TABLE], capture_output=True)


def wall(argv: List[str], env: Dict[str, str], cwd: Optional[Path] = None) -> Tuple[float, int, str]:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    return time.perf_counter() - started, done.returncode, done.stdout + done.stderr


def median_wall(argv: List[str], env: Dict[str, str], runs: int, cwd: Optional[Path] = None) -> float:
    return statistics.median(wall(argv, env, cwd)[0] for _ in range(runs))


def statuses(argv: List[str], env: Dict[str, str], cwd: Optional[Path], report: Path) -> Dict[str, str]:
    subprocess.run(argv + ["--report", f"json:{report}"], env=env, cwd=cwd, capture_output=True)
    return {c["id"]: c["status"] for c in json.loads(report.read_text())["checks"]}


def raw_probes(site: Path, env: Dict[str, str]) -> Dict[str, List[str]]:
    values = tomllib.loads(site.read_text())
    bundle = str((site.parent / values["tls"]["ca_bundle"]).resolve())
    fqdn = values["deployment"]["server_fqdn"]
    ldap, tls = values["ldap"], values["tls"]
    password = env[ldap["password_env"]]
    base = "DC=" + ",DC=".join(values["deployment"]["ad_domain"].split("."))
    return {
        "ldapsearch bind + 1 search (LDAPS)": [
            "ldapsearch", "-LLL", "-H", ldap["url"], "-x", "-D", ldap["user"], "-w", password, "-b", base,
            "(sAMAccountName=RTCService)", "dn"],
        "curl one HTTPS path": [
            "curl", "-s", "-o", "/dev/null", "--cacert", bundle, "--resolve", f"{fqdn}:{tls['https_port']}:127.0.0.20",
            f"https://{fqdn}:{tls['https_port']}{tls['web_paths'][0]}"],
        "openssl s_client handshake 5061": [
            "openssl", "s_client", "-connect", f"127.0.0.20:{tls['sip_port']}", "-servername", fqdn, "-CAfile", bundle],
    }


def raw_winrm_probe(site: Path, py: str) -> List[str]:
    """One command over WinRM with pywinrm as a script would send it (NTLM, shell, command, output, cleanup):
    not one of the issue's raw tools, printed beside them to show what WinRM's round trips cost alone."""
    host = tomllib.loads(site.read_text())["winrm"]["server"]
    code = ("import os, sys, winrm\n"
            f"s = winrm.Session('http://{host['host']}:{host['port']}/wsman', transport='ntlm',\n"
            f"                  auth=({host['user']!r}, os.environ[{host['password_env']!r}]))\n"
            "s.run_cmd('netsh', ['http', 'show', 'sslcert'])\n")
    return [py, "-c", code]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--each", action="store_true", help="also time each check alone (one run each)")
    parser.add_argument("--statuses", type=Path, help="write the statuses (no delay, delay) as JSON to compare runs")
    parser.add_argument("--timeline", action="store_true", help="print when each fact was fetched (delayed run)")
    parser.add_argument("--code", type=Path, help="run the package from this tree instead of the installed one")
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="ocscheck-bench-latency-") as tmp:
        work = Path(tmp)
        with bench_lab(work, args.code) as (site, env, cwd):
            env_tools = {**env, "LDAPTLS_CACERT": str((site.parent / tomllib.loads(site.read_text())["tls"]
                                                       ["ca_bundle"]).resolve()), "LDAPTLS_REQCERT": "demand"}
            post = [py, "-m", "ocscheck", "post", "-c", str(site), "-q"]
            routes = [("tcp", a, p) for a, p in TCP if (a, p) in listening("tcp")] + \
                     [("udp", a, p) for a, p in UDP if (a, p) in listening("udp")]
            proxy = subprocess.Popen([py, str(Path(__file__).with_name("delay_proxy.py")), "--delay", str(args.delay),
                                      "--source", SOURCE, *[f"{k}:{proxy_address(a)}:{p}={a}:{p}" for k, a, p in routes]],
                                     stdout=subprocess.PIPE, text=True)
            try:
                assert proxy.stdout is not None and proxy.stdout.readline().strip() == "ready"
                wall(post, env, cwd)  # byte-code cache, the lab's first answers
                plain = median_wall(post, env, args.runs, cwd)
                before = statuses(post, env, cwd, work / "plain.json")
                delay_on(routes)
                slow_statuses = statuses(post, env, cwd, work / "slow.json")
                full = median_wall(post, env, args.runs, cwd)
                sequential_site = work / "lab" / "site-1.toml"
                sequential_site.write_text(site.read_text().replace("workers = 16", "workers = 1"))
                one_worker = wall([py, "-m", "ocscheck", "post", "-c", str(sequential_site), "-q"], env, cwd)[0]
                probes = {}
                for name, argv in raw_probes(site, env).items():
                    seconds, code, out = wall(argv, env_tools)
                    if code != 0 and not name.startswith("openssl"):
                        print(f"warning: {name} exited {code}: {out.strip()[:200]}")
                    probes[name] = statistics.median([seconds] + [wall(argv, env_tools)[0] for _ in range(args.runs - 1)])
                winrm_probe = median_wall(raw_winrm_probe(site, py), env_tools, args.runs)
                if args.timeline:
                    timeline = [py, str(Path(__file__).with_name("fact_timeline.py")), str(site)]
                    print(wall(timeline + (["--code", str(args.code)] if args.code else []), env, cwd)[2])
                each = {}
                if args.each:
                    for check_id in sorted(slow_statuses):
                        each[check_id] = wall(post + ["--only", check_id], env, cwd)[0]
            finally:
                delay_off()
                proxy.terminate()
                proxy.wait()
    if args.statuses:
        args.statuses.write_text(json.dumps({"plain": before, "delay": slow_statuses}, indent=1, sort_keys=True))
    slowest_probe = max(probes.values())
    print(f"{args.delay * 1000:.0f} ms one way on {len(routes)} endpoints; median of {args.runs}"
          f"{' (code: ' + str(args.code) + ')' if args.code else ''}")
    print(f"ocscheck post, no delay                    {plain:6.2f} s")
    print(f"ocscheck post, delay                       {full:6.2f} s   {full / slowest_probe:.2f}x the slowest probe")
    print(f"ocscheck post, delay, run.workers = 1      {one_worker:6.2f} s")
    for name, seconds in probes.items():
        print(f"{name:<42} {seconds:6.2f} s")
    print(f"(not a goal's probe) pywinrm, one command    {winrm_probe:6.2f} s   the run: {full / winrm_probe:.2f}x it")
    changed = {k: (before.get(k), v) for k, v in slow_statuses.items() if before.get(k) != v}
    print(f"statuses with and without the delay: {'identical' if not changed else changed}"
          f" ({sum(1 for s in slow_statuses.values() if s == 'pass')} pass of {len(slow_statuses)})")
    if each:
        print("each check alone, with the delay (slowest first):")
        for check_id, seconds in sorted(each.items(), key=lambda kv: -kv[1])[:12]:
            print(f"  {check_id:<24} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
