"""The canary guarantee over a whole run against real servers: a long password, sent as the LDAP bind
password to the Samba DC and as the WinRM password to the WS-Management endpoint (both refuse it), is
found in no output of the run — the terminal (with -v), every report format, the recording — in any
of its forms (plain, URL, hex, UTF-16LE, base64 at any alignment: tests.test_canary.leaks)."""
from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from ocscheck.cli import main
from ocscheck.siteinit import render_site
from tests.lab.samba import READER_ENV, Lab
from tests.test_canary import leaks
from tests.winrm_endpoint import PASSWORD_ENV

CANARY = "Canary-7c1d+/Pw=q&z é-long-enough-to-be-seen"
FORMATS = ("text", "json", "junit", "junit-jenkins", "html", "markdown")


def test_a_refused_password_is_in_no_output(samba_good: Lab, endpoint, tmp_path: Path):
    site = tmp_path / "ocscheck.toml"
    site.write_text(render_site({"deployment": {"server_fqdn": "ocs.todorovic.adds", "sip_domains": ["todorovic.fr"],
                                                "ad_domain": "todorovic.adds"},
                                 **samba_good.site(), **endpoint.site_overrides("server")}))
    out = tmp_path / "out"
    out.mkdir()
    args = ["preflight", "-c", str(site), "-v", "--only", "ad.*", "--only", "host.*", "--record", str(out / "facts.json")]
    for fmt in FORMATS:
        args += ["--report", f"{fmt}:{out}/report.{fmt}"]
    result = CliRunner().invoke(main, args, env={READER_ENV: CANARY, PASSWORD_ENV: CANARY})
    assert result.exit_code == 3, result.output  # both sources refuse the password: errors, no verdict
    assert "authentication failed" in result.output
    outputs = {"terminal": result.output, **{p.name: p.read_text() for p in out.iterdir()}}
    assert len(outputs) == len(FORMATS) + 2
    assert {name: leaks(text, CANARY) for name, text in outputs.items() if leaks(text, CANARY)} == {}
