"""host.kb974571, host.kb975858 and host.sql-backend against the WS-Management endpoint (the real pywinrm
client) and from collector snapshots of the same scenarios: the OCS log's 12290 from "OCS Server" (and not
another provider's Application 12290), System 7024 in each form Windows prints 0xC3E93C23, and Windows
Server 2008 R2 SP1 (build 7601), which contains KB974571 with no QFE entry."""
from __future__ import annotations

import pytest

from ocscheck.facts import Inputs
from tests.helpers import judge, make_site
from tests.winrm_endpoint import judge_variant as run, scenarios


def one(endpoint, variant, phase, check_id):
    return run(endpoint, variant, phase, [check_id])[check_id]


def from_snapshot(tmp_path, variant, phase, check_id):
    snapshot = tmp_path / f"{variant}.txt"
    snapshot.write_text(scenarios.snapshot_text(scenarios.variant(variant)), newline="")
    return judge(make_site(), [check_id], phase, inputs=Inputs(host_snapshots={"server": snapshot}))[check_id]


def same(a, b):
    return (str(a.status), a.summary, a.evidence, a.remediation) == (str(b.status), b.summary, b.evidence,
                                                                       b.remediation)


def test_ocs_log_12290_from_ocs_server_fails(endpoint, tmp_path):  # noqa: F811
    outcome = one(endpoint, "kb974571-ocs-12290", "post", "host.kb974571")
    assert str(outcome.status) == "fail" and "ocsasnfix.exe" in outcome.summary
    assert any(e.startswith("Office Communications Server 12290 2026-11-27T05:02:10Z OCS Server: ")
               for e in outcome.evidence)
    assert same(outcome, from_snapshot(tmp_path, "kb974571-ocs-12290", "post", "host.kb974571"))


def test_application_12290_of_another_provider_is_not_a_symptom(endpoint, tmp_path):  # noqa: F811
    outcome = one(endpoint, "kb974571-other-12290", "post", "host.kb974571")
    assert str(outcome.status) == "pass", outcome.summary
    assert "ocsasnfix was applied" not in outcome.summary  # never claimed without evidence
    assert "no licence symptom is logged since the last boot" in outcome.summary
    assert "searched Office Communications Server 12290: 0 event(s)" in outcome.evidence
    assert same(outcome, from_snapshot(tmp_path, "kb974571-other-12290", "post", "host.kb974571"))


@pytest.mark.parametrize("form", sorted(scenarios.FORMS_7024))
def test_7024_in_every_form_fails(endpoint, tmp_path, form):  # noqa: F811
    outcome = one(endpoint, f"kb974571-7024-{form}", "post", "host.kb974571")
    assert str(outcome.status) == "fail", (form, outcome.summary)
    assert any(e.startswith("System 7024 ") for e in outcome.evidence)
    assert same(outcome, from_snapshot(tmp_path, f"kb974571-7024-{form}", "post", "host.kb974571"))


def test_7024_with_another_service_specific_error_is_not_a_symptom(endpoint):  # noqa: F811
    host = scenarios.variant("kb974571")
    host["events"] = scenarios._events(scenarios.event_7024("decimal-hex").replace(
        "3286842403 (0xC3E93C23)", "32868424030 (0x7A71A5A5E)"))
    endpoint.set_scenario(host)
    outcome = judge(make_site(endpoint.site_overrides("server")), ["host.kb974571"], "post",
                    env=scenarios_env())["host.kb974571"]
    assert str(outcome.status) == "pass", outcome.summary


def scenarios_env():
    from tests.winrm_endpoint import env
    return env()


def test_unreadable_ocs_log_is_not_a_pass(endpoint):  # noqa: F811
    outcome = one(endpoint, "kb974571-no-ocs-log", "post", "host.kb974571")
    assert str(outcome.status) == "warn"
    assert "could not be read" in outcome.summary
    assert any(e.startswith("could not read Office Communications Server 12290: There is not an event log")
               for e in outcome.evidence)


def test_sp1_preflight_says_the_change_is_built_in(endpoint, tmp_path):  # noqa: F811
    outcome = one(endpoint, "sp1", "preflight", "host.kb974571")
    assert str(outcome.status) == "warn", outcome.summary
    assert "build 7601" in outcome.summary and "contains the KB974571 change" in outcome.summary
    assert "ocsasnfix.exe" in outcome.remediation and "wusa" not in outcome.remediation
    assert "KB974571 not listed in Win32_QuickFixEngineering; build 7601 (SP1) contains it" in outcome.evidence
    assert same(outcome, from_snapshot(tmp_path, "sp1", "preflight", "host.kb974571"))


def test_sp1_post_reads_the_symptoms_without_a_qfe_entry(endpoint, tmp_path):  # noqa: F811
    outcome = one(endpoint, "sp1-symptoms", "post", "host.kb974571")
    assert str(outcome.status) == "fail" and "ocsasnfix.exe" in outcome.remediation
    clean = one(endpoint, "sp1", "post", "host.kb974571")
    assert str(clean.status) == "pass" and "ocsasnfix" not in clean.summary
    assert same(outcome, from_snapshot(tmp_path, "sp1-symptoms", "post", "host.kb974571"))


def test_rtm_with_kb974571_listed_offers_wusa_uninstall(endpoint):  # noqa: F811
    outcome = one(endpoint, "kb974571", "preflight", "host.kb974571")
    assert str(outcome.status) == "fail"
    assert outcome.remediation.startswith("On ocs.todorovic.adds: wusa /uninstall /kb:974571 /quiet, then reboot")


def test_windows_2008_gets_no_wusa_uninstall(tmp_path):
    host = scenarios.variant("2008-servermanagercmd")
    host["system"]["hotfix"].append("KB974571")  # type: ignore[index]
    snapshot = tmp_path / "2008.txt"
    snapshot.write_text(scenarios.snapshot_text(host), newline="")
    outcome = judge(make_site(), ["host.kb974571"], "preflight",
                    inputs=Inputs(host_snapshots={"server": snapshot}))["host.kb974571"]
    assert str(outcome.status) == "fail" and "wusa /uninstall /kb" not in outcome.remediation
    assert "Programs and Features" in outcome.remediation


def test_sp1_without_kb975858_in_qfe_passes_saying_what_was_assumed(endpoint, tmp_path):  # noqa: F811
    outcome = one(endpoint, "sp1", "preflight", "host.kb975858")
    assert str(outcome.status) == "pass", outcome.summary
    assert "assumed part of SP1 (probable, not confirmed)" in outcome.summary
    assert same(outcome, from_snapshot(tmp_path, "sp1", "preflight", "host.kb975858"))
    rtm = one(endpoint, "no-kb975858", "preflight", "host.kb975858")
    assert str(rtm.status) == "fail"


def test_sql_backend_running_stopped_and_absent(endpoint, tmp_path):  # noqa: F811
    ready = one(endpoint, "ready", "post", "host.sql-backend")
    assert str(ready.status) == "pass" and list(ready.evidence) == ["MSSQL$RTC: Running (Auto)"]
    stopped = one(endpoint, "sql-stopped", "post", "host.sql-backend")
    assert str(stopped.status) == "fail"
    assert stopped.remediation.startswith("On ocs.todorovic.adds: Set-Service 'MSSQL$RTC' -StartupType Automatic ; "
                                          "Start-Service 'MSSQL$RTC'")
    absent = one(endpoint, "sql-absent", "post", "host.sql-backend")
    assert str(absent.status) == "fail" and "not installed" in absent.summary
    for variant, outcome in (("sql-stopped", stopped), ("sql-absent", absent)):
        assert same(outcome, from_snapshot(tmp_path, variant, "post", "host.sql-backend"))


def test_sql_backend_is_post_only_and_host_services_keeps_the_ocs_services(endpoint):  # noqa: F811
    outcomes = run(endpoint, "sql-stopped", "post")
    assert str(outcomes["host.services"].status) == "pass"  # MSSQL$RTC is not an OCS service
    assert str(outcomes["host.sql-backend"].status) == "fail"
    assert "host.sql-backend" not in run(endpoint, "ready", "preflight")


def test_infinite_utc_offset_does_not_crash_host_checks(tmp_path):
    host = scenarios.variant("ready")
    host["system"]["utc_offset_minutes"] = "inf"  # type: ignore[index]
    snapshot = tmp_path / "inf.txt"
    snapshot.write_text(scenarios.snapshot_text(host), newline="")
    inputs = Inputs(host_snapshots={"server": snapshot})
    for phase in ("preflight", "post"):
        outcomes = judge(make_site(), ["host.*"], phase, inputs=inputs)
        assert {k: str(o.status) for k, o in outcomes.items() if str(o.status) != "pass"} == {}, phase


def test_snapshot_of_an_older_collector_without_searched_lines_warns(tmp_path):
    host = scenarios.variant("kb974571")
    host["events"] = {}  # collect.ps1 before the OCS log was read: no "searched=" lines
    snapshot = tmp_path / "old.txt"
    snapshot.write_text(scenarios.snapshot_text(host), newline="")
    outcome = judge(make_site(), ["host.kb974571"], "post",
                    inputs=Inputs(host_snapshots={"server": snapshot}))["host.kb974571"]
    assert str(outcome.status) == "warn" and "older collect.ps1" in outcome.summary


def test_snapshot_exit_code_of_5000_digits_is_an_error_not_a_crash(tmp_path):
    snapshot = tmp_path / "huge-exit.txt"
    snapshot.write_text("ocscheck-snapshot 1\n[probe system exit=" + "9" * 5000 + "]\nAAAA\n")
    outcome = judge(make_site(), ["host.os"], "preflight",
                    inputs=Inputs(host_snapshots={"server": snapshot}))["host.os"]
    assert str(outcome.status) == "error" and "CODE at most 10 digits" in outcome.summary


@pytest.mark.parametrize("log, event_id, provider, text, symptom", [
    ("Office Communications Server", 12290, "OCS Server", "The evaluation period ... has expired.", True),
    ("Application", 12290, "OCS Server", "The evaluation period ... has expired.", False),  # not the OCS log
    ("Office Communications Server", 12290, "Other", "x", False),
    ("System", 7024, "Service Control Manager", "terminated with service-specific error 3286842403 (0xC3E93C23).",
     True),
    ("System", 7024, "Service Control Manager", "Front-End;%%3286842403", True),
    ("System", 7024, "Service Control Manager", "Front-End;%%-1008124893", True),
    ("System", 7024, "Service Control Manager", "Front-End;-1008124893", True),
    ("System", 7024, "Service Control Manager", "service-specific error C3E93C23", True),
    ("System", 7024, "Service Control Manager", "Front-End;%%32868424031", False),
    ("System", 7024, "Service Control Manager", "Front-End;%%-10081248935", False),
    ("System", 7024, "Service Control Manager", "error 0xC3E93C231", False),
    ("System", 7000, "Service Control Manager", "3286842403", False),
])
def test_licence_symptom_forms(log, event_id, provider, text, symptom):
    from ocscheck.checks.host_updates import licence_symptom
    from ocscheck.parsers.hostinfo import Event

    assert licence_symptom(Event(log, event_id, "2026-11-27T05:00:00Z", provider, text, text)) is symptom
