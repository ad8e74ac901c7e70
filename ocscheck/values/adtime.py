"""Active Directory values shared by the LDAP facts, the repsFrom decoder and the AD checks, free of any
LDAP library (so that loading the checks stays cheap): the RTC universal groups forest prep creates, and
AD's encodings of time."""
from __future__ import annotations

import datetime
from typing import Optional

RTC_GROUPS = ("RTCHSUniversalServices", "RTCComponentUniversalServices", "RTCProxyUniversalServices",
              "RTCUniversalGuestAccessGroup", "RTCUniversalServerAdmins", "RTCUniversalUserAdmins",
              "RTCUniversalReadOnlyAdmins", "RTCUniversalGlobalWriteGroup", "RTCUniversalGlobalReadOnlyGroup",
              "RTCUniversalUserReadOnlyGroup", "RTCUniversalServerReadOnlyGroup")

_EPOCH_1601 = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)
_ISO = "%Y-%m-%dT%H:%M:%SZ"


def filetime(value: Optional[int]) -> Optional[datetime.datetime]:
    """A FILETIME (100 ns since 1601) as UTC; None for 0 and 'never' (0x7FFFFFFFFFFFFFFF)."""
    if not value or value >= 0x7FFFFFFFFFFFFFFF:
        return None
    return _EPOCH_1601 + datetime.timedelta(microseconds=value // 10)


def dstime(seconds: int) -> Optional[datetime.datetime]:
    """A DSTIME (seconds since 1601) as UTC; None for 0 (never)."""
    return _EPOCH_1601 + datetime.timedelta(seconds=seconds) if seconds else None


def to_iso(moment: Optional[datetime.datetime]) -> Optional[str]:
    return moment.strftime(_ISO) if moment else None


def parse_iso(text: str) -> datetime.datetime:
    return datetime.datetime.strptime(text, _ISO).replace(tzinfo=datetime.timezone.utc)


def generalized_time(text: str) -> str:
    """An LDAP GeneralizedTime as ISO 8601 UTC: 20261127064355.0Z -> 2026-11-27T06:43:55Z."""
    return datetime.datetime.strptime(text[:14], "%Y%m%d%H%M%S").strftime(_ISO)
