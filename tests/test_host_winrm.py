"""Host checks end to end: the real pywinrm client (NTLM with message encryption) against the WS-Man
endpoint answering as Windows Server 2008 R2, per scenario; and the same scenarios from a collector
snapshot, which must give the same verdicts."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from ocscheck.api import RunSetup
from ocscheck.config import ConfigError
from ocscheck.facts import Inputs
from ocscheck.facts.store import FactUnavailable, Reason
from tests.helpers import judge, make_site
from tests.winrm_endpoint import PASSWORD, PASSWORD_ENV, env, judge_variant, scenarios

run = judge_variant


def statuses(outcomes):
    return {check_id: str(o.status) for check_id, o in outcomes.items()}


def test_ready_host_passes_preflight(endpoint):
    outcomes = run(endpoint, "ready", "preflight")
    assert statuses(outcomes) == {i: "pass" for i in ("host.os", "host.features", "host.vcredist", "host.kb974571",
                                                      "host.kb975858", "host.pending-reboot", "host.virtual")}
    assert "Windows Server 2008 R2" in outcomes["host.os"].summary


def test_ready_host_passes_post(endpoint):
    outcomes = run(endpoint, "ready", "post")
    assert statuses(outcomes) == {i: "pass" for i in ("host.kb974571", "host.pending-reboot", "host.virtual",
                                                      "host.install-paths", "host.services", "host.ocs-version",
                                                      "host.sql-backend")}
    assert "12 installed OCS services" in outcomes["host.services"].summary


def test_kb974571_installed_fails_preflight(endpoint):
    outcome = run(endpoint, "kb974571", "preflight", ["host.kb974571"])["host.kb974571"]
    assert str(outcome.status) == "fail"
    assert "wusa /uninstall /kb:974571 /quiet" in outcome.remediation


def test_kb974571_installed_post_without_symptoms_passes(endpoint):
    outcome = run(endpoint, "kb974571", "post", ["host.kb974571"])["host.kb974571"]
    assert str(outcome.status) == "pass" and "no licence symptom is logged" in outcome.summary


def test_kb974571_installed_post_with_licence_events_fails(endpoint):
    outcome = run(endpoint, "kb974571-symptoms", "post", ["host.kb974571"])["host.kb974571"]
    assert str(outcome.status) == "fail" and "ocsasnfix.exe" in outcome.summary
    assert any("12290" in e for e in outcome.evidence) and any("7024" in e for e in outcome.evidence)


def test_kb974571_symptoms_before_the_last_boot_are_history(endpoint):
    outcome = run(endpoint, "kb974571-old-symptoms", "post", ["host.kb974571"])["host.kb974571"]
    assert str(outcome.status) == "pass"


def test_missing_feature_remediation_lists_exactly_it(endpoint):
    outcome = run(endpoint, "feature-missing", "preflight", ["host.features"])["host.features"]
    assert str(outcome.status) == "fail"
    assert outcome.remediation == "Import-Module ServerManager; Add-WindowsFeature 'Desktop-Experience'"


def test_required_features_come_from_the_site(endpoint):
    outcome = run(endpoint, "ready", "preflight", ["host.features"],
                  {"host": {"required_features": ["Web-WebServer", "SMTP-Server"]}})["host.features"]
    assert outcome.remediation == "Import-Module ServerManager; Add-WindowsFeature 'SMTP-Server'"


def test_windows_2008_features_from_servermanagercmd(endpoint):
    outcomes = run(endpoint, "2008-servermanagercmd", "preflight", ["host.os", "host.features", "host.kb975858"])
    assert str(outcomes["host.os"].status) == "pass" and str(outcomes["host.kb975858"].status) == "pass"
    features = outcomes["host.features"]
    assert str(features.status) == "fail"
    assert features.remediation == " & ".join(f"ServerManagerCmd -install {name}" for name in (
        "Web-Asp-Net", "Web-Mgmt-Tools", "Web-Mgmt-Compat", "NET-Framework-Core", "RSAT-ADDS", "Desktop-Experience"))


# One scenario of the endpoint, one check: (variant, phase, check, status, what else must hold).
SCENARIO_VERDICTS = [
    ("no-vcredist", "preflight", "host.vcredist", "fail", lambda o: "vcredist_x64.exe" in o.remediation),
    ("no-kb975858", "preflight", "host.kb975858", "fail", lambda o: "KB975858" in o.remediation),
    ("pending-reboot", "post", "host.pending-reboot", "fail",
     lambda o: len(o.evidence) == 2 and any("RebootPending" in e for e in o.evidence)),
    ("vmware", "preflight", "host.virtual", "warn", lambda o: "VMware" in o.summary),
    ("32-bit", "preflight", "host.os", "fail", lambda o: "32-bit" in o.summary),
    ("2003-sp2-x64", "preflight", "host.os", "warn", lambda o: "PowerShell 1.0 or absent" in o.evidence),
    ("system-drive", "post", "host.install-paths", "warn",
     lambda o: o.summary == "2 location(s) on the system drive C:"
     and not any("F:" in e for e in o.evidence if e.startswith("database rtc (data)"))),
]


@pytest.mark.parametrize("variant, phase, check_id, status, holds", SCENARIO_VERDICTS,
                         ids=[row[0] for row in SCENARIO_VERDICTS])
def test_scenario_verdict(endpoint, variant, phase, check_id, status, holds):
    outcome = run(endpoint, variant, phase, [check_id])[check_id]
    assert str(outcome.status) == status, outcome.summary
    assert holds(outcome), (outcome.summary, outcome.evidence, outcome.remediation)


def test_stopped_services_fail_and_absent_ones_do_not(endpoint):
    outcome = run(endpoint, "services-stopped", "post", ["host.services"])["host.services"]
    assert str(outcome.status) == "fail"
    assert outcome.summary == "2 OCS service(s) not running: RTCCAS, RtcSrv"
    assert outcome.remediation.endswith("Start-Service 'RTCCAS','RtcSrv'")
    assert not any("RTCACD" in e for e in outcome.evidence)


def test_post_on_a_server_without_ocs(endpoint):
    outcomes = run(endpoint, "no-ocs", "post", ["host.services", "host.ocs-version", "host.install-paths"])
    assert statuses(outcomes) == {"host.services": "fail", "host.ocs-version": "fail", "host.install-paths": "fail"}
    assert "WMI: Invalid class" in outcomes["host.ocs-version"].evidence


def test_minimum_build_from_the_site(endpoint):
    outcome = run(endpoint, "ready", "post", ["host.ocs-version"],
                  {"host": {"min_ocs_build": "3.5.6907.222"}})["host.ocs-version"]
    assert str(outcome.status) == "fail" and "3.5.6907.0" in outcome.summary


def facts_for(site, inputs=Inputs(), environ=None):
    return RunSetup(site, "post", inputs=inputs, environ=environ or env()).facts


def test_https_binding_fact_other_certificate(endpoint):
    host = scenarios.variant("other-cert")
    host["sslcert"] = (scenarios.FIXTURES / "netsh-sslcert-443.cp437.txt").read_bytes().replace(
        b"5e2c8a1f0b7d43e9a6c1f2d3b4a5968778695a4b", b"0123456789abcdef0123456789abcdef01234567")
    endpoint.set_scenario(host)
    binding = facts_for(make_site(endpoint.site_overrides("server"))).host("server").https_binding()
    assert binding.sslcert_hash == "0123456789ABCDEF0123456789ABCDEF01234567"
    assert binding.site_bindings == ("http/*:80:", "https/*:443:")


def test_https_binding_fact_ready(endpoint):
    binding = facts_for(make_site(endpoint.site_overrides("server"))).host("server").https_binding()
    assert binding.sslcert_hash == scenarios.OCS_THUMBPRINT


def test_wrong_password_is_an_error_without_the_secret(endpoint):
    wrong = "Wr0ng-Secret-Value"
    outcomes = judge(make_site(endpoint.site_overrides("server")), ["host.*"], "preflight",
                     env={PASSWORD_ENV: wrong})
    assert {str(o.status) for o in outcomes.values()} == {"error"}
    summary = outcomes["host.os"].summary
    assert "authentication failed" in summary and "rejected the credentials" in summary
    recording = json.dumps(outcomes.recording)
    assert wrong not in recording and wrong not in " ".join(o.summary for o in outcomes.values())


def test_endpoint_that_never_answers_errors_within_the_timeout(endpoint):
    scenario = scenarios.variant("ready")
    endpoint.set_scenario(scenario, mode="hang")
    site = make_site({**endpoint.site_overrides("server"), "run": {"timeout": 1.5}})
    started = time.monotonic()
    outcomes = judge(site, ["host.*"], "preflight", env=env())
    elapsed = time.monotonic() - started
    assert {str(o.status) for o in outcomes.values()} == {"error"}
    assert "timed out" in outcomes["host.os"].summary
    assert elapsed < 1.5 + 1.5  # one read timeout for the whole host, the other probes fail at once


def test_wsman_fault_500_is_an_error(endpoint):
    endpoint.set_scenario(scenarios.variant("ready"), mode="500")
    outcome = judge(make_site(endpoint.site_overrides("server")), ["host.os"], "preflight", env=env())["host.os"]
    assert str(outcome.status) == "error" and "access denied" in outcome.summary


def test_401_is_an_authentication_error(endpoint):
    endpoint.set_scenario(scenarios.variant("ready"), mode="401")
    outcome = judge(make_site(endpoint.site_overrides("server")), ["host.os"], "preflight", env=env())["host.os"]
    assert str(outcome.status) == "error" and "authentication failed" in outcome.summary


def test_command_slower_than_the_operation_timeout_still_completes(endpoint):
    endpoint.set_scenario(scenarios.variant("ready"), delays={"system": 2.3})
    site = make_site({**endpoint.site_overrides("server"), "run": {"timeout": 3.0}})
    outcome = judge(site, ["host.os"], "preflight", env=env())["host.os"]
    assert str(outcome.status) == "pass"
    assert [r["action"] for r in endpoint.requests()].count("Receive") >= 2  # a timeout fault, then the output


def test_command_running_past_the_timeout_is_abandoned(endpoint):
    endpoint.set_scenario(scenarios.variant("ready"), delays={"system": 30})
    site = make_site({**endpoint.site_overrides("server"), "run": {"timeout": 2.0}})
    started = time.monotonic()
    outcome = judge(site, ["host.os"], "preflight", env=env())["host.os"]
    assert str(outcome.status) == "error" and "still running" in outcome.summary
    assert time.monotonic() - started < 2.0 + 2.5
    assert "Signal" in [r["action"] for r in endpoint.requests()]


def test_basic_over_http_is_refused_before_sending_anything(endpoint):
    # The site file itself is refused now (a configuration error names the key); nothing is ever sent.
    with pytest.raises(ConfigError, match="winrm.server.scheme"):
        make_site({**endpoint.site_overrides("server", transport="basic")})
    assert endpoint.requests() == []


def test_not_configured_skips():
    outcomes = judge(make_site(), ["host.*", "ad.dc-health"], "preflight")
    assert {str(o.status) for o in outcomes.values()} == {"skip"}
    assert "--host-snapshot server=FILE" in outcomes["host.os"].summary
    assert outcomes["ad.dc-health"].summary.endswith("--host-snapshot dc=FILE (or --dcdiag FILE)")


def test_record_and_replay_give_the_same_verdicts(endpoint):
    first = run(endpoint, "kb974571-symptoms", "post", ["host.*"])
    recording = first.recording
    assert PASSWORD not in json.dumps(recording)
    replayed = judge(make_site(endpoint.site_overrides("server")), ["host.*"], "post", replay=recording)
    assert statuses(replayed) == statuses(first)
    assert replayed["host.kb974571"].evidence == first["host.kb974571"].evidence


# ---- the DC role: dcdiag and repadmin over WinRM ----

def test_dc_health_over_winrm(endpoint):
    endpoint.set_scenario(scenarios.variant("ready"))
    outcome = judge(make_site(endpoint.site_overrides("dc")), ["ad.dc-health"], "preflight",
                    env=env())["ad.dc-health"]
    assert str(outcome.status) == "pass" and outcome.summary == "all 3 dcdiag tests passed"


def test_dc_health_failure_over_winrm_and_replication_links(endpoint):
    endpoint.set_scenario(scenarios.variant("dc-failing"))
    site = make_site(endpoint.site_overrides("dc"))
    outcome = judge(site, ["ad.dc-health"], "preflight", env=env())["ad.dc-health"]
    assert str(outcome.status) == "fail"
    assert outcome.summary == "1 dcdiag test(s) failed: Test-DC1 SystemLog"
    assert "dcdiag /s:Test-DC1 /test:SystemLog /v" in outcome.remediation
    links = facts_for(site).host("dc").replication_links()
    failing = {(l.source_dc, l.naming_context): l for l in links if l.consecutive_failures}
    assert failing[("DC3", "DC=contoso,DC=com")].last_result == 1722
    # the DC's clock is UTC+1 (system probe): 10:00 local is 09:00 UTC
    assert failing[("DC3", "DC=contoso,DC=com")].last_success == "2026-08-01T09:00:00Z"


def test_dcdiag_and_repadmin_files_without_winrm(tmp_path):
    fixtures = scenarios.FIXTURES
    site = make_site()
    inputs = Inputs(dcdiag=fixtures / "dcdiag-fr-full-dfsrevent-failed.cp850.txt",
                    repadmin=fixtures / "repadmin-showrepl-failures.csv")
    outcome = judge(site, ["ad.dc-health"], "preflight", inputs=inputs)["ad.dc-health"]
    assert str(outcome.status) == "fail" and outcome.summary == "1 dcdiag test(s) failed: DC1 DFSREvent"
    assert "Impossible d'interroger le journal des événements DFS Replication sur" in " ".join(outcome.evidence)
    links = facts_for(site, inputs).host("dc").replication_links()
    assert len(links) == 4 and all(l.origin == "repadmin" for l in links)


def test_dcdiag_file_replays_without_the_file():
    inputs = Inputs(dcdiag=scenarios.FIXTURES / "dcdiag-en-q-systemlog-failed.cp437.txt")
    first = judge(make_site(), ["ad.dc-health"], "preflight", inputs=inputs)
    replayed = judge(make_site(), ["ad.dc-health"], "preflight", replay=first.recording)
    assert str(replayed["ad.dc-health"].status) == str(first["ad.dc-health"].status) == "fail"
    assert replayed["ad.dc-health"].evidence == first["ad.dc-health"].evidence


def test_unreadable_dcdiag_file_is_an_error(tmp_path):
    path = tmp_path / "dcdiag.txt"
    path.write_bytes(b"\xff\xfe" + "Access is denied.\r\n".encode("utf-16-le"))
    outcome = judge(make_site(), ["ad.dc-health"], "preflight", inputs=Inputs(dcdiag=path))["ad.dc-health"]
    assert str(outcome.status) == "error" and "not dcdiag output" in outcome.summary


def test_unreadable_repadmin_is_a_protocol_error(tmp_path):
    path = tmp_path / "repl.csv"
    path.write_text("Access is denied.\n")
    with pytest.raises(FactUnavailable) as caught:
        facts_for(make_site(), Inputs(repadmin=path)).host("dc").replication_links()
    assert caught.value.reason == Reason.PROTOCOL


# ---- the same scenarios from a collector snapshot ----

@pytest.mark.parametrize("variant, phase", [
    ("ready", "preflight"), ("ready", "post"), ("kb974571", "preflight"), ("kb974571-symptoms", "post"),
    ("feature-missing", "preflight"), ("services-stopped", "post"), ("32-bit", "preflight"),
    ("vmware", "post"), ("pending-reboot", "post"),
])
def test_snapshot_gives_the_winrm_verdicts(endpoint, tmp_path, variant, phase):
    over_winrm = run(endpoint, variant, phase)
    snapshot = tmp_path / "snap.txt"
    snapshot.write_text(scenarios.snapshot_text(scenarios.variant(variant)), newline="")
    from_file = judge(make_site(), ["host.*"], phase, inputs=Inputs(host_snapshots={"server": snapshot}))
    assert {k: (str(o.status), o.summary, o.evidence, o.remediation) for k, o in from_file.items()} == \
           {k: (str(o.status), o.summary, o.evidence, o.remediation) for k, o in over_winrm.items()}


def test_snapshot_resaved_as_utf16_still_reads(tmp_path):
    snapshot = tmp_path / "snap.txt"
    snapshot.write_bytes(b"\xff\xfe" + scenarios.snapshot_text(scenarios.variant("ready")).encode("utf-16-le"))
    outcome = judge(make_site(), ["host.os"], "preflight",
                    inputs=Inputs(host_snapshots={"server": snapshot}))["host.os"]
    assert str(outcome.status) == "pass"


def test_snapshot_without_dc_probes_skips_dc_health(tmp_path):
    host = scenarios.variant("ready")
    del host["dcdiag"]
    snapshot = tmp_path / "snap.txt"
    snapshot.write_text(scenarios.snapshot_text(host))
    outcome = judge(make_site(), ["ad.dc-health"], "preflight",
                    inputs=Inputs(host_snapshots={"dc": snapshot}))["ad.dc-health"]
    assert str(outcome.status) == "skip" and "on a domain controller" in outcome.summary


def test_damaged_snapshot_is_an_error(tmp_path):
    snapshot = tmp_path / "snap.txt"
    snapshot.write_text("ocscheck-snapshot 1\n[probe system exit=0]\n!!!not base64!!!\n")
    outcome = judge(make_site(), ["host.os"], "preflight",
                    inputs=Inputs(host_snapshots={"server": snapshot}))["host.os"]
    assert str(outcome.status) == "error" and "damaged base64" in outcome.summary


@pytest.mark.parametrize("phase, variant, failing", [("preflight", "feature-missing", "host.features"),
                                                     ("post", "services-stopped", "host.services")])
def test_cli_over_winrm_and_from_snapshot_agree(endpoint, tmp_path, monkeypatch, phase, variant, failing):
    from click.testing import CliRunner

    from ocscheck.cli import main

    endpoint.set_scenario(scenarios.variant(variant))
    site_file = tmp_path / "site.toml"
    site_file.write_text(
        '[deployment]\nserver_fqdn = "ocs.todorovic.adds"\nsip_domains = ["todorovic.fr"]\n'
        'ad_domain = "todorovic.adds"\n[run]\ntimeout = 3.0\n'
        f'[winrm.server]\nhost = "{endpoint.address}"\nport = {endpoint.port}\nuser = "TODOROVIC\\\\Administrator"\n'
        f'password_env = "{PASSWORD_ENV}"\n')
    snapshot = tmp_path / "snap.txt"
    snapshot.write_text(scenarios.snapshot_text(scenarios.variant(variant)))
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    runner = CliRunner()
    reports = {}
    for name, extra in (("winrm", []), ("snapshot", ["--host-snapshot", f"server={snapshot}"])):
        report = tmp_path / f"{name}.json"
        result = runner.invoke(main, [phase, "-c", str(site_file), "--only", "host.*", "-q",
                                      "--report", f"json:{report}", *extra])
        assert result.exit_code == 1, result.output
        reports[name] = {c["id"]: c["status"] for c in json.loads(report.read_text())["checks"]}
    assert reports["winrm"] == reports["snapshot"]
    assert reports["winrm"][failing] == "fail"


def test_command_lines_stay_small():
    from ocscheck.collector import MAX_COMMAND_LINE, PROBES

    for probe in PROBES.values():
        assert len(probe.command_line()) < 0.6 * MAX_COMMAND_LINE, probe.name


def test_endpoint_module_path_is_loopback(endpoint):
    assert endpoint.address.startswith("127.")
    assert Path(endpoint.dir).is_dir()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600))
def test_random_host_outputs_never_crash_a_check(tmp_path, data):
    """Whatever a host prints, every check gives a verdict or an error, never a crash, and never a pass."""
    host = scenarios.variant("ready")
    for name in ("system", "features", "ocs", "events", "dcdiag"):
        host[name] = data
    snapshot = tmp_path / "random.txt"
    snapshot.write_text(scenarios.snapshot_text(host))
    inputs = Inputs(host_snapshots={"server": snapshot, "dc": snapshot})
    for phase in ("preflight", "post"):
        for outcome in judge(make_site(), ["host.*", "ad.dc-health"], phase, inputs=inputs).values():
            assert not outcome.summary.startswith(("check crashed", "unexpected value")), outcome.summary
            assert str(outcome.status) in ("warn", "fail", "error"), (outcome.id, outcome.summary)


def test_dcdiag_printing_nothing_over_winrm_is_an_error(endpoint):
    host = scenarios.ready_host()
    host["dcdiag"] = b""  # full dcdiag always prints its tests: silence is a failed run
    endpoint.set_scenario(host)
    site = make_site(endpoint.site_overrides("dc"))
    outcome = judge(site, ["ad.dc-health"], "preflight", env=env())["ad.dc-health"]
    assert str(outcome.status) == "error" and "dcdiag printed nothing" in outcome.summary


def test_empty_saved_dcdiag_warns_rather_than_passes():
    inputs = Inputs(dcdiag=scenarios.FIXTURES / "dcdiag-en-q-all-passed.cp437.txt")
    outcome = judge(make_site(), ["ad.dc-health"], "preflight", inputs=inputs)["ad.dc-health"]
    assert str(outcome.status) == "warn" and "a failed capture looks the same" in outcome.summary
    assert "dcdiag > dcdiag.txt" in outcome.remediation


def test_a_probe_printing_more_than_the_cap_is_an_error_naming_it(endpoint, monkeypatch):
    from ocscheck.facts.winrm import transport

    monkeypatch.setattr(transport, "MAX_COMMAND_OUTPUT", 64)  # the system probe prints a few hundred bytes
    outcome = run(endpoint, "ready", "preflight", ["host.os"])["host.os"]
    assert str(outcome.status) == "error"
    assert "printed more than the 64 bytes a probe may print; stopped reading it" in outcome.summary
