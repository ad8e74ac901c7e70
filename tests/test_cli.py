"""The command line end to end against real DNS servers: exit codes, selection, reports, record/replay."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import xmlschema
from click.testing import CliRunner

from ocscheck.cli import main
from tests.lab.dnsmasq import good_external, good_internal

SCHEMAS = Path(__file__).parent / "fixtures" / "schemas"


def site_file(tmp_path: Path, dns_table: dict, extra: str = "") -> Path:
    internal = ", ".join(f'"{e}"' for e in dns_table["internal"])
    external = ", ".join(f'"{e}"' for e in dns_table.get("external", []))
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "ocscheck.toml"
    path.write_text(textwrap.dedent(f"""\
        [deployment]
        server_fqdn = "ocs.todorovic.adds"
        sip_domains = ["todorovic.fr"]
        ad_domain = "todorovic.adds"
        [dns]
        internal = [{internal}]
        external = [{external}]
        [run]
        timeout = 2.0
        """) + extra)
    return path


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_all_good_exits_0_and_writes_every_report(dns_views, tmp_path):
    path = site_file(tmp_path, dns_views(good_internal(), good_external()))
    out = tmp_path / "out"
    out.mkdir()
    result = invoke("post", "-c", path, "--only", "dns.*", "--report", f"json:{out}/r.json",
                    "--report", f"junit:{out}/junit.xml", "--report", f"html:{out}/r.html",
                    "--report", f"text:{out}/r.txt", "--record", out / "facts.json")
    assert result.exit_code == 0, result.output
    assert "6 checks in" in result.output and "6 pass" in result.output
    document = json.loads((out / "r.json").read_text())
    assert [c["id"] for c in document["checks"]] == ["dns.server-a", "dns.sip-zone", "dns.sip-cname",
                                                      "dns.sip-tls-srv", "dns.sipinternal-srv", "dns.split"]
    for schema in ("JUnit.xsd", "junit-10.xsd"):
        xmlschema.XMLSchema(str(SCHEMAS / schema)).validate(str(out / "junit.xml"))
    assert "dns.sip-tls-srv" in (out / "r.html").read_text()
    assert (out / "r.txt").read_text().startswith("ocscheck ")
    recording = json.loads((out / "facts.json").read_text())
    assert recording["schema_version"] == 1 and "dns:internal:_sip._tls.todorovic.fr:SRV" in recording["facts"]


def test_failure_exits_1_and_replay_gives_identical_verdicts_offline(dns_views, tmp_path):
    zone = good_internal()
    zone.srv = [("_sip._tls.todorovic.fr", "sip.todorovic.fr", 5060, 0, 0)]
    path = site_file(tmp_path, dns_views(zone, good_external()))
    live = invoke("post", "-c", path, "--only", "dns.*", "--report", f"json:{tmp_path}/live.json",
                  "--record", tmp_path / "facts.json")
    assert live.exit_code == 1
    # The servers are still up, but replay must not touch them: point the site at nothing.
    dead = site_file(tmp_path / "dead", {"internal": ["127.0.0.60:9"], "external": ["127.0.0.60:9"]})
    replayed = invoke("post", "-c", dead, "--only", "dns.*", "--replay", tmp_path / "facts.json",
                      "--report", f"json:{tmp_path}/replayed.json")
    assert replayed.exit_code == 1
    live_checks = json.loads((tmp_path / "live.json").read_text())["checks"]
    replay_checks = json.loads((tmp_path / "replayed.json").read_text())["checks"]
    strip = [{k: c[k] for k in ("id", "status", "summary", "evidence", "remediation")} for c in live_checks]
    assert strip == [{k: c[k] for k in ("id", "status", "summary", "evidence", "remediation")} for c in replay_checks]


def test_fail_on_warn(dns_views, tmp_path):
    external = good_external()
    external.a = {"sip.todorovic.fr": ["192.168.1.10"]}
    path = site_file(tmp_path, dns_views(good_internal(), external))
    assert invoke("post", "-c", path, "--only", "dns.split").exit_code == 0
    assert invoke("post", "-c", path, "--only", "dns.split", "--fail-on", "warn").exit_code == 1


def test_error_exits_3_within_the_timeout_and_reports_still_written(tmp_path):
    import time

    path = site_file(tmp_path, {"internal": ["127.0.0.60:9"]})
    started = time.monotonic()
    result = invoke("post", "-c", path, "--only", "dns.*", "--timeout", "1", "--report", f"junit:{tmp_path}/j.xml")
    assert time.monotonic() - started < 6
    assert result.exit_code == 3, result.output
    assert "error" in (tmp_path / "j.xml").read_text()


def test_only_and_skip_select_checks(dns_views, tmp_path):
    path = site_file(tmp_path, dns_views(good_internal()))
    result = invoke("post", "-c", path, "--only", "dns.*", "--skip", "dns.split", "--skip", "dns.sip*",
                    "--report", f"json:{tmp_path}/r.json")
    assert [c["id"] for c in json.loads((tmp_path / "r.json").read_text())["checks"]] == ["dns.server-a"]
    assert result.exit_code == 0
    # Preflight runs only preflight checks.
    invoke("preflight", "-c", path, "--only", "dns.*", "--report", f"json:{tmp_path}/p.json")
    assert [c["id"] for c in json.loads((tmp_path / "p.json").read_text())["checks"]] == ["dns.server-a",
                                                                                         "dns.sip-zone"]


def test_site_skip_list_applies(dns_views, tmp_path):
    path = site_file(tmp_path, dns_views(good_internal()), extra='skip = ["dns.split", "dns.sip*"]\n')
    invoke("post", "-c", path, "--only", "dns.*", "--report", f"json:{tmp_path}/r.json")
    assert [c["id"] for c in json.loads((tmp_path / "r.json").read_text())["checks"]] == ["dns.server-a"]


@pytest.mark.parametrize("args, message", [
    (["--only", "dns.nope"], "no check matches dns.nope"),
    (["--report", "pdf:x.pdf"], "--report"),
    (["--replay", "missing.json"], "cannot read the recording"),
    (["--certificate", "missing.pem"], "missing.pem: no such file"),
    (["--host-snapshot", "exchange=x.txt"], "ROLE=FILE"),
])
def test_usage_errors_exit_2(tmp_path, args, message):
    path = site_file(tmp_path, {"internal": ["127.0.0.60:9"]})
    result = CliRunner().invoke(main, ["post", "-c", str(path), *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_site_file_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["post", "-c", str(tmp_path / "none.toml")])
    assert result.exit_code == 2 and "cannot read the site file" in result.output


def test_list_and_explain():
    listing = invoke("list").output
    from ocscheck.registry import load_all

    ids = [s.id for s in load_all().specs()]
    catalogue = {"ad.forest-level", "ad.domain-level", "ad.dc-health", "ad.replication", "ad.schema-prep",
                 "ad.forest-prep", "ad.domain-prep", "ad.sip-domain", "ad.service-accounts", "ad.pool", "host.os",
                 "host.features", "host.vcredist", "host.kb974571", "host.kb975858", "host.pending-reboot",
                 "host.virtual", "host.install-paths", "host.services", "host.ocs-version", "cert.subject",
                 "cert.san", "cert.chain", "cert.revocation", "cert.eku", "cert.key", "cert.validity",
                 "iis.https-binding", "dns.sip-cname", "dns.sip-tls-srv", "dns.sipinternal-srv", "dns.server-a",
                 "dns.split", "sip.tls", "sip.options", "users.sip"}
    assert catalogue <= set(ids)
    for check_id in catalogue:
        assert check_id in listing
    post_only = invoke("list", "--phase", "preflight").output
    assert "dns.sip-cname" not in post_only and "dns.server-a" in post_only
    explained = invoke("explain", "dns.sip-tls-srv").output
    assert "strict naming" in explained and "Source:" in explained


def test_version_and_help_document_exit_codes():
    assert invoke("--version").output.startswith("ocscheck, version ")
    assert "2 usage or configuration error" in invoke("post", "--help").output


def _demo_plugin_wheel(directory: Path) -> Path:
    """A real wheel of tests/fixtures/demo_plugin, declaring the ocscheck.checks entry point.

    Built by hand (a wheel is a zip with a dist-info) so that installing it needs no build backend.
    """
    import base64
    import hashlib
    import zipfile

    source = Path(__file__).parent / "fixtures" / "demo_plugin" / "ocscheck_demo_plugin"
    dist_info = "ocscheck_demo_plugin-1.0.dist-info"
    files = {f"ocscheck_demo_plugin/{p.name}": p.read_bytes() for p in sorted(source.glob("*.py"))}
    files[f"{dist_info}/METADATA"] = b"Metadata-Version: 2.1\nName: ocscheck-demo-plugin\nVersion: 1.0\n"
    files[f"{dist_info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: ocscheck-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    files[f"{dist_info}/entry_points.txt"] = b"[ocscheck.checks]\ndemo = ocscheck_demo_plugin.checks\n"
    record = [f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}"
              for name, data in files.items()] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    wheel = directory / "ocscheck_demo_plugin-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return wheel


def test_plugin_distribution_is_discovered_and_runs(tmp_path):
    target = tmp_path / "site-packages"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--disable-pip-version-check", "--target", str(target), str(_demo_plugin_wheel(tmp_path))],
                   check=True, capture_output=True)
    site = site_file(tmp_path, {"internal": ["127.0.0.60:9"]})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(Path(__file__).parent.parent)])}
    listing = subprocess.run([sys.executable, "-m", "ocscheck", "list"], env=env, capture_output=True, text=True)
    assert "site.server-in-sip-domain" in listing.stdout and "plugin ocscheck-demo-plugin" in listing.stdout
    run = subprocess.run([sys.executable, "-m", "ocscheck", "preflight", "-c", str(site), "--only", "site.*",
                          "--report", f"json:{tmp_path}/r.json"], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    checks = json.loads((tmp_path / "r.json").read_text())["checks"]
    assert [(c["id"], c["status"], c["summary"]) for c in checks] == \
        [("site.server-in-sip-domain", "pass", "ocs.todorovic.adds is in todorovic.adds")]
