"""The WinRM batches: the probes a run needs, in the fewest command lines cmd.exe takes, built from the same
building blocks as collect.ps1, printing sections that the snapshot's own parser reads. Pure tests."""
from __future__ import annotations

import base64
import itertools

import pytest

from ocscheck.collector import (ENCODED_COMMAND, MAX_COMMAND_LINE, PROBES, SnapshotError, _compact, _resource,
                                parse_sections, script_text)
from ocscheck.collector.batch import MARKER, _blocks, batch_command_line, batch_script, pack
from tests.winrm_endpoint import scenarios, windows

SUBSETS = [names for size in range(1, len(PROBES) + 1) for names in itertools.combinations(PROBES, size)]


@pytest.mark.parametrize("names", SUBSETS, ids=" ".join)
def test_pack_fits_every_probe_once_in_the_fewest_command_lines(names):
    commands = pack(names)
    assert sorted(name for command in commands for name in command) == sorted(names)
    assert all(len(batch_command_line(command)) <= MAX_COMMAND_LINE for command in commands)
    assert all(list(command) == [n for n in PROBES if n in command] for command in commands)  # PROBES order
    if len(commands) > 1:  # fewest: no way with one command less (every split of the probes tried)
        fewer = len(commands) - 1
        for assignment in itertools.product(range(fewer), repeat=len(names)):
            groups = [[n for n, g in zip(names, assignment) if g == i] for i in range(fewer)]
            assert not all(len(batch_command_line(g)) <= MAX_COMMAND_LINE for g in groups if g), groups


def test_a_full_post_on_the_server_takes_two_commands():
    # system, ocs and events are about 3,200 characters of script: over the ~3,050 one command line carries.
    assert pack(["system", "ocs", "events", "sslcert", "sites"]) == [("system", "events"), ("ocs", "sslcert", "sites")]
    assert pack(["system", "features"]) == [("system", "features")]
    assert pack(["system", "repadmin", "dcdiag"]) == [("system", "repadmin", "dcdiag")]


def test_the_batch_is_the_collectors_blocks_and_calls():
    script = batch_script(["system", "sslcert"])
    assert script.startswith(f"{MARKER} system sslcert\n")
    collect = _compact(script_text())
    for name, block in _blocks().items():
        assert block in collect, name  # one definition: collect.ps1 holds the very blocks a batch sends
        assert block in script
    assert set(_blocks()) == {"Add-Section", "Invoke-PsProbe", "Invoke-CmdProbe"}
    assert PROBES["system"].call(_compact(PROBES["system"].command)) in script
    assert "Invoke-CmdProbe 'sslcert' 'netsh http show sslcert'" in script
    assert "Invoke-CmdProbe" not in batch_script(["system"])  # only the blocks its probes use
    assert "Invoke-PsProbe" not in batch_script(["dcdiag"])


def test_the_batch_command_line_carries_the_script_and_nothing_else():
    line = batch_command_line(["system", "events"])
    assert line.startswith(ENCODED_COMMAND)
    assert base64.b64decode(line[len(ENCODED_COMMAND):], validate=True).decode("utf-16-le") == \
        batch_script(["system", "events"])


@pytest.mark.parametrize("pattern", ["IEX", "Invoke-Expression", "DownloadString", "DownloadData", "Net.WebClient",
                                     "GZipStream", "DeflateStream", "FromBase64String", "Invoke-WebRequest"])
def test_no_cradle_or_compressed_payload_in_what_we_send(pattern):
    sent = "\n".join([_resource("blocks.ps1"), *(batch_script(c) for c in pack(PROBES)),
                      *(p.script for p in PROBES.values() if p.kind == "ps")])
    assert pattern.lower() not in sent.lower()


def test_a_batch_output_reads_with_the_snapshot_parser():
    host = scenarios.variant("ready")
    outputs = scenarios.endpoint_outputs(host)
    names = ["system", "features", "sslcert", "repadmin"]
    printed = windows.run(batch_command_line(names), "", outputs)
    assert printed.stderr == b"" and printed.exit_code == 0
    text = b"".join(piece for _, piece in printed.pieces).decode("ascii")
    sections = list(parse_sections(text.splitlines()))
    assert [name for name, _, _ in sections] == names
    assert all(data == scenarios.probe_bytes(host, name) for name, _, data in sections)


def test_parse_sections_gives_damage_per_section_and_stops_at_a_damaged_header():
    lines = ["[probe system exit=0]", base64.b64encode(b"caption=x").decode(), "[probe ocs exit=3]", "!!not base64",
             "[probe sites exit=9009]", "", "[probe broken", "[probe events exit=0]", "AAAA"]
    found = []
    with pytest.raises(SnapshotError, match="damaged probe header"):
        for section in parse_sections(lines):
            found.append(section)
    assert found == [("system", 0, b"caption=x"), ("ocs", 3, None)]  # sites: cut by the damaged line after it
