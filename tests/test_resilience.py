"""A whole run against a site whose LDAP, WinRM and TLS endpoints are dead (silently dropped):
every check still gets a verdict within its bound, the dead ones say `error` with the reason (never
`pass`), the healthy DNS checks still pass, and every report is written."""
from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ET

from click.testing import CliRunner

from ocscheck.cli import main
from ocscheck.model import Phase
from ocscheck.registry import load_all, select
from tests.helpers_pki import self_signed_pem
from tests.lab import DEAD, blackhole
from tests.lab.dnsmasq import good_internal

POST_CHECKS = len(select(load_all().specs(), Phase.POST))  # every post check, whatever their number

TIMEOUT = 2.0


def test_dead_hosts_cost_at_most_their_timeout_and_lose_nothing(dns_views, tmp_path, monkeypatch):
    zone = good_internal()
    zone.a["ocs.todorovic.adds"] = [DEAD]  # the server's TLS, SIP and HTTPS all dial the dead address
    dns = dns_views(zone)
    (tmp_path / "ca.pem").write_text(self_signed_pem())
    site = tmp_path / "ocscheck.toml"
    site.write_text(f"""
[deployment]
server_fqdn = "ocs.todorovic.adds"
sip_domains = ["todorovic.fr"]
ad_domain = "todorovic.adds"
[ldap]
url = "ldaps://{DEAD}"
user = "ocsreader@todorovic.adds"
password_env = "LDAP_PW"
[dns]
internal = ["{dns['internal'][0]}"]
[tls]
ca_bundle = "ca.pem"
[winrm.server]
host = "{DEAD}"
user = "TODOROVIC\\\\admin"
password_env = "WINRM_PW"
[winrm.dc]
host = "{DEAD}"
user = "TODOROVIC\\\\admin"
password_env = "WINRM_PW"
[run]
timeout = {TIMEOUT}
""")
    monkeypatch.setenv("LDAP_PW", "Ldap-S3cret-value")
    monkeypatch.setenv("WINRM_PW", "Winrm-S3cret-value")
    out = tmp_path / "out"
    out.mkdir()
    with blackhole("ocslab_dead", DEAD):
        started = time.monotonic()
        result = CliRunner().invoke(main, ["post", "-c", str(site), "-v", "--report", f"json:{out}/r.json",
                                           "--report", f"junit:{out}/j.xml", "--report", f"html:{out}/r.html",
                                           "--record", str(out / "facts.json")])
        elapsed = time.monotonic() - started
    assert result.exit_code == 3, result.output
    checks = {c["id"]: c for c in json.loads((out / "r.json").read_text())["checks"]}
    assert len(checks) == POST_CHECKS
    # Checks run concurrently and dead hosts are remembered: the run costs a few timeouts, not one per check.
    assert elapsed < 6 * TIMEOUT, elapsed
    assert all(c["duration_s"] <= 3 * TIMEOUT + 0.5 for c in checks.values())
    assert {i: c["status"] for i, c in checks.items() if i.startswith("dns.")} == {
        "dns.server-a": "pass", "dns.sip-zone": "pass", "dns.sip-cname": "pass", "dns.sip-tls-srv": "pass",
        "dns.sipinternal-srv": "pass", "dns.split": "skip"}
    dead = {i: c for i, c in checks.items() if not i.startswith("dns.")}
    assert not [i for i, c in dead.items() if c["status"] == "pass"]
    assert dead["sip.options"]["status"] == "skip"  # because sip.tls could not pass
    for check_id, check in dead.items():
        if check_id != "sip.options":
            assert check["status"] == "error", (check_id, check["status"], check["summary"])
            assert "timed out" in check["summary"] or "unreachable" in check["summary"], (check_id, check["summary"])
    testsuites = ET.parse(out / "j.xml").getroot()
    assert len(testsuites.findall(".//testcase")) == POST_CHECKS
    assert (out / "r.html").read_text().count('class="check ') == POST_CHECKS
    for written in out.iterdir():
        text = written.read_text()
        assert "S3cret" not in text, written.name
    assert "S3cret" not in result.output
