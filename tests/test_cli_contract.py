"""What CI and people rely on from preflight/post: no green when nothing was checked, a configured but
unusable source is an error, prompts only for what the selected checks need, Ctrl-C and SIGTERM, reports
on standard output, report paths that never replace what is not a regular file, and --baseline."""
from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ocscheck.api import run
from ocscheck.cli import main
from ocscheck.model import Status
from ocscheck.reports.baseline import compare
from tests.helpers import make_outcome, make_site

BASE = """\
[deployment]
server_fqdn = "ocs.todorovic.adds"
sip_domains = ["todorovic.fr"]
ad_domain = "todorovic.adds"
"""


def site(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "ocscheck.toml"
    path.write_text(BASE + textwrap.dedent(extra))
    return path


def invoke(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env, catch_exceptions=False)


# ------------------------------------------------------------------------------ nothing checked

def test_a_run_where_everything_skipped_exits_3_saying_nothing_was_checked(tmp_path):
    result = invoke("preflight", "-c", site(tmp_path), "--only", "ad.*", "--only", "host.*")
    assert result.exit_code == 3, result.output
    assert "nothing was checked" in result.output


def test_fail_on_skip_makes_a_skip_fail(tmp_path):
    result = invoke("preflight", "-c", site(tmp_path), "--only", "ad.*", "--fail-on", "skip",
                    "--report", f"junit:{tmp_path}/j.xml")
    assert result.exit_code == 1, result.output
    assert '<failure message="not configured' in (tmp_path / "j.xml").read_text()


def test_unset_password_of_a_configured_ldap_is_an_error_not_a_skip(tmp_path):
    path = site(tmp_path, """\
        [ldap]
        url = "ldaps://127.0.0.1:1"
        user = "reader@todorovic.adds"
        password_env = "OCS_TEST_UNSET_PW"
        """)
    result = invoke("preflight", "-c", path, "--only", "ad.forest-level", "--report", f"json:{tmp_path}/r.json",
                    env={"OCS_TEST_UNSET_PW": None})
    assert result.exit_code == 3, result.output
    check = json.loads((tmp_path / "r.json").read_text())["checks"][0]
    assert check["status"] == "error"
    assert check["summary"].startswith("secret not available: environment variable OCS_TEST_UNSET_PW")


def test_unreadable_certificate_file_is_an_error_for_every_certificate_check(tmp_path):
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"not a certificate at all")
    result = invoke("preflight", "-c", site(tmp_path), "--only", "cert.*", "--certificate", garbage,
                    "--report", f"json:{tmp_path}/r.json")
    assert result.exit_code == 3, result.output
    checks = json.loads((tmp_path / "r.json").read_text())["checks"]
    assert len(checks) >= 7 and {c["status"] for c in checks} == {"error"}
    assert all("unreadable" in c["summary"] for c in checks)


# ----------------------------------------------------------------------------------- prompts

def test_prompts_only_for_the_secrets_the_selected_checks_need():
    asked = []
    overrides = {"ldap": {"url": "ldaps://127.0.0.1:1", "user": "reader@todorovic.adds"},
                 "winrm": {"server": {"host": "127.0.0.1", "port": 1, "user": "T\\admin"}},
                 "run": {"timeout": 0.5}}
    run(make_site(overrides), "post", only=["dns.server-a"], environ={}, prompt=lambda what: asked.append(what))
    assert asked == []
    run(make_site(overrides), "post", only=["ad.forest-level"], environ={}, prompt=lambda what: asked.append(what))
    assert asked == ["LDAP password for reader@todorovic.adds (environment variable OCSCHECK_LDAP_PASSWORD "
                     "is not set)"]  # asked once, before the checks, even though the answer was empty


def test_ctrl_c_at_a_prompt_aborts_the_run():
    def abort(what):
        raise click.Abort()

    site_ = make_site({"ldap": {"url": "ldaps://127.0.0.1:1", "user": "reader@todorovic.adds"}})
    with pytest.raises(click.Abort):
        run(site_, "post", only=["ad.forest-level"], environ={}, prompt=abort)


# ------------------------------------------------------------------------------- signals

@pytest.fixture
def silent_ldaps():
    """A listener that accepts and never answers: an LDAPS handshake waits there for the whole timeout."""
    listener = socket.create_server(("127.0.0.1", 0))
    held = []
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    listener.close()


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_the_run_writes_the_reports_with_unfinished_checks_as_errors(tmp_path, silent_ldaps,
                                                                                     sig, code):
    path = site(tmp_path, f"""\
        [ldap]
        url = "ldaps://127.0.0.1:{silent_ldaps}"
        user = "reader@todorovic.adds"
        [run]
        timeout = 30
        """)
    out = tmp_path / "out"
    out.mkdir()
    process = subprocess.Popen([sys.executable, "-m", "ocscheck", "preflight", "-c", str(path), "--only", "ad.*",
                                "--only", "dns.*", "--report", f"json:{out}/r.json", "--report", f"html:{out}/r.html"],
                               env={**os.environ, "OCSCHECK_LDAP_PASSWORD": "x"}, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    time.sleep(2.5)  # the checks are waiting on the silent DC
    started = time.monotonic()
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=20)
    assert process.returncode == code, stderr
    assert time.monotonic() - started < 10
    report = json.loads((out / "r.json").read_text())
    assert report["interrupted"] == signal.Signals(sig).name
    interrupted = [c for c in report["checks"] if c["summary"].startswith("interrupted")]
    assert interrupted and all(c["status"] == "error" for c in interrupted)
    assert sorted(p.name for p in out.iterdir()) == ["r.html", "r.json"]  # no temporary file left
    assert "Traceback" not in stderr


# ---------------------------------------------------------------------------- report outputs

def test_a_report_on_standard_output_moves_the_table_to_standard_error():
    result = CliRunner().invoke(main, ["post", "--example", "--report", "json:-"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["phase"] == "post"
    assert "checks in" in result.stderr
    quiet = CliRunner().invoke(main, ["post", "--example", "--report", "json:-", "-q"])
    assert json.loads(quiet.stdout)["phase"] == "post" and "checks in" not in quiet.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="replacing /dev/null needs root; so does the test of it")
def test_dev_null_stays_a_device():
    result = invoke("post", "--example", "-q", "--report", "json:/dev/null")
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_a_fifo_is_written_not_replaced(tmp_path):
    fifo = tmp_path / "report.fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    time.sleep(0.2)
    result = invoke("post", "--example", "-q", "--report", f"json:{fifo}")
    reader.join(5)
    assert result.exit_code == 0, result.output
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and json.loads(received[0])["phase"] == "post"


def test_a_symlink_is_written_through_and_a_replaced_file_keeps_its_mode(tmp_path):
    target = tmp_path / "real.json"
    target.write_text("old")
    os.chmod(target, 0o600)
    link = tmp_path / "link.json"
    link.symlink_to(target)
    result = invoke("post", "--example", "-q", "--report", f"json:{link}")
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and json.loads(target.read_text())["phase"] == "post"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


@pytest.mark.parametrize("args, words", [
    (["--report", "json:{d}", ], "is a directory"),
    (["--report", "json:{d}/missing/r.json"], "does not exist"),
    (["--report", "json:{d}/r.json", "--report", "html:{d}/r.json"], "both write"),
    (["--report", "json:-", "--report", "html:-"], "only one report can go to standard output"),
    (["--record", "{d}/f.json", "-c", "{d}/x.toml"], "cannot be combined with -c/--config or --record"),
])
def test_output_usage_errors_exit_2_before_any_check_runs(tmp_path, args, words):
    result = invoke("post", "--example", *[a.format(d=tmp_path) for a in args])
    assert result.exit_code == 2, result.output
    assert words in result.output
    assert "checks in" not in result.output


def test_ocscheck_config_names_the_site_file(tmp_path):
    result = invoke("preflight", "--only", "dns.server-a", env={"OCSCHECK_CONFIG": str(site(tmp_path))})
    assert result.exit_code == 3 and "nothing was checked" in result.output  # it read that file: no resolver


# ------------------------------------------------------------------------------------ baseline

def test_baseline_rules():
    before = {"a.one": Status.PASS, "a.two": Status.FAIL, "a.three": Status.ERROR, "a.four": Status.WARN}
    now = [make_outcome("a.one", Status.FAIL), make_outcome("a.two", Status.PASS),
           make_outcome("a.three", Status.ERROR), make_outcome("a.four", Status.WARN),
           make_outcome("a.five", Status.ERROR)]
    changes = compare(before, now, "prev.json")
    assert changes.new == ("a.one", "a.five") and changes.fixed == ("a.two",)
    assert [(c.id, c.before.value, c.after.value) for c in changes.changed] == [("a.one", "pass", "fail"),
                                                                                 ("a.two", "fail", "pass")]


def test_baseline_in_every_report(tmp_path):
    first = tmp_path / "first.json"
    assert invoke("post", "--example", "-q", "--report", f"json:{first}").exit_code == 0
    previous = json.loads(first.read_text())
    for check in previous["checks"]:
        if check["id"] == "dns.sip-cname":
            check["status"] = "fail"
    first.write_text(json.dumps(previous))
    out = tmp_path / "now"
    out.mkdir()
    result = invoke("post", "--example", "--baseline", first, *[x for fmt, name in (
        ("json", "r.json"), ("markdown", "r.md"), ("html", "r.html")) for x in ("--report", f"{fmt}:{out}/{name}")])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "r.json").read_text())["changes"] == {
        "baseline": str(first), "new": [], "fixed": ["dns.sip-cname"],
        "changed": [{"id": "dns.sip-cname", "from": "fail", "to": "pass"}]}
    assert f"Since {first}:" in result.output and "fixed (1): dns.sip-cname" in result.output
    assert "fixed (1): dns.sip-cname" in (out / "r.md").read_text()
    assert "fixed (1): dns.sip-cname" in (out / "r.html").read_text()
    again = invoke("post", "--example", "-q", "--baseline", out / "r.json", "--report", f"json:{out}/again.json")
    assert again.exit_code == 0 and "No change since" not in again.output  # -q: no table at all
    assert json.loads((out / "again.json").read_text())["changes"]["changed"] == []


def test_a_baseline_that_is_not_a_report_is_a_usage_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 1, "facts": {}}')
    result = invoke("post", "--example", "--baseline", bad)
    assert result.exit_code == 2 and "not an ocscheck JSON report" in result.output


# ------------------------------------------------------------------------------ readable errors

def test_an_unreachable_dc_is_said_once_per_area_in_short_words(tmp_path):
    path = site(tmp_path, """\
        [ldap]
        url = "ldaps://127.0.0.1:9"
        user = "reader@todorovic.adds"
        [run]
        timeout = 2
        """)
    result = invoke("preflight", "-c", path, "--only", "ad.*-level", "--only", "ad.schema-prep", "-v",
                    env={"OCSCHECK_LDAP_PASSWORD": "x"})
    assert result.exit_code == 3, result.output
    rows = {line.split()[0]: line for line in result.output.splitlines() if line.startswith("ad.")}
    assert "unreachable: ldaps://127.0.0.1:9: connection refused" in rows["ad.forest-level"]
    assert rows["ad.domain-level"].split(None, 2)[2] == "same as ad.forest-level"
    assert "said:" in result.output  # the library's own words: evidence, shown with -v
    assert "Errno" not in "".join(rows.values())


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another owner needs root")
def test_a_replaced_report_keeps_its_owner(tmp_path):
    target = tmp_path / "r.json"
    target.write_text("old")
    os.chown(target, 65534, 65534)  # nobody: a report the pipeline's account owns
    result = invoke("post", "--example", "-q", "--report", f"json:{target}")
    assert result.exit_code == 0, result.output
    assert (os.stat(target).st_uid, os.stat(target).st_gid) == (65534, 65534)
    assert json.loads(target.read_text())["phase"] == "post"
