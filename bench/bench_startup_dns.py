"""Start-up and DNS figures, measured in one run (python bench/bench_startup_dns.py, as root for the lab).

- `ocscheck --help` wall time next to `python -c "import click"` (the floor of any click CLI);
- `ocscheck post --only 'dns.*'` against the lab's dnsmasq views next to `dig` making the same queries.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import timed  # noqa: E402
from ocscheck.siteinit import render_site  # noqa: E402
from tests.lab import dnsmasq  # noqa: E402




def main() -> None:
    py = sys.executable
    click_floor = timed([py, "-c", "import click"], runs=10)
    help_time = timed([py, "-m", "ocscheck", "--help"], runs=10)
    print(f"python -c 'import click'      {click_floor * 1000:7.1f} ms (median of 10)")
    print(f"ocscheck --help               {help_time * 1000:7.1f} ms  ratio {help_time / click_floor:.2f}x")
    with tempfile.TemporaryDirectory() as tmp:
        overrides, stop = dnsmasq.start_good_lab(Path(tmp))
        try:
            site = Path(tmp) / "site.toml"
            site.write_text(render_site({"deployment": {"server_fqdn": "ocs.todorovic.adds",
                                                        "sip_domains": ["todorovic.fr"], "ad_domain": "todorovic.adds"},
                                         **overrides}))
            run = timed([py, "-m", "ocscheck", "post", "-c", str(site), "--only", "dns.*", "-q"], runs=5)
            print(f"ocscheck post --only 'dns.*'  {run * 1000:7.1f} ms (5 checks, 7 distinct queries, 2 views)")
            dig = shutil.which("dig")
            if dig:
                internal = overrides["dns"]["internal"][0].split(":")
                external = overrides["dns"]["external"][0].split(":")
                queries = [(internal, "ocs.todorovic.adds", "A"), (internal, "sip.todorovic.fr", "A"),
                           (internal, "_sip._tls.todorovic.fr", "SRV"), (internal, "_sipinternaltls._tcp.todorovic.fr", "SRV"),
                           (internal, "_sipinternal._tcp.todorovic.fr", "SRV"), (external, "_sip._tls.todorovic.fr", "SRV"),
                           (external, "sip.todorovic.fr", "A")]
                script = " ; ".join(f"{dig} +short +tries=1 +time=2 -p {s[1]} @{s[0]} {n} {t} >/dev/null"
                                    for s, n, t in queries)
                dig_time = timed(["sh", "-c", script], runs=5)
                print(f"dig, {len(queries)} sequential queries    {dig_time * 1000:7.1f} ms  ratio "
                      f"{run / dig_time:.2f}x")
        finally:
            stop()


if __name__ == "__main__":
    main()
