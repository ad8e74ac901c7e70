"""``repadmin /showrepl * /csv``: one ``showrepl_INFO`` row per inbound link.

Columns are read by position (their names are localised): type, destination site, destination DSA,
naming context, source site, source DSA, transport, number of failures, last failure time, last
success time, last failure status. Times are the DC's local time as ``YYYY-MM-DD HH:MM:SS``, ``0``
meaning never. ``showrepl_ERROR`` rows name a DC repadmin could not read.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import List, Optional, Tuple

from ocscheck.values.replication import ReplicationLink

_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S")
# One blank run on each side of an optional ":"/"=" (two adjacent "\s*" around an optional separator
# backtracked quadratically on a run of blanks); a Win32 error code is 32 bits: at most 10 digits.
_WIN32 = re.compile(r"(?:Win32 Err(?:or)?|erreur Win32)\s*(?:[:=]\s*)?([0-9]{1,10})(?![0-9])", re.IGNORECASE)
# A DC's offset from UTC is within -12 h .. +14 h; anything beyond a day is not a time zone.
MAX_UTC_OFFSET_MINUTES = 24 * 60


@dataclass(frozen=True)
class RepadminReport:
    links: Tuple[ReplicationLink, ...]
    unreachable: Tuple[Tuple[str, str], ...]   # (DC, repadmin's message) of showrepl_ERROR rows
    error: Optional[str] = None
    notes: Tuple[str, ...] = ()


def parse_showrepl_csv(text: str, utc_offset_minutes: Optional[int] = None) -> RepadminReport:
    """Links from the CSV; times converted to UTC with the DC's offset (taken as UTC when unknown)."""
    links: List[ReplicationLink] = []
    unreachable: List[Tuple[str, str]] = []
    notes: List[str] = []
    if utc_offset_minutes is not None and not -MAX_UTC_OFFSET_MINUTES <= utc_offset_minutes <= MAX_UTC_OFFSET_MINUTES:
        notes.append(f"the DC's UTC offset {utc_offset_minutes!r} minutes is not a time zone: times read as UTC")
        utc_offset_minutes = 0
    offset = timedelta(minutes=utc_offset_minutes or 0)
    header_seen = False
    rows = [line for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            if line.strip().lower().startswith("showrepl_")]
    try:
        parsed = list(csv.reader(io.StringIO("\n".join(rows))))
    except csv.Error as exc:
        return RepadminReport((), (), error=f"not repadmin CSV: {exc}")
    for row in parsed:
        if not row:
            continue
        kind = row[0].strip().lower()
        if kind == "showrepl_columns":
            header_seen = True
        elif kind == "showrepl_error":
            dc = row[2].strip() if len(row) > 2 else "?"
            unreachable.append((dc, ",".join(row[3:]).strip()))
            match = _WIN32.search(",".join(row))
            links.append(ReplicationLink(destination_dc=dc, source_dc="", naming_context="",
                                         consecutive_failures=1, last_success=None, last_attempt=None,
                                         last_result=int(match.group(1)) if match else 1, origin="repadmin"))
        elif kind == "showrepl_info":
            link = _link(row, offset, notes)
            if link is not None:
                links.append(link)
    if not links and not header_seen:
        return RepadminReport((), (), error="not repadmin /showrepl /csv output (no showrepl_COLUMNS header)")
    if utc_offset_minutes is None and links:
        notes.append("times read as UTC: the capture does not say the DC's time zone")
    return RepadminReport(tuple(links), tuple(unreachable), notes=tuple(dict.fromkeys(notes)))


def _link(row: List[str], offset: timedelta, notes: List[str]) -> Optional[ReplicationLink]:
    if len(row) < 11:
        notes.append(f"short showrepl_INFO row ignored ({len(row)} columns)")
        return None
    try:
        failures = int(row[7].strip())
        status = int(row[10].strip() or "0", 0)
    except ValueError:
        notes.append(f"showrepl_INFO row with non-numeric counters ignored: {row[7]!r}, {row[10]!r}")
        return None
    last_failure = _time(row[8], offset, notes)
    last_success = _time(row[9], offset, notes)
    attempts = [t for t in (last_failure, last_success) if t]
    return ReplicationLink(destination_dc=row[2].strip(), source_dc=row[5].strip(),
                           naming_context=row[3].strip(), consecutive_failures=failures,
                           last_success=last_success, last_attempt=max(attempts) if attempts else None,
                           last_result=status, origin="repadmin")


def _time(value: str, offset: timedelta, notes: List[str]) -> Optional[str]:
    value = value.strip()
    if value in ("", "0", "(never)"):
        return None
    for fmt in _TIME_FORMATS:
        try:
            local = datetime.strptime(value, fmt)
        except ValueError:
            continue
        try:
            utc = local - offset
        except OverflowError:  # 0001-01-01 east of UTC, 9999-12-31 west of it: outside datetime's range
            notes.append(f"time {value!r} with the DC's UTC offset is out of range")
            return None
        return utc.replace(tzinfo=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    notes.append(f"time {value!r} not understood (expected YYYY-MM-DD HH:MM:SS)")
    return None
