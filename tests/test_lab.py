"""The lab's own rule: a server that cannot start fails the test under CI=true and skips elsewhere."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ocscheck.secrets import Redactor, SecretMissing, Secrets

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
from tests.lab import Server, require_tool
def test_probe(tmp_path):
    require_tool("no-such-server-binary")
"""


@pytest.mark.parametrize("ci, expected", [("true", "1 failed"), ("", "1 skipped")])
def test_unstartable_server_fails_only_under_ci(tmp_path, ci, expected):
    probe = tmp_path / "test_probe.py"
    probe.write_text(PROBE)
    env = {**os.environ, "CI": ci, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(probe)],
                          cwd=tmp_path, env=env, capture_output=True, text=True)
    assert expected in done.stdout, done.stdout + done.stderr


def test_server_that_dies_at_start_is_reported_with_its_log(tmp_path):
    from tests.lab import Server

    with pytest.raises(pytest.skip.Exception if os.environ.get("CI") != "true" else pytest.fail.Exception) as info:
        server = Server("false", ["sh", "-c", "echo cannot bind >&2; exit 3"], tmp_path / "false.log")
        server.ready(lambda: False, timeout=5)
    assert "exit 3" in str(info.value) and "cannot bind" in str(info.value)


def test_secrets_prompt_once_and_are_redacted():
    asked = []
    redactor = Redactor()
    secrets = Secrets(redactor, environ={}, prompt=lambda what: asked.append(what) or "pa55word")
    assert secrets.get("LDAP_PW", "LDAP password") == "pa55word"
    assert secrets.get("LDAP_PW", "LDAP password") == "pa55word"
    assert asked == ["LDAP password (environment variable LDAP_PW is not set)"]
    assert redactor.redact("bind failed for pa55word") == "bind failed for ********"
    assert redactor.redact_json({"k": ["x pa55word"]}) == {"k": ["x ********"]}
    with pytest.raises(SecretMissing, match="environment variable OTHER"):
        Secrets(Redactor(), environ={}).get("OTHER", "WinRM password")
