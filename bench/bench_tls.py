"""Certificate and SIP-over-TLS figures, measured in one run (python bench/bench_tls.py, as root for the lab).

Starts the good TLS lab (Kamailio on 127.0.0.20:5061, nginx with the CRLs on 127.0.0.40:80 and "IIS" on
127.0.0.20:443), then times, median of --runs each:

- `ocscheck post --only 'cert.*' --only 'sip.*'`: 9 checks; one handshake for the certificate checks, one
  OPTIONS session, two CRL fetches, all checks judged in parallel;
- `ocscheck post --only 'cert.*'`: the certificate part alone (7 checks);
- the 9 checks judged in-process with fresh facts, once Python has imported everything: what the
  checks themselves cost, without the interpreter start-up and imports every CLI run pays;
- the same certificate work with OpenSSL: `openssl s_client -showcerts` to capture the chain, curl to fetch
  both CDPs (`openssl verify -crl_download` cannot: -crl_check_all also wants a CRL for the root, which has
  no CDP), `openssl crl` to convert them, then `openssl verify -crl_check_all` (chain, signatures, CRLs).
  OpenSSL has no way to send one SIP OPTIONS and stop at the answer, so this is compared with the
  certificate-only figure; the first figure adds the SIP checks on top.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.timing import timed  # noqa: E402
from ocscheck.siteinit import render_site  # noqa: E402
from tests.lab import OCS  # noqa: E402
from tests.lab.pki import CRL_BASE  # noqa: E402
from tests.lab.tls_lab import start_good_lab  # noqa: E402




def warm_judge(overrides, runs: int) -> float:
    """The checks alone, in this process once everything is imported: the network and validation cost."""
    from tests.helpers import judge, make_site

    site = make_site(overrides)
    judge(site, ["cert.*", "sip.*"])  # imports, registry
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        outcomes = judge(site, ["cert.*", "sip.*"])
        samples.append(time.perf_counter() - started)
        assert all(o.status.value == "pass" for o in outcomes.values()), outcomes
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    runs = parser.parse_args().runs
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="ocscheck-bench-tls-") as tmp:
        workdir = Path(tmp)
        overrides, stop = start_good_lab(workdir, pin_address=True)
        try:
            site = workdir / "site.toml"
            site.write_text(render_site({"deployment": {"server_fqdn": "ocs.todorovic.adds",
                                                        "sip_domains": ["todorovic.fr"],
                                                        "ad_domain": "todorovic.adds"}, **overrides}))
            both = [py, "-m", "ocscheck", "post", "-c", str(site), "--only", "cert.*", "--only", "sip.*", "-q"]
            check = subprocess.run(both, capture_output=True, text=True)
            if check.returncode != 0:
                sys.exit(f"the lab run did not pass (exit {check.returncode}):\n{check.stdout}{check.stderr}")
            chain, crls = workdir / "chain.pem", workdir / "crls.pem"
            fetch = " && ".join(f"curl -sf {url} | openssl crl -inform DER >> {crls}"
                                for url in (f"{CRL_BASE}/lab-issuing.crl", f"{CRL_BASE}/lab-root.crl"))
            openssl = (f"openssl s_client -connect {OCS}:5061 -showcerts </dev/null 2>/dev/null > {chain} && "
                       f": > {crls} && {fetch} && "
                       f"openssl verify -CAfile {overrides['tls']['ca_bundle']} -untrusted {chain} "
                       f"-crl_check_all -CRLfile {crls} {chain}")
            verified = subprocess.run(["sh", "-c", openssl], capture_output=True, text=True)
            if verified.returncode != 0 or ": OK" not in verified.stdout:
                sys.exit(f"openssl verify did not pass:\n{verified.stdout}{verified.stderr}")
            cert_and_sip = timed(both, runs)
            cert_only = timed([py, "-m", "ocscheck", "post", "-c", str(site), "--only", "cert.*", "-q"], runs)
            reference = timed(["sh", "-c", openssl], runs)
            floor = timed([py, "-m", "ocscheck", "--help"], runs)
            in_process = warm_judge(overrides, runs)
        finally:
            stop()
    print(f"median of {runs} runs each, same lab, same run")
    print(f"ocscheck post --only 'cert.*' --only 'sip.*'     {cert_and_sip * 1000:7.1f} ms (9 checks)")
    print(f"ocscheck post --only 'cert.*'                    {cert_only * 1000:7.1f} ms (7 checks)")
    print(f"openssl s_client + verify -crl_check_all         {reference * 1000:7.1f} ms "
          f"(certificate work only; ocscheck cert.* is {cert_only / reference:.2f}x)")
    print(f"ocscheck --help (interpreter + CLI start-up)     {floor * 1000:7.1f} ms")
    print(f"the 9 checks in-process, imports done            {in_process * 1000:7.1f} ms "
          f"(fresh facts each run: handshakes, OPTIONS, CRL fetches, validation)")


if __name__ == "__main__":
    main()
