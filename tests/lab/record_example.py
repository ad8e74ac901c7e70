"""Record the bundled example (ocscheck/example/) from the lab's "everything right" scenario.

    python -m tests.lab.record_example        (as root: the lab binds privileged ports)

Brings up each area's good lab, writes the site file the run used to ocscheck/example/site.toml
and the recorded facts of a post and a preflight run next to it. `ocscheck post --example`
replays them with no network.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List

from ocscheck.siteinit import render_site
from tests.helpers import merge
from tests.lab import dnsmasq

EXAMPLE = Path(__file__).resolve().parents[2] / "ocscheck" / "example"
BASE: Dict[str, Any] = {
    "deployment": {"server_fqdn": "ocs.todorovic.adds", "sip_domains": ["todorovic.fr"], "ad_domain": "todorovic.adds",
                   "server_ip": "127.0.0.20", "extra_sans": ["cwa.todorovic.fr"]},
    "dns": {"management_server": "ocsdc1.todorovic.adds"},
    "run": {"timeout": 5.0},
}
LABS: List[Callable] = [dnsmasq.start_good_lab]


def _flatten(values: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """{"winrm": {"server": {...}}} -> {"winrm.server": {...}} as render_site expects."""
    flat = {k: v for k, v in values.items() if k != "winrm"}
    for role, table in values.get("winrm", {}).items():
        flat[f"winrm.{role}"] = table
    return flat


def main() -> int:
    stops: List[Callable[[], None]] = []
    values = BASE
    with tempfile.TemporaryDirectory(prefix="ocscheck-example-") as tmp:
        try:
            for start in LABS:
                overrides, stop = start(Path(tmp))
                stops.append(stop)
                values = merge(values, overrides)
            for name in ("ca.pem",):  # files the site refers to travel with the example
                source = Path(tmp) / name
                if source.exists():
                    shutil.copy(source, EXAMPLE / name)
                    values = merge(values, {"tls": {"ca_bundle": name}})
            (EXAMPLE / "site.toml").write_text(render_site(_flatten(values)))
            for phase in ("post", "preflight"):
                subprocess.run([sys.executable, "-m", "ocscheck", phase, "-c", str(EXAMPLE / "site.toml"), "-q",
                                "--record", str(EXAMPLE / f"{phase}.facts.json")], check=False)
        finally:
            for stop in reversed(stops):
                stop()
    print(f"recorded the example into {EXAMPLE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
