"""The ``key=value`` output of our PowerShell probes (ocscheck/collector/probe-*.ps1) as typed facts."""
from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

from ocscheck.parsers.decode import decode_output
from ocscheck.parsers.features import FeatureList, parse_servermanagercmd_xml
from ocscheck.parsers.keyvalue import KeyValues


@dataclass(frozen=True)
class Product:
    code: str        # the Uninstall subkey: a product code for MSI installs
    version: str
    name: str


@dataclass(frozen=True)
class SystemInfo:
    caption: str
    version: str                   # "6.1.7601"
    service_pack: str
    architecture: str              # "64-bit"
    system_drive: str              # "C:"
    last_boot: Optional[str]       # ISO 8601 UTC
    utc_offset_minutes: Optional[int]
    manufacturer: str
    model: str
    ps_version: str
    reboot_flags: Tuple[str, ...]  # which pending-reboot markers are set
    hotfixes: Tuple[str, ...]      # upper-case "KB974571"
    products: Tuple[Product, ...]
    error: Optional[str] = None
    notes: Tuple[str, ...] = ()    # values the probe printed that could not be read (evidence, not errors)

    @property
    def os_version(self) -> Tuple[int, int]:
        parts = self.version.split(".")
        try:
            return int(parts[0]), int(parts[1])
        except (IndexError, ValueError):
            return 0, 0

    @property
    def build(self) -> int:
        """The Windows build number ("6.1.7601" -> 7601), 0 when unknown."""
        parts = self.version.split(".")
        return int(parts[2]) if len(parts) > 2 and parts[2].isdigit() and len(parts[2]) < 7 else 0

    @property
    def is_64bit(self) -> bool:
        return "64" in self.architecture

    def has_hotfix(self, kb: str) -> bool:
        return kb.upper() in self.hotfixes


REBOOT_MARKERS = {
    "reboot_cbs": r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending",
    "reboot_wu": r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired",
    "reboot_pfro": r"HKLM\SYSTEM\CurrentControlSet\Control\Session Manager\PendingFileRenameOperations",
}


def parse_system(text: str) -> SystemInfo:
    kv = KeyValues(text)
    if "caption" not in kv or "version" not in kv:
        return SystemInfo("", "", "", "", "", None, None, "", "", "", (), (), (),
                          error="system probe output lacks caption/version" + _noise(kv))
    products = []
    for line in kv.all("product"):
        code, _, rest = line.partition("|")
        version, _, name = rest.partition("|")
        products.append(Product(code.strip(), version.strip(), name.strip()))
    offset_minutes, offset_note = _utc_offset(kv.get("utc_offset_minutes"))
    return SystemInfo(
        caption=kv.get("caption", "") or "", version=kv.get("version", "") or "",
        service_pack=kv.get("service_pack", "") or "", architecture=kv.get("architecture", "") or "",
        system_drive=(kv.get("system_drive", "") or "").upper(), last_boot=kv.get("last_boot") or None,
        utc_offset_minutes=offset_minutes, manufacturer=kv.get("manufacturer", "") or "",
        model=kv.get("model", "") or "", ps_version=kv.get("ps_version", "") or "",
        reboot_flags=tuple(k for k in REBOOT_MARKERS if kv.flag(k)),
        hotfixes=tuple(sorted({h.upper() for h in kv.all("hotfix") if h})),
        products=tuple(products), notes=(offset_note,) if offset_note else ())


# Real offsets lie within -12 h .. +14 h; a day either way is generous and keeps later date arithmetic
# (timedelta, datetime) in range whatever the host printed ("inf", "1e308", 5,000 digits).
MAX_UTC_OFFSET_MINUTES = 24 * 60


def _utc_offset(text: Optional[str]) -> Tuple[Optional[int], Optional[str]]:
    """The UTC offset in whole minutes, or None and why when the probe printed no usable offset."""
    if not text:
        return None, None
    try:
        minutes = float(text)
    except ValueError:
        return None, f"utc_offset_minutes {text[:40]!r} is not a number"
    if not math.isfinite(minutes) or abs(minutes) > MAX_UTC_OFFSET_MINUTES:
        return None, f"utc_offset_minutes {text[:40]!r} is not a time zone offset"
    return int(minutes), None


def parse_features(text: str) -> FeatureList:
    kv = KeyValues(text)
    source = kv.get("source")
    if source == "Get-WindowsFeature":
        return FeatureList(tuple(kv.all("feature")), source)
    if source == "ServerManagerCmd":
        encoded = kv.get("xml", "") or ""
        try:
            data = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return FeatureList((), source, error="ServerManagerCmd XML: damaged base64")
        return parse_servermanagercmd_xml(decode_output(data).text)
    if source == "none":
        return FeatureList((), "none", error="neither the ServerManager module nor ServerManagerCmd.exe exists "
                                             "(Windows Server 2003?)")
    return FeatureList((), "", error="features probe output lacks its source line" + _noise(kv))


@dataclass(frozen=True)
class ServiceState:
    name: str
    state: str        # Running, Stopped, ...
    start_mode: str   # Auto, Manual, Disabled


@dataclass(frozen=True)
class DbFile:
    database: str
    kind: str         # ROWS or LOG
    path: str


@dataclass(frozen=True)
class OcsInfo:
    services: Dict[str, ServiceState]      # by lower-case name
    sip_version: Optional[str]             # "4.0" from MSFT_SIPVersion
    sip_error: Optional[str]               # why MSFT_SIPVersion could not be read ("Invalid class")
    rtcsrv_path: Optional[str]
    rtcsrv_file_version: Optional[str]
    db_files: Tuple[DbFile, ...]
    db_error: Optional[str]
    error: Optional[str] = None

    def service(self, name: str) -> Optional[ServiceState]:
        return self.services.get(name.lower())


def parse_ocs(text: str) -> OcsInfo:
    kv = KeyValues(text)
    services: Dict[str, ServiceState] = {}
    for line in kv.all("service"):
        parts = line.split("|")
        if len(parts) == 3 and parts[0]:
            services[parts[0].lower()] = ServiceState(parts[0], parts[1], parts[2])
    if not services:
        return OcsInfo({}, None, None, None, None, (), None, error="ocs probe output lists no service" + _noise(kv))
    files = []
    problems = []
    for line in kv.all("dbfile"):
        parts = line.split("|")
        if len(parts) == 3 and parts[2]:
            files.append(DbFile(parts[0], parts[1].upper(), parts[2]))
        elif line.strip():
            problems.append(line.strip())
    db_error = kv.get("dbfile_error") or ("; ".join(problems[:3]) if problems and not files else None)
    return OcsInfo(services, kv.get("sip_version") or None, kv.get("sip_version_error") or None,
                   kv.get("rtcsrv_path") or None,
                   kv.get("rtcsrv_file_version") or None, tuple(files), db_error)


@dataclass(frozen=True)
class Event:
    log: str
    id: int
    time: str          # ISO 8601 UTC
    provider: str
    data: str          # insertion strings joined by ";"
    message: str


def parse_events(text: str) -> Tuple[Tuple[Event, ...], Optional[str]]:
    kv = KeyValues(text)
    events = []
    for line in kv.all("event"):
        parts = line.split("|", 5)
        if len(parts) < 6:
            continue
        try:
            events.append(Event(parts[0], int(parts[1]), parts[2], parts[3], parts[4], parts[5]))
        except ValueError:
            continue
    if kv.noise and not events:
        return (), "events probe output unreadable" + _noise(kv)
    return tuple(events), None


@dataclass(frozen=True)
class EventSearch:
    """One query of the events probe: which log and event id, how many events came back, and whether the
    log could be read ("read", or "error:<message>", e.g. the log does not exist on this host)."""
    log: str
    event_id: str
    count: int
    state: str

    @property
    def readable(self) -> bool:
        return self.state == "read"


def parse_event_searches(text: str) -> Tuple[EventSearch, ...]:
    """The ``searched=`` lines of the events probe (absent from snapshots of older collectors)."""
    searches = []
    for line in KeyValues(text).all("searched"):
        parts = line.split("|", 3)
        if len(parts) == 4 and parts[2].isdigit() and len(parts[2]) < 7:
            searches.append(EventSearch(parts[0], parts[1], int(parts[2]), parts[3]))
    return tuple(searches)


def _noise(kv: KeyValues) -> str:
    return f" (got: {kv.noise[0]!r})" if kv.noise else ""
