"""Each check's ``@reads`` (the host probes it declares, which a run asks each host for at once) is what it
reads: every check, alone, judged over each bundled recording (the tutorial's and the failing one, both
phases), reads only host facts it declares; and what it declares for a phase, it reads in one of them.
Pure tests: replays, no server."""
from __future__ import annotations

from typing import Dict, Set, Tuple

import pytest

from ocscheck.cli import EXAMPLE_DIR
from ocscheck.collector import host_reads, reads
from ocscheck.config import load_site
from ocscheck.facts.store import load_recording
from ocscheck.facts.winrm import COMPANIONS
from ocscheck.model import Phase
from ocscheck.registry import load_all, select
from tests.helpers import judge

EXAMPLES = (EXAMPLE_DIR, EXAMPLE_DIR / "failing")
PHASES = ("preflight", "post")


def _read_alone(folder, phase: str) -> Dict[str, Set[str]]:
    """check id -> the host facts (``host:<role>:<probe>``) it reads, judged alone over the recording."""
    site, recording = load_site(folder / "site.toml"), load_recording(folder / f"{phase}.facts.json")
    found = {}
    for spec in select(load_all().specs(), Phase(phase)):
        verdicts = judge(site, [spec.id], phase, replay=recording)
        found[spec.id] = {key for key in verdicts.recording if key.startswith("host:")}
    return found


@pytest.fixture(scope="module")
def read() -> Dict[Tuple[str, str], Dict[str, Set[str]]]:
    """(example folder, phase) -> check id -> host facts read."""
    return {(str(folder), phase): _read_alone(folder, phase) for folder in EXAMPLES for phase in PHASES}


def declared(check_id: str, phase: str) -> Set[str]:
    """The host facts check ``check_id`` declares for ``phase``, with the probes their accessors read too."""
    spec = load_all().get(check_id)
    assert spec is not None
    return {f"host:{role}:{name}" for role, probes in host_reads(spec.func, phase).items()
            for probe in probes for name in (probe, *COMPANIONS.get(probe, ()))}


@pytest.mark.parametrize("phase", PHASES)
def test_every_check_reads_only_the_host_probes_it_declares(read, phase):
    for folder in EXAMPLES:
        for check_id, keys in read[(str(folder), phase)].items():
            assert keys <= declared(check_id, phase), (folder.name, check_id)


@pytest.mark.parametrize("phase", PHASES)
def test_every_declared_probe_is_read_in_one_of_the_examples(read, phase):
    checks = read[(str(EXAMPLE_DIR), phase)]
    for check_id in checks:
        seen = set().union(*(read[(str(folder), phase)][check_id] for folder in EXAMPLES))
        assert declared(check_id, phase) == seen, check_id


def test_the_host_checks_declare_their_probes():
    declaring = {spec.id for spec in load_all().specs() if any(host_reads(spec.func, p) for p in PHASES)}
    assert declaring == {"host.os", "host.features", "host.vcredist", "host.pending-reboot", "host.virtual",
                         "host.install-paths", "host.services", "host.sql-backend", "host.ocs-version",
                         "host.kb974571", "host.kb975858", "iis.https-binding", "ad.dc-health", "ad.replication"}
    kb = load_all().get("host.kb974571")
    assert host_reads(kb.func, "preflight") == {"server": {"system"}}
    assert host_reads(kb.func, "post") == {"server": {"system", "events"}}  # events: when the change is present


@pytest.mark.parametrize("args, kwargs, problem", [
    (("web", "system"), {}, "unknown host role 'web'"),
    (("server", "sytem"), {}, "unknown probe(s) sytem"),
    (("server", "system"), {"phase": "install"}, "unknown phase 'install'"),
])
def test_a_wrong_declaration_fails_at_import(args, kwargs, problem):
    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        reads(*args, **kwargs)
