"""ad.prep-replicated on two real Samba DCs: DC2 (127.0.0.3) joined to DC1 (127.0.0.2, the site's DC).

The difference is made real: inbound replication is disabled on DC2 (`samba-tool drs options
--dsa-option=+DISABLE_INBOUND_REPL`), then forest-prep content and the schema version change on DC1.
Every scenario puts both DCs back (re-enabled, replicated) for the modules that share them.
"""
from __future__ import annotations

import time

from ocscheck.model import Status
from tests.helpers import judge, make_site
from tests.lab.samba import CONFIG_DN, NAMING_CONTEXTS, SCHEMA_DN, Lab, SambaDC

# Registered as a plugin, not imported: an imported session fixture is instantiated once per module.

DC1_NAME, DC2_NAME = "ocsdc1.todorovic.adds", "ocsdc2.todorovic.adds"


def verdict(lab: Lab, phase: str = "preflight", **ldap):
    return judge(make_site(lab.site(**ldap)), ("ad.prep-replicated",), phase,
                 env=dict(lab.env))["ad.prep-replicated"]


def in_sync(lab: Lab, dc2: SambaDC) -> None:
    """DC2 pulls the schema and configuration from DC1 now (the other modules' changes included)."""
    for nc in (SCHEMA_DN, CONFIG_DN):
        lab.dc1.drs_replicate(dc2, lab.dc1, nc)


def replicate_when_ready(lab: Lab, destination: SambaDC, source: SambaDC, nc: str, attempts: int = 30) -> None:
    """A DC just restarted answers LDAP before its DRS server does (WERR_NETNAME_DELETED): retry."""
    for _ in range(attempts):
        if "was successful" in lab.dc1.drs_replicate(destination, source, nc, check=False):
            return
        time.sleep(1)
    lab.dc1.drs_replicate(destination, source, nc)  # the last try reports why


def test_both_dcs_hold_the_same_preparation(samba_good: Lab, samba_dc2: SambaDC):
    in_sync(samba_good, samba_dc2)
    for phase in ("preflight", "post"):
        outcome = verdict(samba_good, phase, replication_dcs=[samba_dc2.url])
        assert outcome.status == Status.PASS, (outcome.summary, outcome.evidence)
        assert outcome.summary.startswith("2 DCs hold the same OCS preparation (schema 1008; RTC Service: "
                                          "configuration; SIP domains: todorovic.fr; pools: ocs.todorovic.adds")
        # DC2 is found in the directory and reached at the replication_dcs address its RootDSE names.
        assert f"{DC2_NAME} ({samba_dc2.url}): schema 1008; RTC Service: configuration; SIP domains: todorovic.fr; " \
               "pools: ocs.todorovic.adds" in outcome.evidence


def test_dc_with_inbound_replication_disabled_lacks_the_new_preparation(samba_good: Lab, samba_dc2: SambaDC, undo):
    lab, dc1 = samba_good, samba_good.dc1
    in_sync(lab, samba_dc2)
    dc1.tool_local("drs", "options", samba_dc2.fqdn, "--dsa-option=+DISABLE_INBOUND_REPL")

    @undo
    def enable_and_catch_up():
        dc1.tool_local("drs", "options", samba_dc2.fqdn, "--dsa-option=-DISABLE_INBOUND_REPL")
        for nc in NAMING_CONTEXTS:
            dc1.drs_replicate(samba_dc2, dc1, nc)

    # Changes made on DC1 only, as an lcscmd step run against it would: a second SIP domain, a pool, a
    # newer schema version.
    domain = lab.forest.add_sip_domain("todorovic.com")
    pool = lab.forest.add_pool("ocs2.todorovic.adds", name="ocs2")
    dc1.set_schema_version(1009)

    @undo
    def remove_changes():
        dc1.set_schema_version(1008)
        lab.forest.delete(domain)
        lab.forest.delete_tree(pool)

    outcome = verdict(lab, replication_dcs=[samba_dc2.url])
    assert outcome.status == Status.FAIL, (outcome.summary, outcome.evidence)
    assert outcome.summary == (f"not replicated to every DC: {DC2_NAME}: schema version 1008, the site's DC 1009; "
                               "lacks SIP domain(s) todorovic.com; lacks pool(s) ocs2.todorovic.adds")
    assert outcome.remediation.splitlines()[:4] == [
        f'repadmin /replicate {DC2_NAME} {DC1_NAME} "{SCHEMA_DN}"',
        f'repadmin /replicate {DC2_NAME} {DC1_NAME} "{CONFIG_DN}"',
        f"repadmin /showrepl {DC2_NAME}",
        f"(inbound replication disabled on it? repadmin /options {DC2_NAME} -DISABLE_INBOUND_REPL)"]


def test_dc_that_cannot_be_read_is_an_error_naming_it(samba_good: Lab, samba_dc2: SambaDC, undo):
    lab = samba_good
    samba_dc2.stop()

    @undo
    def restart():
        samba_dc2.start()
        for nc in NAMING_CONTEXTS:  # no failure left behind on either side for the replication tests
            for destination, source in ((samba_dc2, lab.dc1), (lab.dc1, samba_dc2)):
                replicate_when_ready(lab, destination, source, nc)

    outcome = verdict(lab, replication_dcs=[samba_dc2.url])
    assert outcome.status == Status.ERROR, (outcome.summary, outcome.evidence)
    # The listed address cannot say which DC it is: DC2 is then tried by its name, and named in the error.
    assert outcome.summary.startswith(f"cannot read 1 DC(s): {DC2_NAME} (ldaps://{DC2_NAME}): unreachable"), \
        outcome.summary


def test_another_dc_is_dialled_only_as_much_as_the_selected_checks_read_it(samba_good: Lab, samba_dc2: SambaDC,
                                                                           monkeypatch):
    """Each bind is a logon event on that DC: ad.forest-level never touches a replication_dcs DC; ad.prep-replicated
    opens three connections there (its RootDSE, schema version and both RTC partitions), not the site DC's many."""
    from ocscheck.facts.ldap.connection import DcConnections

    dials = []
    connect = DcConnections._connect

    def counting(self, where):
        dials.append(where.url)
        return connect(self, where)

    monkeypatch.setattr(DcConnections, "_connect", counting)
    site = make_site(samba_good.site(replication_dcs=[samba_dc2.url]))
    judge(site, ("ad.forest-level",), "preflight", env=dict(samba_good.env))
    assert samba_dc2.url not in dials
    dials.clear()
    assert verdict(samba_good, replication_dcs=[samba_dc2.url]).status is Status.PASS
    assert dials.count(samba_dc2.url) == 3
