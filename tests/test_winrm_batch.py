"""A batch's output as the client reads it, without a server: which sections count, which probe an error
belongs to, and what is left to run alone. Pure tests (the endpoint's end-to-end ones: test_winrm_chain.py)."""
from __future__ import annotations

import base64
from typing import Dict, List

import pytest

from ocscheck.facts.store import FactUnavailable, Reason
from ocscheck.facts.winrm import transport
from ocscheck.facts.winrm.batch import PlannedProbes
from ocscheck.facts.winrm.transport import Output
from ocscheck.values.host import ProbeOutput

SOURCE = "winrm http://127.0.0.30:5985/wsman"


def section(name: str, data: bytes, exit_code: int = 0) -> bytes:
    """A section as blocks.ps1's Add-Section prints it over WinRM."""
    encoded = base64.encodebytes(data).replace(b"\n", b"\r\n") or b"\r\n"
    return f"[probe {name} exit={exit_code}]\r\n".encode() + encoded + b"\r\n"


def received(names: List[str], *pieces: bytes, err: bytes = b"") -> Output:
    output = Output(names, batch=True)
    for piece in pieces:
        output.add(piece, b"")
    output.add(b"", err)
    return output


def sections_of(names: List[str], output: Output, failure=None) -> Dict[str, object]:
    return PlannedProbes(names, lambda: None, SOURCE)._sections(names, output, failure)  # type: ignore[arg-type]


def test_every_whole_section_becomes_the_probes_recorded_output():
    text = "caption=Microsoft Windows Server 2008 R2 Entreprise – édition française".encode("utf-8")
    netsh = "    Certificate Hash        : 5e2c\r\n".encode("cp437")
    found = sections_of(["system", "sslcert"], received(["system", "sslcert"], section("system", text),
                                                        section("sslcert", netsh, 1)))
    assert found["system"] == ProbeOutput(SOURCE, 0, text.decode("utf-8"), "utf-8")
    assert isinstance(found["sslcert"], ProbeOutput) and found["sslcert"].exit_code == 1
    assert "Certificate Hash" in found["sslcert"].text and found["sslcert"].source == SOURCE


def test_a_header_split_between_two_receives_is_still_progress():
    output = Output(["system", "features"], batch=True)
    whole = section("system", b"caption=x") + section("features", b"feature=Web-Server")
    cut = whole.index(b"[probe features") + 5
    assert output.add(whole[:cut], b"") is True  # system's header
    assert output.running == "features"
    assert output.add(whole[cut:], b"") is True  # features' header, in two halves
    assert output.printing == "features"


def test_a_damaged_section_is_that_probes_error_and_the_others_stand():
    damaged = b"[probe system exit=0]\r\n!!!!\r\n\r\n"
    found = sections_of(["system", "features"], received(["system", "features"], damaged,
                                                         section("features", b"feature=Web-Server")))
    assert isinstance(found["system"], FactUnavailable) and found["system"].reason is Reason.PROTOCOL
    assert "its section is damaged" in found["system"].detail
    assert isinstance(found["features"], ProbeOutput)


def test_cut_short_only_whole_sections_count_and_the_host_failure_goes_to_the_rest():
    whole = section("system", b"caption=x")
    partial = section("features", b"feature=Web-Server" * 20)[:-40]  # base64 lines that may look whole
    timeout = FactUnavailable(Reason.TIMEOUT, "features on host still running after 3 s")
    found = sections_of(["system", "features"], received(["system", "features"], whole, partial), timeout)
    assert isinstance(found["system"], ProbeOutput)
    assert found["features"] is timeout


def test_a_failure_of_one_request_leaves_the_missing_probes_to_run_alone():
    fault = FactUnavailable(Reason.PROTOCOL, "WS-Management fault 2150858843")
    found = sections_of(["system", "features"], received(["system", "features"], section("system", b"x=1")), fault)
    assert isinstance(found["system"], ProbeOutput) and "features" not in found


def test_an_empty_section_is_an_empty_output():
    found = sections_of(["sites"], received(["sites"], section("sites", b"", 9009)))
    assert found["sites"] == ProbeOutput(SOURCE, 9009, "", "utf-8")


def test_several_sections_in_one_receive_are_each_held_to_the_cap(monkeypatch):
    monkeypatch.setattr(transport, "MAX_COMMAND_OUTPUT", 100)
    output = received(["system", "features"], section("system", b"h" * 500) + section("features", b"f=1"))
    assert output.overflowing and output.printing == "system"


def test_a_command_printing_endlessly_on_stderr_is_stopped(monkeypatch):
    monkeypatch.setattr(transport, "MAX_COMMAND_OUTPUT", 100)
    assert received(["system"], err=b"e" * 101).overflowing
    assert not received(["system"], section("system", b"x" * 60), err=b"e" * 99).overflowing


@pytest.mark.parametrize("names, last, running", [
    (["system", "ocs", "events"], None, "system"),
    (["system", "ocs", "events"], "system", "ocs"),
    (["system", "ocs", "events"], "events", "events"),
])
def test_the_running_probe_is_the_one_after_the_last_section(names, last, running):
    output = Output(names, batch=True)
    if last:
        output.add(section(last, b"x"), b"")
    assert output.running == running
