"""The bundled example (README command 1): a full report from recorded lab facts, no network."""
from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from ocscheck.cli import EXAMPLE_DIR, main
from ocscheck.model import Phase
from ocscheck.registry import load_all, select


def _run(tmp_path, *args):
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, [*args, "-v", "--report", f"json:{out}"])
    return result, json.loads(out.read_text())


@pytest.mark.parametrize("phase", ["post", "preflight"])
def test_example_judges_every_check_of_the_phase_from_the_recording(tmp_path, phase):
    result, document = _run(tmp_path, phase, "--example")
    assert result.exit_code == 0, result.output
    assert document["replayed_from"].endswith(f"{phase}.facts.json")
    expected = [s.id for s in select(load_all().specs(), Phase(phase))]
    assert [c["id"] for c in document["checks"]] == expected
    assert {c["id"]: c["status"] for c in document["checks"] if c["status"] != "pass"} == {}


def test_example_replays_the_same_wherever_it_is_installed(tmp_path):
    moved = tmp_path / "elsewhere" / "example"
    shutil.copytree(EXAMPLE_DIR, moved)
    _, here = _run(tmp_path, "post", "--example")
    _, there = _run(tmp_path, "post", "-c", str(moved / "site.toml"), "--replay", str(moved / "post.facts.json"))
    assert [(c["id"], c["status"], c["summary"]) for c in there["checks"]] == \
        [(c["id"], c["status"], c["summary"]) for c in here["checks"]]


@pytest.mark.parametrize("phase, failing", [
    ("post", {"ad.replication", "host.services", "cert.san", "dns.sip-tls-srv", "sip.tls"}),
    ("preflight", {"ad.replication", "host.kb974571", "cert.san"}),
])
def test_the_failing_example_shows_the_mistakes_people_meet_with_their_fixes(tmp_path, phase, failing):
    result, document = _run(tmp_path, phase, "--example", "failing")
    assert result.exit_code == 1, result.output
    assert document["replayed_from"] == f"<bundled example>/failing/{phase}.facts.json"
    assert {c["id"] for c in document["checks"] if c["status"] == "fail"} == failing
    assert all(c["remediation"] for c in document["checks"] if c["status"] == "fail")
    assert {c["status"] for c in document["checks"]} <= {"pass", "fail", "skip"}  # nothing unreadable


def test_the_bundled_recordings_hold_no_path_of_the_machine_that_made_them():
    for recording in EXAMPLE_DIR.rglob("*.facts.json"):
        text = recording.read_text()
        assert "/tmp/" not in text and "/work/" not in text and "/root/" not in text and "/home/" not in text, \
            recording
