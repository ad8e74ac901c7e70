"""One chain of round trips per host: what the WS-Management endpoint sees of a run (requests, NTLM legs,
shells, commands), with the real pywinrm client. The verdicts of each scenario are in test_host_winrm.py;
here, how they travel. Behaviour only: counts and order, never durations."""
from __future__ import annotations

import time
from collections import Counter
from typing import Dict, List

import pytest

from ocscheck.api import RunSetup, run
from ocscheck.collector.batch import MAX_SHELLS
from tests.helpers import judge, make_site
from tests.winrm_endpoint import env, release_runs, scenarios

POST = ["host.*", "ad.replication"]  # every host probe of a post but the IIS binding's (sslcert, sites): below


def both_roles(endpoint, **run) -> dict:
    """The site with the endpoint as the server and as the DC (like the bundled example's lab)."""
    return make_site({"winrm": {**endpoint.site_overrides("server")["winrm"],
                                **endpoint.site_overrides("dc")["winrm"]}, **({"run": run} if run else {})})


def by_shell(requests: List[dict]) -> Dict[str, List[str]]:
    shells: Dict[str, List[str]] = {}
    for r in requests:
        if r["shell"]:
            shells.setdefault(r["shell"], []).append(r["action"])
    return shells


def test_a_full_post_is_one_chain_per_shell_and_every_shell_is_deleted(endpoint):
    endpoint.set_scenario(scenarios.tutorial_host())  # replicated ten minutes ago
    outcomes = judge(both_roles(endpoint), POST + ["iis.https-binding"], "post", env=env())
    assert {str(o.status) for i, o in outcomes.items() if i != "iis.https-binding"} == {"pass"}
    requests = endpoint.requests()  # judge has returned: the run is closed, its deletions waited for
    # No request without credentials: each connection opens with NTLM's NEGOTIATE, then AUTHENTICATE.
    assert Counter(r["leg"] for r in requests) == {"negotiate": 3, "authenticate": 3, "session": len(requests) - 6}
    assert [r["action"] for r in requests if r["leg"] != "session"] == ["auth"] * 6
    # Three shells (server: two command lines, system+events and ocs+sslcert+sites; the DC: one), each
    # on a connection of its own: Create, one Command, its Receive, Delete. No Signal: deleted instead.
    shells = by_shell(requests)
    assert len(shells) == 3
    assert all(actions == ["Create", "Command", "Receive", "Delete"] for actions in shells.values()), shells
    peers = {r["shell"]: r["peer"] for r in requests if r["action"] == "Create"}
    assert len(set(peers.values())) == 3
    assert len(requests) == 6 + 3 * 4  # the whole conversation of a post with both hosts
    assert all(r["user"].lower().endswith("administrator") for r in requests if r["action"] != "auth")


def test_a_whole_phase_dials_winrm_first_and_closes_the_connections_its_plan_did_not_use(endpoint):
    endpoint.set_scenario(scenarios.tutorial_host())
    report = run(both_roles(endpoint), "post", environ=env())  # the whole phase: dialled before selecting
    assert {str(o.status) for o in report.outcomes if o.id.startswith("host.")} == {"pass"}
    # MAX_SHELLS connections per role (both roles are this endpoint); the plan used three: each carried its
    # NTLM legs and its shell's Create, Command, Receive and Delete. The others carried nothing, and were
    # closed with the run.
    used = {r["peer"] for r in endpoint.requests()}
    assert len(used) == 3
    deadline = time.monotonic() + 5
    while len([c for c in endpoint.connections() if c["peer"] not in used]) < 2 * MAX_SHELLS - 3 \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    unused = [c for c in endpoint.connections() if c["peer"] not in used]
    assert [c["requests"] for c in unused] == [0] * (2 * MAX_SHELLS - 3)


def test_a_selection_dials_only_the_connections_its_plan_uses(endpoint):
    judge(both_roles(endpoint), ["host.kb974571"], "post", env=env())
    release_runs()  # the run's sessions end: every connection it opened has been logged
    deadline = time.monotonic() + 5
    while not endpoint.connections() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [c["requests"] for c in endpoint.connections()] == [6]  # NTLM's two, Create, Command, Receive, Delete


def test_probes_planned_but_not_read_are_not_recorded(endpoint):
    endpoint.set_scenario(scenarios.variant("ready"))
    outcomes = judge(both_roles(endpoint), ["host.kb974571"], "post", env=env())
    assert str(outcomes["host.kb974571"].status) == "pass"
    # events went with system (the check reads it only when KB974571 is present): asked, not recorded.
    assert {k for k in outcomes.recording if k.startswith("host:")} == {"host:server:system"}
    assert len(by_shell(endpoint.requests())) == 1


def test_a_probe_read_without_a_plan_runs_alone_and_its_shell_is_deleted_at_close(endpoint):
    site = make_site(endpoint.site_overrides("server"))
    with RunSetup(site, "preflight", environ=env()) as setup:  # no prefetch: nothing planned
        assert setup.facts.host("server").features().has("Web-Server")
        setup.facts.host("server").system()
        before_close = [r["action"] for r in endpoint.requests()]
    actions = [r["action"] for r in endpoint.requests()]
    assert Counter(before_close) == {"auth": 2, "Create": 1, "Command": 2, "Receive": 2, "Signal": 2}
    assert actions[len(before_close):] == ["Delete"]
    commands = [r for r in endpoint.requests() if r["action"] == "Command"]
    assert len(commands) == 2 and all(r["leg"] == "session" for r in commands)


def test_close_waits_for_a_batch_nobody_read_and_deletes_its_shell(endpoint):
    with RunSetup(make_site(endpoint.site_overrides("server")), "post", environ=env()) as setup:
        host = setup.facts.host("server")
        assert host.plan(["system", "sslcert"])
        host.start()  # and nothing reads them: the run ends at once
    assert [r["action"] for r in endpoint.requests() if r["shell"]] == ["Create", "Command", "Receive", "Delete"]


def test_sections_that_do_not_come_are_read_alone(endpoint):
    # system throws: PowerShell ends the batch there, so neither system's section nor features' comes.
    endpoint.set_scenario(scenarios.variant("ready"), throws={"system": "Get-WmiObject : Access denied"})
    outcomes = judge(make_site(endpoint.site_overrides("server")), ["host.os", "host.features"], "preflight",
                     env=env())
    assert str(outcomes["host.features"].status) == "pass"  # alone, on the shell kept for such reads
    assert str(outcomes["host.os"].status) == "error"  # alone too, it prints nothing: as before batches
    assert "system probe output lacks caption/version" in outcomes["host.os"].summary
    commands = [r["probes"] for r in endpoint.requests() if r["action"] == "Command"]
    assert commands[0] == ["system"] and sorted(commands[1:]) == [["features"], ["system"]]


def test_an_endless_section_is_that_probes_error_only(endpoint, monkeypatch):
    from ocscheck.facts.winrm import transport

    monkeypatch.setattr(transport, "MAX_COMMAND_OUTPUT", 2000)  # system prints ~550 bytes
    host = scenarios.variant("ready")
    host["features"] = ("feature=Web-Server\n" * 400).encode()  # 7,600 bytes
    endpoint.set_scenario(host)
    outcomes = judge(make_site(endpoint.site_overrides("server")), ["host.os", "host.features"], "preflight",
                     env=env())
    assert str(outcomes["host.os"].status) == "pass"
    assert str(outcomes["host.features"].status) == "error"
    assert "features on" in outcomes["host.features"].summary and "printed more than the 1 KiB" in \
        outcomes["host.features"].summary


def test_an_endless_first_section_is_its_error_and_the_next_section_still_counts(endpoint, monkeypatch):
    from ocscheck.facts.winrm import transport

    monkeypatch.setattr(transport, "MAX_COMMAND_OUTPUT", 2000)
    host = scenarios.variant("ready")
    host["system"] = ("hotfix=KB000000\n" * 400).encode()
    endpoint.set_scenario(host)
    outcomes = judge(make_site(endpoint.site_overrides("server")), ["host.os", "host.features"], "preflight",
                     env=env())
    assert str(outcomes["host.os"].status) == "error" and "system on" in outcomes["host.os"].summary
    assert str(outcomes["host.features"].status) == "pass"
    # features' section came whole in the same Receive as system's: no command of its own.
    assert [r["probes"] for r in endpoint.requests() if r["action"] == "Command"] == [["system", "features"]]


def test_a_probe_running_past_the_timeout_costs_only_the_probes_not_received(endpoint):
    endpoint.set_scenario(scenarios.variant("ready"), delays={"features": 30})
    site = make_site({**endpoint.site_overrides("server"), "run": {"timeout": 2.0}})
    outcomes = judge(site, ["host.os", "host.features"], "preflight", env=env())
    assert str(outcomes["host.os"].status) == "pass"  # its section came before features started
    assert str(outcomes["host.features"].status) == "error"
    assert "features on" in outcomes["host.features"].summary and "still running" in outcomes["host.features"].summary
    assert "Signal" in [r["action"] for r in endpoint.requests()]


@pytest.mark.parametrize("phase, ids, commands", [
    ("preflight", ["host.*", "ad.dc-health", "ad.replication"], [["system", "features"],
                                                                 ["system", "repadmin", "dcdiag"]]),
    ("post", POST, [["ocs"], ["system", "events"], ["system", "repadmin"]]),
])
def test_each_command_is_the_batch_of_planned_probes_pack_made(endpoint, phase, ids, commands):
    endpoint.set_scenario(scenarios.variant("ready"))
    judge(both_roles(endpoint), ids, phase, env=env())
    sent = [r for r in endpoint.requests() if r["action"] == "Command"]
    assert sorted(r["probes"] for r in sent) == sorted(commands)
    assert all(r["leg"] == "session" for r in sent)
