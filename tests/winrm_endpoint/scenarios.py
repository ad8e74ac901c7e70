"""What a Windows Server 2008 R2 OCS server (and a DC) prints for each probe, per scenario.

``ready_host()`` is the "everything right" server; the other scenarios are small changes to it.
PowerShell probes print ``key=value`` lines (the text below); the endpoint prints them the way the
script ocscheck sent does (windows.py), and ``snapshot_text`` writes them the way collect.ps1 does,
so one scenario gives the same facts over WinRM and from a snapshot. Native tools print the
captured bytes of tests/fixtures/windows.
"""
from __future__ import annotations

import base64
import copy
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, List, Optional

from ocscheck.collector import PROBES, SNAPSHOT_MAGIC

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "windows"
OCS_THUMBPRINT = "5E2C8A1F0B7D43E9A6C1F2D3B4A5968778695A4B"
VCREDIST_SP1 = ("{8220EEFE-38CD-377E-8595-13398D740ACE}|9.0.30729.17|"
                "Microsoft Visual C++ 2008 Redistributable - x64 9.0.30729.17")
OCS_SERVICES = ("RTCACD", "RTCACPMCU", "RTCASMCU", "RTCAVMCU", "RTCCAA", "RTCCAS", "RTCCCS", "RTCDATAMCU",
                "RTCIMMCU", "RtcQmsAgent", "RtcSrv", "RTCAPPSRV")


def _system(**changes) -> Dict[str, object]:
    values: Dict[str, object] = {
        # 2008 R2 RTM (7600), the tutorial's platform (2010, before SP1): KB975858 is a listed hotfix there.
        "caption": "Microsoft Windows Server 2008 R2 Enterprise ", "version": "6.1.7600",
        "service_pack": "", "architecture": "64-bit", "system_drive": "C:",
        "last_boot": "2026-11-27T05:00:00Z", "utc_offset_minutes": "60", "manufacturer": "Dell Inc.",
        "model": "PowerEdge R710", "ps_version": "2.0", "reboot_cbs": "False",
        "reboot_wu": "False", "reboot_pfro": "False",
        "hotfix": ["KB958488", "KB975858", "KB976902"],  # KB982021 is a support article: never in QFE
        "product": [VCREDIST_SP1,
                    "{90120000-0030-0000-0000-0000000FF1CE}|12.0.6612.1000|Microsoft Office Communicator 2007 R2"],
    }
    values.update(changes)
    return values


def _features(*missing: str) -> Dict[str, object]:
    installed = ["Web-Server", "Web-WebServer", "Web-Common-Http", "Web-Static-Content", "Web-Asp-Net",
                 "Web-Windows-Auth", "Web-Mgmt-Tools", "Web-Mgmt-Console", "Web-Mgmt-Compat", "Web-Metabase",
                 "NET-Framework", "NET-Framework-Core", "MSMQ", "MSMQ-Services", "MSMQ-Server", "RSAT",
                 "RSAT-Role-Tools", "RSAT-AD-Tools", "RSAT-ADDS", "Desktop-Experience", "PowerShell-ISE"]
    return {"source": "Get-WindowsFeature", "feature": [f for f in installed if f not in missing]}


def _ocs(stopped=(), absent=(), **changes) -> Dict[str, object]:
    services = ["AeLookupSvc|Stopped|Manual", "W3SVC|Running|Auto", "MSMQ|Running|Auto",
                "MSSQL$RTC|Running|Auto", "WinRM|Running|Auto"]
    services += [f"{name}|{'Stopped' if name in stopped else 'Running'}|Auto"
                 for name in OCS_SERVICES if name not in absent]
    values: Dict[str, object] = {
        "service": services, "sip_version": "4.0",
        "rtcsrv_path": r"D:\Program Files\Microsoft Office Communications Server 2007 R2\Server\Core\RtcHost.exe",
        "rtcsrv_file_version": "3.5.6907.0",
        "dbfile": [r"rtc|ROWS|E:\RTCData\rtc.mdf", r"rtc|LOG|F:\RTCLogs\rtc_log.ldf",
                   r"rtcdyn|ROWS|E:\RTCData\rtcdyn.mdf", r"rtcdyn|LOG|F:\RTCLogs\rtcdyn_log.ldf"],
    }
    values.update(changes)
    return values


def _kv_text(values: Dict[str, object]) -> str:
    lines: List[str] = []
    for key, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            lines.append(f"{key}={item}")
    return "\n".join(lines)


def ready_host() -> Dict[str, object]:
    """The scenario: probe name -> key/values (PowerShell probes) or fixture file (native tools)."""
    return {
        "system": _system(), "features": _features(), "ocs": _ocs(), "events": _events(),
        "sslcert": "netsh-sslcert-443.cp437.txt", "sites": "appcmd-list-site.cp437.txt",
        "dcdiag": "dcdiag-fr-full-passed.cp850.txt", "repadmin": "repadmin-showrepl-healthy.csv",
    }


def tutorial_host(thumbprint: str = OCS_THUMBPRINT, now: Optional[datetime] = None) -> Dict[str, object]:
    """The ready host with the tutorial's names (DCs ocsdc1/ocsdc2 of todorovic.adds), the given certificate
    thumbprint bound to 0.0.0.0:443 and replication that succeeded ten minutes before ``now``."""
    host = ready_host()
    french = (FIXTURES / "dcdiag-fr-full-passed.cp850.txt").read_bytes()
    host["dcdiag"] = french.replace(b"EPF-AD-2012", b"OCSDC1").replace(b"epf.oc", b"todorovic.adds") \
        .replace(b"sur epf\r", b"sur todorovic\r")
    host["sslcert"] = (FIXTURES / "netsh-sslcert-443.cp437.txt").read_bytes().replace(
        OCS_THUMBPRINT.lower().encode("ascii"), thumbprint.lower().encode("ascii"))
    when = ((now or datetime.now(timezone.utc)) - timedelta(minutes=10)).astimezone(timezone(timedelta(hours=1)))
    stamp = when.strftime("%Y-%m-%d %H:%M:%S")  # the DC's local time (UTC+1, its system probe says so)
    rows = ["showrepl_COLUMNS,Destination DSA Site,Destination DSA,Naming Context,Source DSA Site,Source DSA,"
            "Transport Type,Number of Failures,Last Failure Time,Last Success Time,Last Failure Status"]
    for dest, source in (("OCSDC1", "OCSDC2"), ("OCSDC2", "OCSDC1")):
        for nc in ("DC=todorovic,DC=adds", "CN=Configuration,DC=todorovic,DC=adds",
                   "CN=Schema,CN=Configuration,DC=todorovic,DC=adds"):
            rows.append(f'showrepl_INFO,Default-First-Site-Name,{dest},"{nc}",Default-First-Site-Name,{source},'
                        f"RPC,0,0,{stamp},0")
    host["repadmin"] = ("\r\n".join(rows) + "\r\n").encode("cp437")
    return host


def failing_tutorial_host(thumbprint: str = OCS_THUMBPRINT, now: Optional[datetime] = None) -> Dict[str, object]:
    """tutorial_host with KB974571 installed, the Front End stopped, and DC1's inbound replication of the
    domain partition from DC2 failing (RPC server unavailable, 1722) since three days."""
    host = tutorial_host(thumbprint, now)
    host["system"] = _system(hotfix=list(_system()["hotfix"]) + ["KB974571"])  # type: ignore[arg-type]
    host["ocs"] = _ocs(stopped=("RtcSrv",))
    when = ((now or datetime.now(timezone.utc)) - timedelta(minutes=10)).astimezone(timezone(timedelta(hours=1)))
    stale = (when - timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S")
    failed = when.strftime("%Y-%m-%d %H:%M:%S")
    text = host["repadmin"].decode("cp437")  # type: ignore[union-attr]
    rows = text.split("\r\n")
    rows[1] = rows[1].rsplit(",", 4)[0] + f",37,{failed},{stale},1722"  # OCSDC1 <- OCSDC2, domain partition
    host["repadmin"] = "\r\n".join(rows).encode("cp437")
    return host


def _events(*events: str, ocs_log: str = "read") -> Dict[str, object]:
    """The events probe: the two queries it reports (``ocs_log`` "read" or "error:<message>"), then events."""
    ocs = sum(1 for e in events if e.startswith("Office Communications Server|12290|"))
    system = sum(1 for e in events if e.startswith("System|7024|"))
    return {"searched": [f"Office Communications Server|12290|{ocs}|{ocs_log}", f"System|7024|{system}|read"],
            "event": list(events)}


# System 7024 of the Front End with 0xC3E93C23 in each form Windows prints it (findings-2026-12 §2).
FORMS_7024 = {
    "decimal-hex": "3286842403 (0xC3E93C23)",
    "percent-unsigned": "%%3286842403",
    "percent-signed": "%%-1008124893",
    "signed": "-1008124893",
}


def event_7024(form: str, time: str = "2026-11-27T05:02:11Z") -> str:
    code = FORMS_7024[form]
    return (f"System|7024|{time}|Service Control Manager|Office Communications Server Front-End;{code}|"
            f"The Office Communications Server Front-End service terminated with service-specific error {code}.")


OCS_12290 = ("Office Communications Server|12290|2026-11-27T05:02:10Z|OCS Server|Evaluation period|The evaluation "
             "period for Microsoft Office Communications Server 2007 R2 has expired.")
# Another provider's 12290 in Application (VSS uses that id): nothing to do with OCS licensing.
VSS_12290 = ("Application|12290|2026-11-27T05:03:00Z|VSS|0x80042302|Volume Shadow Copy Service error: "
             "Unexpected error calling routine.")
SP1 = {"caption": "Microsoft Windows Server 2008 R2 Enterprise ", "version": "6.1.7601",
       "service_pack": "Service Pack 1"}

LICENCE_EVENTS = [
    OCS_12290, event_7024("decimal-hex"),
]


def variant(name: str) -> Dict[str, object]:
    """A named scenario of the test suite (also used by the benchmark)."""
    host = ready_host()
    hotfixes = list(host["system"]["hotfix"])  # type: ignore[index]
    if name == "ready":
        return host
    if name in ("kb974571", "kb974571-symptoms"):
        host["system"] = _system(hotfix=hotfixes + ["KB974571"])
        if name == "kb974571-symptoms":
            host["events"] = _events(*LICENCE_EVENTS)
    elif name == "kb974571-old-symptoms":
        host["system"] = _system(hotfix=hotfixes + ["KB974571"], last_boot="2026-11-27T06:00:00Z")
        host["events"] = _events(*LICENCE_EVENTS)
    elif name == "kb974571-other-12290":
        host["system"] = _system(hotfix=hotfixes + ["KB974571"])
        host["events"] = _events(VSS_12290)
    elif name == "kb974571-ocs-12290":
        host["system"] = _system(hotfix=hotfixes + ["KB974571"])
        host["events"] = _events(OCS_12290)
    elif name.startswith("kb974571-7024-"):
        host["system"] = _system(hotfix=hotfixes + ["KB974571"])
        host["events"] = _events(event_7024(name[len("kb974571-7024-"):]))
    elif name == "kb974571-no-ocs-log":
        host["system"] = _system(hotfix=hotfixes + ["KB974571"])
        host["events"] = _events(ocs_log="error:There is not an event log on the localhost computer that matches "
                                         "\"Office Communications Server\".")
    elif name == "sp1":  # 2008 R2 SP1: KB974571 and (probably) KB975858 built in, neither listed in QFE
        host["system"] = _system(**SP1, hotfix=[h for h in hotfixes if h != "KB975858"])
    elif name == "sp1-symptoms":
        host["system"] = _system(**SP1, hotfix=[h for h in hotfixes if h != "KB975858"])
        host["events"] = _events(OCS_12290)
    elif name == "sql-stopped":
        ocs = _ocs()
        ocs["service"] = [line.replace("MSSQL$RTC|Running|Auto", "MSSQL$RTC|Stopped|Disabled")
                          for line in ocs["service"]]  # type: ignore[union-attr]
        host["ocs"] = ocs
    elif name == "sql-absent":
        ocs = _ocs()
        ocs["service"] = [line for line in ocs["service"] if not line.startswith("MSSQL$RTC|")]  # type: ignore
        host["ocs"] = ocs
    elif name == "feature-missing":
        host["features"] = _features("Desktop-Experience")
    elif name == "no-vcredist":
        host["system"] = _system(product=host["system"]["product"][1:])  # type: ignore[index]
    elif name == "no-kb975858":
        host["system"] = _system(hotfix=[h for h in hotfixes if h != "KB975858"])
    elif name == "pending-reboot":
        host["system"] = _system(reboot_cbs="True", reboot_pfro="True")
    elif name == "vmware":
        host["system"] = _system(manufacturer="VMware, Inc.", model="VMware Virtual Platform")
    elif name == "32-bit":
        host["system"] = _system(caption="Microsoft Windows Server 2008 Enterprise ", version="6.0.6002",
                                 service_pack="Service Pack 2", architecture="32-bit")
    elif name == "2008-servermanagercmd":
        host["system"] = _system(caption="Microsoft Windows Server 2008 Enterprise ", version="6.0.6002",
                                 service_pack="Service Pack 2")
        xml = (FIXTURES / "servermanagercmd-query.utf8.xml").read_bytes()
        host["features"] = {"source": "ServerManagerCmd", "xml": base64.b64encode(xml).decode("ascii")}
    elif name == "2003-sp2-x64":
        host["system"] = _system(caption="Microsoft(R) Windows(R) Server 2003 Enterprise x64 Edition",
                                 version="5.2.3790", service_pack="Service Pack 2", architecture="64-bit",
                                 ps_version="")
    elif name == "system-drive":
        host["ocs"] = _ocs(rtcsrv_path=r"C:\Program Files\Microsoft Office Communications Server 2007 R2\Server"
                                       r"\Core\RtcHost.exe",
                           dbfile=[r"rtc|ROWS|C:\Program Files\Microsoft SQL Server\MSSQL.1\MSSQL\Data\rtc.mdf",
                                   r"rtc|LOG|F:\RTCLogs\rtc_log.ldf"])
    elif name == "no-ocs":
        ocs = _ocs(absent=OCS_SERVICES, dbfile_error="sqlcmd.exe not found", sip_version_error="Invalid class ")
        for key in ("sip_version", "rtcsrv_path", "rtcsrv_file_version", "dbfile"):
            del ocs[key]
        host["ocs"] = ocs
    elif name == "services-stopped":
        host["ocs"] = _ocs(stopped=("RtcSrv", "RTCCAS"), absent=("RTCACD", "RTCAPPSRV"))
    elif name == "other-cert":
        host["sslcert"] = None  # replaced by the caller's netsh text (a different thumbprint)
    elif name == "dc-failing":
        host["dcdiag"] = "dcdiag-en-full-systemlog-failed.utf16le.txt"
        host["repadmin"] = "repadmin-showrepl-failures.csv"
    else:
        raise KeyError(name)
    return copy.deepcopy(host)


def probe_bytes(host: Dict[str, object], name: str) -> Optional[bytes]:
    """What the probe's own logic produces on the host: UTF-8 text (PowerShell) or the tool's bytes."""
    value = host.get(name)
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if PROBES[name].kind == "ps":
        return _kv_text(value).encode("utf-8")  # type: ignore[arg-type]
    return (FIXTURES / str(value)).read_bytes()


def endpoint_outputs(host: Dict[str, object]) -> Dict[str, Dict[str, object]]:
    """The scenario file's "outputs": what each probe's own logic produces on the host (windows.py makes of
    it what Windows prints for the command line the endpoint receives)."""
    outputs = {}
    for name in PROBES:
        data = probe_bytes(host, name)
        if data is not None:
            outputs[name] = {"data_b64": base64.b64encode(data).decode("ascii"), "exit": 0}
    return outputs


def snapshot_text(host: Dict[str, object], hostname: str = "OCS") -> str:
    """The file collect.ps1 writes for this host (CRLF lines, base64 wrapped at 76 characters)."""
    lines = [SNAPSHOT_MAGIC, f"host={hostname}", "taken=2026-11-27T06:30:00Z"]
    for name in PROBES:
        data = probe_bytes(host, name)
        if data is None:
            continue
        encoded = base64.b64encode(data).decode("ascii")
        lines.append(f"[probe {name} exit=0]")
        lines += [encoded[i:i + 76] for i in range(0, len(encoded), 76)] or [""]
    return "\r\n".join(lines) + "\r\n"
