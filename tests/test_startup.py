"""What a run imports (issue 11, B3): a replay judges recorded facts, so it must not load a network
client, and a report's renderer loads only when that format is asked for. The time this saves is
measured by bench/bench_startup.py; here, what is imported — in a fresh interpreter, as a user runs it."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

NETWORK_CLIENTS = ("ldap3", "requests", "urllib3", "dns", "OpenSSL", "winrm", "spnego", "requests_ntlm")


def imported_after(argv: List[str]) -> List[str]:
    """The modules and top-level packages loaded by `ocscheck ARGV` run in a fresh interpreter."""
    code = ("import sys, json\nfrom ocscheck.cli import main\n"
            "try:\n    main(sys.argv[1:], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted(set(sys.modules) | {m.split('.')[0] for m in sys.modules})), file=sys.__stderr__)")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
    return json.loads(done.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["post", "--example", "-q"], ["preflight", "--example", "-q"],
                                  ["post", "--example", "failing", "-q"]])
def test_a_replay_loads_no_network_client_nor_plugin_reader(argv: List[str]) -> None:
    loaded = imported_after(argv)
    assert [m for m in NETWORK_CLIENTS if m in loaded] == []
    assert "jinja2" not in loaded  # no HTML report asked for
    assert "importlib.metadata" not in loaded  # no plugin distribution installed: nothing to read
    # Nor what only a live run uses: TLS, threads' futures (and logging with them), temporary files.
    assert [m for m in ("ssl", "concurrent.futures", "logging", "tempfile") if m in loaded] == []


def test_a_report_renderer_loads_when_asked(tmp_path: Path) -> None:
    assert "jinja2" in imported_after(["post", "--example", "-q", "--report", f"html:{tmp_path / 'r.html'}"])
