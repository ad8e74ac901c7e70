"""The security-descriptor parser on a real nTSecurityDescriptor captured from Samba (CN=Computers, DACL
only, SD flags control), checked against the SDDL Samba printed for the same object."""
from __future__ import annotations

import re
import struct
from pathlib import Path

import pytest

from ocscheck.values import secdesc

FIXTURES = Path(__file__).parent / "fixtures" / "ad"
DOMAIN_SID = "S-1-5-21-441839744-3078084348-3413162460"
ALIASES = {"AO": "S-1-5-32-548", "AU": "S-1-5-11", "BA": "S-1-5-32-544", "DA": f"{DOMAIN_SID}-512",
           "EA": f"{DOMAIN_SID}-519", "ED": "S-1-5-9", "PO": "S-1-5-32-550", "PS": "S-1-5-10",
           "RU": "S-1-5-32-554", "SY": "S-1-5-18"}
TYPES = {"A": 0x00, "D": 0x01, "OA": 0x05, "OD": 0x06}
FLAGS = {"CI": 0x02, "OI": 0x01, "IO": 0x08, "ID": 0x10, "NP": 0x04}


def sddl_aces():
    text = (FIXTURES / "computers-dacl.sddl").read_text()
    for ace in re.findall(r"\(([^)]*)\)", text):
        kind, flags, _rights, object_type, inherited_type, trustee = ace.split(";")
        flag_value = sum(FLAGS[flags[i:i + 2]] for i in range(0, len(flags), 2))
        yield TYPES[kind], flag_value, object_type or None, inherited_type or None, ALIASES.get(trustee, trustee)


def test_captured_dacl_matches_samba_sddl():
    descriptor = secdesc.parse((FIXTURES / "computers-dacl.sd").read_bytes())
    assert descriptor.owner is None and descriptor.group is None  # only the DACL was asked for
    expected = list(sddl_aces())
    assert len(descriptor.dacl) == len(expected) == 30
    for ace, (kind, flags, object_type, inherited_type, sid) in zip(descriptor.dacl, expected):
        assert (ace.type, ace.flags, ace.object_type, ace.inherited_object_type, ace.sid) == \
               (kind, flags, object_type, inherited_type, sid)
    first = descriptor.dacl[0]
    assert first.type_name == "ACCESS_ALLOWED_OBJECT" and first.allows and not first.inherited
    assert first.mask == 0x10  # RP (read property)
    assert any(a.inherited for a in descriptor.dacl)


def test_json_round_trip():
    for ace in secdesc.parse((FIXTURES / "computers-dacl.sd").read_bytes()).dacl:
        assert secdesc.Ace.from_json(ace.to_json()) == ace


@pytest.mark.parametrize("data, message", [
    (b"\x01\x00", "too short"),
    (b"\x02" + b"\x00" * 19, "revision 2"),
    (struct.pack("<BBHIIII", 1, 0, 0x0004, 0, 0, 0, 20), "not a self-relative"),
    (struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 20) + struct.pack("<BBHHH", 2, 0, 200, 1, 0), "claims 200"),
    (struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 20) + struct.pack("<BBHHH", 2, 0, 16, 1, 0)
     + struct.pack("<BBHI", 0, 0, 40, 0), "bad size 40"),
])
def test_malformed_descriptors_are_rejected(data, message):
    with pytest.raises(secdesc.SecurityDescriptorError, match=message):
        secdesc.parse(data)


def test_unknown_ace_type_is_kept_without_a_sid():
    ace = struct.pack("<BBHI", 0x42, 0, 8, 7)
    acl = struct.pack("<BBHHH", 2, 0, 8 + len(ace), 1, 0) + ace
    data = struct.pack("<BBHIIII", 1, 0, 0x8004, 0, 0, 0, 20) + acl
    (parsed,) = secdesc.parse(data).dacl
    assert (parsed.type, parsed.mask, parsed.sid, parsed.allows) == (0x42, 7, None, False)
