"""The terminal report: NO_COLOR and --color, fitting the terminal's width, invisible characters shown."""
from __future__ import annotations

import os
import pty
import subprocess
import sys
import unicodedata
from datetime import datetime

import pytest
from click.testing import CliRunner

from ocscheck.cli import main
from ocscheck.model import Outcome, Severity, Status
from ocscheck.reports import RunReport, reveal
from ocscheck.reports.text import fit_table, render, use_colour

GREEN = "\x1b[32mPASS\x1b[0m"


def outcome(check_id, status, summary="ok", evidence=(), remediation=""):
    return Outcome(id=check_id, area=check_id.split(".")[0], title=f"title of {check_id}", severity=Severity.HIGH,
                   status=status, summary=summary, evidence=tuple(evidence), remediation=remediation,
                   duration_s=0.01)


def _report(*outcomes):
    return RunReport(phase="post", started=datetime(2026, 11, 27, 7, 30, 5), duration_s=1.25, outcomes=outcomes,
                     tool_version="0.1.0", site="ocscheck.toml")


@pytest.mark.parametrize("choice, isatty, env, expected", [
    ("auto", True, {}, True),
    ("auto", False, {}, False),
    ("auto", True, {"NO_COLOR": "1"}, False),
    ("auto", True, {"NO_COLOR": ""}, True),     # no-color.org: set *and* not empty
    ("always", False, {"NO_COLOR": "1"}, True),  # an explicit option wins over the environment
    ("never", True, {}, False),
])
def test_use_colour(choice, isatty, env, expected):
    assert use_colour(choice, isatty=isatty, environ=env) is expected


def test_color_option_on_the_command_line():
    always = CliRunner().invoke(main, ["post", "--example", "--only", "dns.*", "--color", "always"])
    assert always.exit_code == 0 and GREEN in always.output
    never = CliRunner().invoke(main, ["post", "--example", "--only", "dns.*", "--color", "never"])
    assert never.exit_code == 0 and "\x1b" not in never.output and "PASS" in never.output
    assert "\x1b" not in CliRunner().invoke(main, ["post", "--example", "--only", "dns.*"]).output  # not a TTY


def _on_a_terminal(env_extra):
    """Run ocscheck with its stdout on a real pseudo-terminal; what it printed."""
    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env.update(env_extra)
    process = subprocess.Popen([sys.executable, "-m", "ocscheck", "post", "--example", "--only", "dns.*"],
                               stdout=terminal, stderr=terminal, stdin=subprocess.DEVNULL, env=env)
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    assert process.wait(timeout=60) == 0
    return b"".join(chunks).decode("utf-8", "replace")


def test_auto_colours_a_terminal_unless_no_color():
    assert GREEN in _on_a_terminal({"COLUMNS": "100"})
    assert "\x1b[32m" not in _on_a_terminal({"COLUMNS": "100", "NO_COLOR": "1"})


@pytest.mark.parametrize("columns", [50, 80, 132])
@pytest.mark.parametrize("args", [["list"], ["list", "-c", "ocscheck/example/site.toml"],
                                  ["post", "--example", "-v"], ["preflight", "--example", "-v"]])
def test_output_fits_the_width_given_by_columns(columns, args, monkeypatch):
    monkeypatch.chdir(os.path.join(os.path.dirname(__file__), ".."))
    result = CliRunner().invoke(main, args, env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result.output
    widths = [len(line) for line in result.output.splitlines()]
    assert max(widths) <= columns, [line for line in result.output.splitlines() if len(line) > columns]
    if args[0] == "list":
        # Nothing lost in the wrapping: every check id is there whole, on its own row (a table when it
        # fits, else one block per check, as at 50 columns).
        from ocscheck.registry import load_all
        lines = result.output.splitlines()
        assert lines[0].startswith("id ") is (columns > 50)
        ids = [line.split()[0] for line in lines[2 if columns > 50 else 0:] if line[:1].strip()]
        assert ids == [spec.id for spec in load_all().specs()]


def test_list_is_not_wrapped_on_a_wide_terminal():
    result = CliRunner().invoke(main, ["list"], env={"COLUMNS": "400"})
    assert "Forest functional level is Windows Server 2003 or higher" in result.output


def test_long_cells_wrap_inside_their_column_and_long_dns_break():
    dn = "CN=" + ",".join(f"OU=unit{i}" for i in range(30)) + ",DC=todorovic,DC=adds"
    report = _report(outcome("ad.pool", Status.FAIL, "a summary " * 20, [dn], "fix it " * 30))
    page = render(report, verbose=True, width=60)
    fix = "    fix: " + "fix it " * 30
    assert fix in page  # a fix is a command to paste: never wrapped
    assert max(len(line) for line in page.splitlines() if not line.startswith("    fix: ")) <= 60
    table = page.split("[ad]\n", 1)[1]
    rows = table.splitlines()[2:]
    assert rows[0].startswith("ad.pool  FAIL      a summary")
    assert all(row.startswith(" " * 18 + "a summary") for row in rows[1:] if row.startswith(" ") and
               "evidence" not in row and row.strip().startswith("a summary"))
    joined = "".join(line.strip() for line in page.splitlines() if line.startswith("    ") and "fix: " not in line)
    assert dn in joined.replace("evidence: ", "")  # broken across lines, nothing dropped


def test_evidence_is_not_wrapped_in_a_pipe():
    dn = "CN=" + ",".join(f"OU=unit{i}" for i in range(30)) + ",DC=todorovic,DC=adds"
    page = render(_report(outcome("ad.pool", Status.FAIL, "short", [dn], "fix")), verbose=True, width=None)
    assert f"    evidence: {dn}" in page.splitlines()


def test_fit_table_leaves_fixed_columns_whole():
    table = fit_table([("a.very-long-check-identifier", "x " * 50)], ("id", "text"), 40, fixed=(0,))
    assert all(len(line) <= 40 for line in table.splitlines())
    assert "a.very-long-check-identifier" in table


def test_invisible_format_characters_are_shown_escaped():
    hostile = "sip.todorovic.fr\u202emoc.live\u200b\u2066x\u2069\ufeff"
    report = _report(outcome("cert.subject", Status.FAIL, f"CN is {hostile}", [f"subject: CN={hostile}"],
                             f"certreq for {hostile}"))
    page = render(report, verbose=True)
    assert not [c for c in page if unicodedata.category(c) == "Cf"]
    assert "CN is sip.todorovic.fr\\u202emoc.live\\u200b\\u2066x\\u2069\\ufeff" in page
    assert "subject: CN=sip.todorovic.fr\\u202e" in page and "certreq for sip.todorovic.fr\\u202e" in page
    assert reveal("plain é ü 中文") == "plain é ü 中文"  # letters of any script are left alone


def test_list_in_a_pipe_keeps_whole_rows_for_grep():
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    listing = subprocess.run([sys.executable, "-m", "ocscheck", "list"], env=env, capture_output=True, text=True,
                             check=True).stdout
    assert [line for line in listing.splitlines() if line.startswith("ad.forest-level")][0].split()[-1] == "ldap"
    assert "Forest functional level is Windows Server 2003 or higher" in listing
