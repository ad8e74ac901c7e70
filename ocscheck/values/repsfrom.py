"""Decoding of the ``repsFrom`` attribute of a naming-context head (NDR ``repsFromToBlob``), pure Python.

Each value is one inbound replication link of the DC that answered. Layout (MS-DRSR 5.172 REPS_FROM,
Samba ``drsblobs.idl``), little-endian::

    0   uint32 version (1 or 2)          4  uint32 reserved
    8   uint32 blob size                12  uint32 consecutive sync failures
    16  DSTIME last success (seconds since 1601-01-01 UTC, 0 = never)
    24  DSTIME last attempt             32  WERROR result of the last attempt
    36  uint32 offset of the source DSA address, from byte 0
    40  uint32 length of that address   44  uint32 replica flags
    48  84-byte schedule                132 uint32 reserved
    136 USN high-water mark (3 x 8)     160 GUID source DSA object (NTDS Settings objectGUID)
    176 GUID source invocation id       192 GUID transport
Version 1 stores the address as ``uint32 size, char name[size]`` (``<DSA GUID>._msdcs.<forest>``);
version 2 stores two relative UTF-16 names and is decoded for the counters only.
"""
from __future__ import annotations

import datetime
import struct
import uuid
from dataclasses import dataclass
from typing import Optional

from ocscheck.values.adtime import dstime, to_iso
from ocscheck.values.replication import ReplicationLink
_FIXED = 208  # bytes up to the end of the transport GUID


class RepsFromError(ValueError):
    """The bytes are not a repsFromToBlob this decoder understands."""


@dataclass(frozen=True)
class RepsFrom:
    version: int
    consecutive_failures: int
    last_success: Optional[datetime.datetime]
    last_attempt: Optional[datetime.datetime]
    last_result: int
    replica_flags: int
    source_dsa_guid: str
    source_invocation_id: str
    source_address: Optional[str]  # v1: "<source DSA GUID>._msdcs.<forest>"

    def link(self, destination_dc: str, source_dc: str, naming_context: str) -> ReplicationLink:
        return ReplicationLink(destination_dc=destination_dc, source_dc=source_dc, naming_context=naming_context,
                               consecutive_failures=self.consecutive_failures,
                               last_success=to_iso(self.last_success), last_attempt=to_iso(self.last_attempt),
                               last_result=self.last_result, origin="ldap")




def parse(data: bytes) -> RepsFrom:
    if len(data) < _FIXED:
        raise RepsFromError(f"{len(data)} bytes is shorter than a repsFrom value ({_FIXED})")
    version, = struct.unpack_from("<I", data, 0)
    if version not in (1, 2):
        raise RepsFromError(f"repsFrom version {version} (1 or 2 expected)")
    failures, success, attempt, result, address_at, address_len, flags = struct.unpack_from("<IQQIIII", data, 12)
    dsa = str(uuid.UUID(bytes_le=bytes(data[160:176])))
    invocation = str(uuid.UUID(bytes_le=bytes(data[176:192])))
    address = None
    if version == 1 and address_at and address_len >= 4:
        start = address_at
        if start + address_len > len(data):
            raise RepsFromError(f"source address at {start} (+{address_len}) is past the end ({len(data)})")
        size, = struct.unpack_from("<I", data, start)
        address = bytes(data[start + 4:start + 4 + size]).rstrip(b"\0").decode("ascii", "replace")
    return RepsFrom(version, failures, dstime(success), dstime(attempt), result, flags, dsa, invocation, address)
