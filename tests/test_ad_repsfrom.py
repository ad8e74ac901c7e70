"""repsFrom decoding on values captured from two Samba DCs; expected values are what
`samba-tool drs showrepl` printed at capture time (DC2 stopped for the "failing" capture)."""
from __future__ import annotations

import datetime
import struct
from pathlib import Path

import pytest

from ocscheck.values import repsfrom

FIXTURES = Path(__file__).parent / "fixtures" / "ad"
UTC = datetime.timezone.utc
DC2_DSA = "029ff97b-7aee-4456-ba7a-b6b7caadf495"
DC1_DSA = "3d0d7ead-64f4-4d12-ad0d-0d1cb01c4261"


def load(name: str) -> repsfrom.RepsFrom:
    return repsfrom.parse((FIXTURES / name).read_bytes())


def test_failing_link_after_dc2_stopped():
    # showrepl: "Last attempt @ 06:53:49 failed, result 1225 (WERR_CONNECTION_REFUSED), 2 consecutive
    # failure(s), Last success @ 06:53:47"
    reps = load("repsfrom-failing-ocsdc1-todorovic-0.bin")
    assert reps.version == 1
    assert reps.consecutive_failures == 2
    assert reps.last_result == 1225
    assert reps.last_success == datetime.datetime(2026, 11, 27, 6, 53, 47, tzinfo=UTC)
    assert reps.last_attempt == datetime.datetime(2026, 11, 27, 6, 53, 49, tzinfo=UTC)
    assert reps.source_dsa_guid == DC2_DSA
    assert reps.source_address == f"{DC2_DSA}._msdcs.todorovic.adds"
    link = reps.link("ocsdc1.todorovic.adds", "ocsdc2.todorovic.adds", "DC=todorovic,DC=adds")
    assert link.to_json() == {
        "destination_dc": "ocsdc1.todorovic.adds", "source_dc": "ocsdc2.todorovic.adds",
        "naming_context": "DC=todorovic,DC=adds", "consecutive_failures": 2,
        "last_success": "2026-11-27T06:53:47Z", "last_attempt": "2026-11-27T06:53:49Z", "last_result": 1225,
        "origin": "ldap"}


@pytest.mark.parametrize("name, source", [
    ("repsfrom-ok-ocsdc1-todorovic-0.bin", DC2_DSA), ("repsfrom-ok-ocsdc1-configuration-0.bin", DC2_DSA),
    ("repsfrom-ok-ocsdc2-todorovic-0.bin", DC1_DSA), ("repsfrom-ok-ocsdc2-configuration-0.bin", DC1_DSA),
    ("repsfrom-failing-ocsdc1-configuration-0.bin", DC2_DSA),
])
def test_healthy_links(name, source):
    reps = load(name)
    assert (reps.consecutive_failures, reps.last_result) == (0, 0)
    assert reps.last_success is not None and reps.last_success == reps.last_attempt
    assert reps.source_dsa_guid == source
    assert reps.source_address == f"{source}._msdcs.todorovic.adds"


def test_never_replicated_reads_none():
    data = bytearray((FIXTURES / "repsfrom-ok-ocsdc1-todorovic-0.bin").read_bytes())
    struct.pack_into("<QQ", data, 16, 0, 0)
    reps = repsfrom.parse(bytes(data))
    assert reps.last_success is None and reps.last_attempt is None
    assert reps.link("a", "b", "nc").last_success is None


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d[:100], "shorter than"),
    (lambda d: struct.pack("<I", 3) + d[4:], "version 3"),
    (lambda d: d[:36] + struct.pack("<I", 260) + d[40:], "past the end"),
])
def test_malformed_values_are_rejected(mutate, message):
    data = (FIXTURES / "repsfrom-ok-ocsdc1-todorovic-0.bin").read_bytes()
    with pytest.raises(repsfrom.RepsFromError, match=message):
        repsfrom.parse(mutate(data))
