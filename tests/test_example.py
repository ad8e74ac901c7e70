"""The bundled example (README command 1): a full report from recorded lab facts, no network."""
from __future__ import annotations

import json

from click.testing import CliRunner

from ocscheck.cli import main
from ocscheck.registry import load_all, select
from ocscheck.model import Phase


def _run(phase, tmp_path):
    result = CliRunner().invoke(main, [phase, "--example", "-v", "--report", f"json:{tmp_path}/{phase}.json"])
    return result, json.loads((tmp_path / f"{phase}.json").read_text())


def test_post_example_judges_every_implemented_check_from_the_recording(tmp_path):
    result, document = _run("post", tmp_path)
    assert result.exit_code in (0, 1), result.output  # never 3: nothing may be missing from the recording
    assert document["replayed_from"].endswith("post.facts.json")
    implemented = {s.id for s in select(load_all().specs(), Phase.POST) if s.implemented}
    for check in document["checks"]:
        if check["id"] in implemented:
            assert check["status"] in ("pass", "warn", "fail"), check
    assert {c["id"]: c["status"] for c in document["checks"] if c["area"] == "dns"} == {
        "dns.server-a": "pass", "dns.sip-cname": "pass", "dns.sip-tls-srv": "pass", "dns.sipinternal-srv": "pass",
        "dns.split": "pass"}


def test_preflight_example(tmp_path):
    result, document = _run("preflight", tmp_path)
    assert result.exit_code in (0, 1), result.output
    assert any(c["id"] == "dns.server-a" and c["status"] == "pass" for c in document["checks"])
