"""The bundled example's full lab for the benches: Samba AD (LDAPS on 127.0.0.2), PKI + nginx + Kamailio
(127.0.0.20:5061/443, CRLs on 127.0.0.40:80), the WinRM endpoint (127.0.0.30:5985) and the two dnsmasq
views (127.0.0.53/54:5353), started with the helpers the tests and tests/lab/record_example.py use.

Run inside a private network namespace (bench/netns.sh): the lab binds 127.0.0.0/8 addresses only.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocscheck.siteinit import render_site  # noqa: E402
from tests import winrm_endpoint  # noqa: E402
from tests.helpers import merge  # noqa: E402
from tests.lab import dnsmasq, samba, tls_lab  # noqa: E402
from tests.lab.record_example import BASE, _flatten, _publish_cas  # noqa: E402

# The hosts a dead-host scenario drops, by role.
HOSTS = {"dc": "127.0.0.2", "server": "127.0.0.20", "winrm": "127.0.0.30"}


@contextmanager
def full_lab(work: Path, timeout: float = 5.0, workers: int = 16) -> Iterator[Tuple[Path, Dict[str, str]]]:
    """(site file, environment with the lab's passwords) while the whole lab runs."""
    stops: List[Callable[[], None]] = []
    try:
        ad, stop = samba.start_good_lab(work / "ad")
        stops.append(stop)
        tls, stop = tls_lab.start_good_lab(work / "tls", also_trust=[Path(ad["tls"]["ca_bundle"])])
        stops.append(stop)
        hosts, stop = winrm_endpoint.start_good_lab(work / "winrm", tls_lab.good_lab_thumbprint(work / "tls"))
        stops.append(stop)
        dns, stop = dnsmasq.start_good_lab(work)
        stops.append(stop)
        _publish_cas(ad, work / "tls")  # as the bundled example's lab: cert.ca-published passes here too
        values = merge(merge(merge(merge(BASE, ad), hosts), dns), tls)
        values = merge(values, {"run": {"timeout": timeout, "workers": workers}})
        site = work / "site.toml"
        site.write_text(render_site(_flatten(values)))
        env = {**os.environ, samba.READER_ENV: samba.READER_PASSWORD, **winrm_endpoint.env()}
        yield site, env
    finally:
        for stop in reversed(stops):
            stop()


def bench_env(env: Dict[str, str], pycache: Path) -> Dict[str, str]:
    """The environment a user's install runs with: byte-code cached (outside the tree), not disabled."""
    env = dict(env)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def code_env(env: Dict[str, str], code: Path) -> Dict[str, str]:
    """Run ``python -m ocscheck`` from the tree ``code`` (a checkout of another commit, for before/after)."""
    return {**env, "PYTHONPATH": str(code)}


@contextmanager
def bench_lab(work: Path, code: Optional[Path] = None) -> Iterator[Tuple[Path, Dict[str, str], Optional[Path]]]:
    """(site file, environment, working directory) for timing ``python -m ocscheck`` against the whole lab:
    byte code cached as a user's install has it, and the package from the tree ``code`` when given."""
    with full_lab(work / "lab") as (site, env):
        env = bench_env(env, work / "pycache")
        cwd = None
        if code:
            env, cwd = code_env(env, code.resolve()), code.resolve()
        yield site, env, cwd
