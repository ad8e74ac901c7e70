"""ad.replication on two real Samba DCs (DC2 joined to DC1), then with DC2 stopped; merged with repadmin."""
from __future__ import annotations

import time
from pathlib import Path

from ocscheck.facts import Inputs
from ocscheck.model import Status
from tests.helpers import judge, make_site
from tests.lab.samba import BASE_DN, NAMING_CONTEXTS, Lab, SambaDC

# Registered as a plugin, not imported: an imported session fixture is instantiated once per module.

REPADMIN_FAILURES = Path(__file__).parent / "fixtures" / "windows" / "repadmin-showrepl-failures.csv"


def replication(lab: Lab, dc2: SambaDC, inputs: Inputs = Inputs(), **thresholds):
    overrides = lab.site(replication_dcs=[dc2.url])
    if thresholds:
        overrides["thresholds"] = thresholds
    return judge(make_site(overrides), ("ad.replication",), "preflight", env=dict(lab.env),
                 inputs=inputs)["ad.replication"]


def test_single_dc_has_nothing_to_judge(samba_2003: Lab):
    outcome = judge(make_site(samba_2003.site()), ("ad.replication",), "preflight",
                    env=dict(samba_2003.env))["ad.replication"]
    assert outcome.status == Status.PASS
    assert outcome.summary == "a single domain controller: no inbound replication link to judge"


def test_healthy_links_on_both_dcs(samba_lab: Lab, samba_dc2: SambaDC):
    outcome = replication(samba_lab, samba_dc2)
    assert outcome.status == Status.PASS, outcome.evidence
    assert outcome.summary == f"{2 * len(NAMING_CONTEXTS)} inbound link(s) healthy"
    for nc in NAMING_CONTEXTS:
        assert any(e.startswith(f"[ldap] ocsdc1.todorovic.adds <- ocsdc2.todorovic.adds {nc}: last success 20")
                   for e in outcome.evidence), nc
        assert any(e.startswith(f"[ldap] ocsdc2.todorovic.adds <- ocsdc1.todorovic.adds {nc}: last success 20")
                   for e in outcome.evidence), nc


def test_last_success_older_than_the_threshold_fails(samba_lab: Lab, samba_dc2: SambaDC):
    time.sleep(1.2)
    outcome = replication(samba_lab, samba_dc2, replication_max_age_hours=0.0002)  # 0.72 s
    assert outcome.status == Status.FAIL
    assert "h ago" in " ".join(outcome.evidence)


def test_repadmin_links_are_merged_with_their_origin(samba_lab: Lab, samba_dc2: SambaDC):
    outcome = replication(samba_lab, samba_dc2, Inputs(repadmin=REPADMIN_FAILURES))
    assert outcome.status == Status.FAIL
    ldap_lines = [e for e in outcome.evidence if e.startswith("[ldap] ")]
    repadmin_lines = [e for e in outcome.evidence if e.startswith("[repadmin] ")]
    assert len(ldap_lines) == 2 * len(NAMING_CONTEXTS)
    assert any("DC1 <- DC3" in e and "42 consecutive failure(s), last result 1722" in e for e in repadmin_lines)
    assert "repadmin /showrepl DC1" in outcome.remediation


def test_dc2_stopped_gives_real_consecutive_failures(samba_lab: Lab, samba_dc2: SambaDC):
    samba_dc2.stop()  # last test of the module: DC2 stays down
    samba_lab.dc1.drs_replicate(samba_lab.dc1, samba_dc2, BASE_DN, check=False)
    started = time.monotonic()
    outcome = replication(samba_lab, samba_dc2)
    elapsed = time.monotonic() - started
    assert outcome.status == Status.FAIL
    failing = [e for e in outcome.evidence
               if e.startswith(f"[ldap] ocsdc1.todorovic.adds <- ocsdc2.todorovic.adds {BASE_DN}:")]
    assert len(failing) == 1 and "consecutive failure(s), last result " in failing[0], outcome.evidence
    assert any(e.startswith("unreadable: unreachable: ldaps://127.0.0.3: ") for e in outcome.evidence), \
        outcome.evidence
    assert "1 DC(s) unreadable" in outcome.summary
    assert "repadmin /showrepl ocsdc1.todorovic.adds" in outcome.remediation
    assert elapsed < 3 * 3.0


def test_configured_repadmin_source_that_cannot_be_read_never_passes(samba_2003: Lab):
    """LDAP reads fine, but the configured WinRM DC refuses the connection: error, not a green check."""
    overrides = samba_2003.site()
    overrides["winrm"] = {"dc": {"host": "127.0.0.60", "port": 9, "user": "TODOROVIC\\admin", "password_env": "PW"}}
    outcome = judge(make_site(overrides), ("ad.replication",), "preflight",
                    env={**samba_2003.env, "PW": "x"})["ad.replication"]
    assert outcome.status == Status.ERROR, (outcome.summary, outcome.evidence)
    assert "repadmin: refused" in outcome.summary
