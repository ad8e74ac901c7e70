"""A parser for Windows self-relative security descriptors (nTSecurityDescriptor), pure Python.

Only reading is needed: ``ad.domain-prep`` looks for ACEs whose trustee is an RTC universal group.
Layout: MS-DTYP 2.4.6 (SECURITY_DESCRIPTOR, self-relative), 2.4.5 (ACL), 2.4.4 (ACE types), 2.4.2 (SID).
AD returns only the parts asked for with the SD flags control (1.2.840.113556.1.4.801): the DACL,
owner and group may be absent, which the offsets of 0 say.
"""
from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

SE_DACL_PRESENT = 0x0004
SE_SELF_RELATIVE = 0x8000

ACE_TYPE_NAMES = {
    0x00: "ACCESS_ALLOWED", 0x01: "ACCESS_DENIED", 0x02: "SYSTEM_AUDIT", 0x03: "SYSTEM_ALARM",
    0x05: "ACCESS_ALLOWED_OBJECT", 0x06: "ACCESS_DENIED_OBJECT", 0x07: "SYSTEM_AUDIT_OBJECT",
    0x08: "SYSTEM_ALARM_OBJECT", 0x09: "ACCESS_ALLOWED_CALLBACK", 0x0A: "ACCESS_DENIED_CALLBACK",
    0x0B: "ACCESS_ALLOWED_CALLBACK_OBJECT", 0x0C: "ACCESS_DENIED_CALLBACK_OBJECT",
    0x0D: "SYSTEM_AUDIT_CALLBACK", 0x0F: "SYSTEM_AUDIT_CALLBACK_OBJECT", 0x11: "SYSTEM_MANDATORY_LABEL",
    0x12: "SYSTEM_RESOURCE_ATTRIBUTE", 0x13: "SYSTEM_SCOPED_POLICY_ID",
}
_OBJECT_TYPES = {0x05, 0x06, 0x07, 0x08, 0x0B, 0x0C, 0x0F}
_PLAIN_TYPES = {0x00, 0x01, 0x02, 0x03, 0x09, 0x0A, 0x0D, 0x11, 0x12, 0x13}
_ALLOWED_TYPES = {0x00, 0x05, 0x09, 0x0B}
INHERITED_ACE = 0x10
ACE_OBJECT_TYPE_PRESENT = 0x1
ACE_INHERITED_OBJECT_TYPE_PRESENT = 0x2


class SecurityDescriptorError(ValueError):
    """The bytes are not a self-relative security descriptor."""


@dataclass(frozen=True)
class Ace:
    type: int
    flags: int
    mask: int
    sid: Optional[str]                     # None for ACE types whose layout is not a mask + SID
    object_type: Optional[str] = None      # GUID (object ACEs only)
    inherited_object_type: Optional[str] = None

    @property
    def type_name(self) -> str:
        return ACE_TYPE_NAMES.get(self.type, f"ACE type 0x{self.type:02x}")

    @property
    def allows(self) -> bool:
        return self.type in _ALLOWED_TYPES

    @property
    def inherited(self) -> bool:
        return bool(self.flags & INHERITED_ACE)

    def to_json(self) -> Dict[str, Any]:
        return {"type": self.type, "flags": self.flags, "mask": self.mask, "sid": self.sid,
                "object_type": self.object_type, "inherited_object_type": self.inherited_object_type}

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Ace":
        return cls(**data)


@dataclass(frozen=True)
class SecurityDescriptor:
    control: int
    owner: Optional[str]
    group: Optional[str]
    dacl: Optional[Tuple[Ace, ...]]  # None when the descriptor carries no DACL


def parse_sid(data: bytes, offset: int = 0) -> Tuple[str, int]:
    """The SID at ``offset`` as S-1-… text, and its length in bytes."""
    if len(data) < offset + 8:
        raise SecurityDescriptorError(f"SID at {offset} is truncated")
    revision, count = data[offset], data[offset + 1]
    if revision != 1 or count > 15:
        raise SecurityDescriptorError(f"SID at {offset}: revision {revision}, {count} sub-authorities")
    length = 8 + 4 * count
    if len(data) < offset + length:
        raise SecurityDescriptorError(f"SID at {offset} is truncated")
    authority = int.from_bytes(data[offset + 2:offset + 8], "big")
    subs = struct.unpack_from(f"<{count}I", data, offset + 8)
    return "S-1-" + "-".join(str(v) for v in (authority, *subs)), length


def parse(data: bytes) -> SecurityDescriptor:
    if len(data) < 20:
        raise SecurityDescriptorError(f"{len(data)} bytes is too short for a security descriptor")
    revision, _sbz1, control, owner_at, group_at, _sacl_at, dacl_at = struct.unpack_from("<BBHIIII", data)
    if revision != 1:
        raise SecurityDescriptorError(f"revision {revision} (expected 1)")
    if not control & SE_SELF_RELATIVE:
        raise SecurityDescriptorError("not a self-relative descriptor")
    owner = parse_sid(data, owner_at)[0] if owner_at else None
    group = parse_sid(data, group_at)[0] if group_at else None
    dacl = _parse_acl(data, dacl_at) if control & SE_DACL_PRESENT and dacl_at else None
    return SecurityDescriptor(control, owner, group, dacl)


def _parse_acl(data: bytes, offset: int) -> Tuple[Ace, ...]:
    if len(data) < offset + 8:
        raise SecurityDescriptorError(f"ACL at {offset} is truncated")
    _revision, _sbz1, size, count, _sbz2 = struct.unpack_from("<BBHHH", data, offset)
    end = offset + size
    if end > len(data):
        raise SecurityDescriptorError(f"ACL at {offset} claims {size} bytes, {len(data) - offset} remain")
    aces: List[Ace] = []
    at = offset + 8
    for index in range(count):
        if at + 4 > end:
            raise SecurityDescriptorError(f"ACE {index} starts past the end of the ACL")
        ace_type, flags, ace_size = struct.unpack_from("<BBH", data, at)
        if ace_size < 8 or at + ace_size > end:
            raise SecurityDescriptorError(f"ACE {index} has a bad size {ace_size}")
        aces.append(_parse_ace(data[at:at + ace_size], ace_type, flags))
        at += ace_size
    return tuple(aces)


def _parse_ace(body: bytes, ace_type: int, flags: int) -> Ace:
    mask = struct.unpack_from("<I", body, 4)[0]
    if ace_type in _PLAIN_TYPES:
        return Ace(ace_type, flags, mask, parse_sid(body, 8)[0])
    if ace_type in _OBJECT_TYPES:
        object_flags = struct.unpack_from("<I", body, 8)[0]
        at = 12
        object_type = inherited_type = None
        if object_flags & ACE_OBJECT_TYPE_PRESENT:
            object_type, at = _guid(body, at), at + 16
        if object_flags & ACE_INHERITED_OBJECT_TYPE_PRESENT:
            inherited_type, at = _guid(body, at), at + 16
        return Ace(ace_type, flags, mask, parse_sid(body, at)[0], object_type, inherited_type)
    return Ace(ace_type, flags, mask, None)


def _guid(body: bytes, at: int) -> str:
    if len(body) < at + 16:
        raise SecurityDescriptorError("object ACE GUID is truncated")
    return str(uuid.UUID(bytes_le=bytes(body[at:at + 16])))
