"""Windows host checks on the OCS server (facts: WinRM or a collector snapshot, facts/winrm.py).

Each check reads one or two probe outputs of ``facts.host("server")``; an output the parsers cannot
read gives ``error`` with what was received, never a guess.
"""
from __future__ import annotations

import re
from typing import List, Optional, Tuple

from ocscheck.collector import reads
from ocscheck.context import CheckContext
from ocscheck.model import Result
from ocscheck.powershell import ps_quote
from ocscheck.parsers.hostinfo import ServiceState, SystemInfo
from ocscheck.registry import check

NEEDS = ("winrm.server",)

# Visual C++ 2008 x64 redistributable product codes (ocs2007r2.md, confirmed): RTM, SP1, ATL and MFC updates.
VCREDIST_X64_CODES = {
    "{350AA351-21FA-3270-8B7A-835434E766AD}": "9.0.21022 (RTM)",
    "{8220EEFE-38CD-377E-8595-13398D740ACE}": "9.0.30729.17 (SP1)",
    "{4B6C7001-C7D6-3710-913E-5BC23FCE91E6}": "9.0.30729.4148 (ATL update)",
    "{5FCE6D76-F5DC-37AB-B2B8-22AB8CEDB1D4}": "9.0.30729.6161 (MFC update)",
}
# Win32_ComputerSystem manufacturer/model fragments of the common hypervisors.
HYPERVISORS = (
    ("vmware", "VMware"),
    ("virtualbox", "VirtualBox"),
    ("innotek", "VirtualBox"),
    ("xen", "Xen"),
    ("kvm", "KVM"),
    ("qemu", "QEMU/KVM"),
    ("bochs", "QEMU/KVM"),
    ("parallels", "Parallels"),
)


def _os_line(info: SystemInfo) -> str:
    sp = f" {info.service_pack}" if info.service_pack else ""
    return f"{info.caption.strip()}{sp} ({info.version}, {info.architecture})"


@check("host.os", title="64-bit Windows Server 2008 or 2008 R2", phases=("preflight",), needs=NEEDS)
@reads("server", "system")
def host_os(ctx: CheckContext) -> Result:
    """The OCS server runs a 64-bit Windows Server 2008 or 2008 R2.

    Why: every OCS 2007 R2 server role is 64-bit only; Windows Server 2003 SP2 x64 is still supported
    but is the older platform the tutorial does not follow, so it warns.
    Fix: install OCS on a 64-bit Windows Server 2008 (SP2) or 2008 R2.
    Source: TechNet ff181533 (64-bit only); the tutorial (2008 R2). Facts: Win32_OperatingSystem
    Caption, Version, CSDVersion, OSArchitecture (Win32_Processor AddressWidth on 2003).
    """
    info = ctx.facts.host("server").system()
    evidence = [_os_line(info), f"PowerShell {info.ps_version or '1.0 or absent'}"]
    host = ctx.facts.host("server").name
    if not info.is_64bit:
        return Result.fail(f"{host} runs a 32-bit Windows: OCS 2007 R2 is 64-bit only", evidence,
                           "Reinstall the server with a 64-bit Windows Server 2008 R2 (x64).")
    if "server" not in info.caption.lower():
        return Result.fail(f"{host} does not run Windows Server", evidence,
                           "Install OCS on a 64-bit Windows Server 2008 R2.")
    major_minor = info.os_version
    if major_minor in ((6, 0), (6, 1)):
        return Result.ok(f"{info.caption.strip()} 64-bit", evidence)
    if major_minor == (5, 2):
        if "2" in info.service_pack:
            return Result.warn("Windows Server 2003 SP2 x64: supported, but 2008 R2 is the tutorial's platform",
                               evidence, "Prefer a 64-bit Windows Server 2008 R2 for a new deployment.")
        return Result.fail("Windows Server 2003 x64 without SP2", evidence,
                           "Install Windows Server 2003 Service Pack 2, or move to Windows Server 2008 R2.")
    return Result.fail(f"Windows version {info.version} is not supported by OCS 2007 R2", evidence,
                       "Install OCS 2007 R2 on a 64-bit Windows Server 2008 or 2008 R2.")


@check("host.features", title="Required Windows features are installed", phases=("preflight",), needs=NEEDS)
@reads("server", "features")
def host_features(ctx: CheckContext) -> Result:
    """Every Windows feature the tutorial installs before OCS setup is present.

    Why: setup and the web components need IIS (with Windows authentication and the IIS 6 management
    compatibility), ASP.NET, .NET 3.5, MSMQ, the AD DS tools and the Desktop Experience.
    Fix: the Add-WindowsFeature line printed below, with only the missing features.
    Source: the tutorial's Add-WindowsFeature command (site file [host] required_features overrides it);
    facts: Get-WindowsFeature on 2008 R2, ServerManagerCmd -query on 2008.
    """
    features = ctx.facts.host("server").features()
    required = ctx.site.host.required_features
    missing = [name for name in required if not features.has(name)]
    evidence = [f"{len(features.installed)} features installed (read with {features.source})"]
    if not missing:
        return Result.ok(f"all {len(required)} required features are installed", evidence)
    evidence.append("missing: " + ", ".join(missing))
    if features.source == "ServerManagerCmd":
        fix = " & ".join(f"ServerManagerCmd -install {name}" for name in missing)
    else:
        # Each name one PowerShell literal: names come from the site file and must not expand or split.
        fix = "Import-Module ServerManager; Add-WindowsFeature " + ",".join(ps_quote(n) for n in missing)
    return Result.fail(f"{len(missing)} required feature(s) missing: {', '.join(missing)}", evidence, fix)


@check("host.vcredist", title="Visual C++ 2008 x64 redistributable is installed", phases=("preflight",),
       needs=NEEDS)
@reads("server", "system")
def host_vcredist(ctx: CheckContext) -> Result:
    """A Visual C++ 2008 x64 redistributable is registered in the 64-bit Uninstall key.

    Why: OCS 2007 R2 setup needs the VC++ 2008 x64 runtime (the media carries it).
    Fix: run \\Setup\\amd64\\vcredist_x64.exe from the OCS 2007 R2 media.
    Source: product codes {350AA351-…} RTM, {8220EEFE-…} SP1, {4B6C7001-…} ATL update,
    {5FCE6D76-…} MFC update under HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall.
    """
    info = ctx.facts.host("server").system()
    found = [(p, VCREDIST_X64_CODES[p.code.upper()]) for p in info.products if p.code.upper() in VCREDIST_X64_CODES]
    if found:
        return Result.ok(f"VC++ 2008 x64 {found[0][1]} is installed",
                         [f"{p.code} {p.name} {p.version}".strip() for p, _ in found])
    named = [p for p in info.products if "visual c++ 2008" in p.name.lower() and "x64" in p.name.lower()]
    if named:
        return Result.warn("a VC++ 2008 x64 entry exists with a product code ocscheck does not know",
                           [f"{p.code} {p.name} {p.version}" for p in named],
                           "Check it is the 9.0 x64 runtime, or run \\Setup\\amd64\\vcredist_x64.exe from the "
                           "OCS 2007 R2 media.")
    return Result.fail("no Visual C++ 2008 x64 redistributable is installed",
                       [f"{len(info.products)} products registered in the 64-bit Uninstall key"],
                       "Run \\Setup\\amd64\\vcredist_x64.exe /q from the OCS 2007 R2 media on "
                       f"{ctx.facts.host('server').name}.")


@check("host.pending-reboot", title="No reboot is pending", phases=("preflight", "post"), severity="medium",
       needs=NEEDS)
@reads("server", "system")
def host_pending_reboot(ctx: CheckContext) -> Result:
    """No reboot is pending on the server.

    Why: setup refuses or half-installs with a pending reboot; after an update, services run old code.
    Fix: reboot the server (`shutdown /r /t 0`).
    Source: common practice: Component Based Servicing\\RebootPending, WindowsUpdate\\Auto
    Update\\RebootRequired, Session Manager\\PendingFileRenameOperations.
    """
    from ocscheck.parsers.hostinfo import REBOOT_MARKERS

    info = ctx.facts.host("server").system()
    if not info.reboot_flags:
        return Result.ok("no reboot pending")
    return Result.fail("a reboot is pending", [REBOOT_MARKERS[f] for f in info.reboot_flags],
                       f"Reboot {ctx.facts.host('server').name}: shutdown /r /t 0")


@check("host.virtual", title="The server is not a virtual machine", phases=("preflight", "post"),
       severity="low", needs=NEEDS)
@reads("server", "system")
def host_virtual(ctx: CheckContext) -> Result:
    """The server runs on physical hardware.

    Why: OCS 2007 R2 is not supported virtualised in production (the tutorial); a lab is fine.
    Fix: for production, install on a physical server.
    Source: the tutorial; facts: Win32_ComputerSystem Manufacturer and Model.
    """
    info = ctx.facts.host("server").system()
    platform = _hypervisor(info.manufacturer, info.model)
    evidence = [f"manufacturer {info.manufacturer!r}, model {info.model!r}"]
    if platform:
        return Result.warn(f"virtual machine ({platform}): not supported for OCS 2007 R2 in production", evidence,
                           "Use a physical server for production; keep the virtual machine for a lab.")
    return Result.ok("physical machine", evidence)


def _hypervisor(manufacturer: str, model: str) -> Optional[str]:
    both = f"{manufacturer} {model}".lower()
    if "microsoft" in manufacturer.lower() and "virtual" in model.lower():
        return "Hyper-V / Virtual PC"
    for fragment, name in HYPERVISORS:
        if fragment in both:
            return name
    return None


@check("host.install-paths", title="Program files, logs and database are off the system drive",
       phases=("post",), severity="low", needs=NEEDS)
@reads("server", "system", "ocs")
def host_install_paths(ctx: CheckContext) -> Result:
    """OCS program files, database files and database log files are not on the system drive.

    Why: the tutorial advises a separate disk for them (space and I/O of the system disk).
    Fix: choose other drives when installing (moving them afterwards means reinstalling or SQL moves).
    Source: the tutorial; facts: RtcSrv's image path, sys.master_files of the RTC SQL instance.
    """
    host = ctx.facts.host("server")
    info = ctx.facts.host("server").system()
    ocs = host.ocs()
    if not ocs.rtcsrv_path:
        return Result.fail("the OCS front end (service RtcSrv) is not installed", [f"source: {host.source}"],
                           "Install OCS 2007 R2 Standard Edition first.")
    drive = info.system_drive or "C:"
    places: List[Tuple[str, str]] = [("program files", ocs.rtcsrv_path)]
    places += [(f"database {f.database} ({'log' if f.kind == 'LOG' else 'data'})", f.path) for f in ocs.db_files]
    on_system = [f"{what}: {path}" for what, path in places if path.upper().startswith(drive)]
    evidence = [f"system drive {drive}"] + [f"{what}: {path}" for what, path in places]
    if ocs.db_error or not ocs.db_files:
        evidence.append(f"database files unknown: {ocs.db_error or 'no RTC database file listed'}")
    if on_system:
        return Result.warn(f"{len(on_system)} location(s) on the system drive {drive}", evidence,
                           "Keep program files, databases and logs on a non-system disk (choose it at setup).")
    if ocs.db_error or not ocs.db_files:
        return Result.warn("program files are off the system drive; database locations unknown", evidence,
                           "Check the RTC database files with: sqlcmd -S (local)\\RTC -E -Q \"SELECT "
                           "physical_name FROM sys.master_files\"")
    return Result.ok(f"program files, databases and logs are off the system drive {drive}", evidence)


@check("host.services", title="Every installed OCS service is running", phases=("post",), severity="critical",
       needs=NEEDS)
@reads("server", "ocs")
def host_services(ctx: CheckContext) -> Result:
    """Every OCS service that is installed is Running; applications not deployed are not failures.

    Why: a stopped front end (RtcSrv) or conferencing service means no sign-in or no conferences.
    Fix: start them (Start-Service) and read the Office Communications Server event log if they stop.
    Source: the tutorial's service list (site file [host] ocs_services).
    """
    host = ctx.facts.host("server")
    ocs = host.ocs()
    installed = [ocs.service(name) for name in ctx.site.host.ocs_services if ocs.service(name)]
    if not installed:
        return Result.fail("no OCS service is installed", [f"looked for: {', '.join(ctx.site.host.ocs_services)}"],
                           "Install OCS 2007 R2 Standard Edition (Deploy Standard Edition Server).")
    stopped = [s for s in installed if s.state.lower() != "running"]
    evidence = [f"{s.name}: {s.state} ({s.start_mode})" for s in installed]
    if not stopped:
        return Result.ok(f"all {len(installed)} installed OCS services are running", evidence)
    return Result.fail(f"{len(stopped)} OCS service(s) not running: {', '.join(s.name for s in stopped)}",
                       evidence, f"On {host.name}: {start_services(stopped)}")


def start_services(stopped: List[ServiceState]) -> str:
    """The PowerShell that starts ``stopped`` (enabling the disabled ones first), each name one literal:
    service names come from the site file and the host (MSSQL$RTC would expand $RTC if left bare)."""
    names = ",".join(ps_quote(s.name) for s in stopped)
    enable = [f"Set-Service {ps_quote(s.name)} -StartupType Automatic" for s in stopped
              if s.start_mode.lower() == "disabled"]
    return " ; ".join(enable + [f"Start-Service {names}"])


SQL_SERVICE = "MSSQL$RTC"  # the Standard Edition back end: SQL Server 2005 Express instance RTC (findings §7, C)


@check("host.sql-backend", title="The Standard Edition back end (SQL instance RTC) is running", phases=("post",),
       severity="critical", needs=NEEDS)
@reads("server", "ocs")
def host_sql_backend(ctx: CheckContext) -> Result:
    """The Windows service MSSQL$RTC (the local SQL Server Express instance RTC) is installed and Running.

    Why: a Standard Edition server keeps its user, configuration and conferencing data in the local SQL
    instance RTC (databases RTC, RTCConfig, RTCDyn, RTCab); with it stopped the Front End cannot start or
    answers 503, and users cannot sign in. host.services judges the OCS services themselves.
    Fix: `Start-Service 'MSSQL$RTC'` (after `Set-Service 'MSSQL$RTC' -StartupType Automatic` when it is
    disabled); when it is missing, OCS Standard Edition setup did not install its back end: run the Standard
    Edition setup again.
    Source: findings-2026-12 §7 (WMI Backend "(local)\rtc", service MSSQL$RTC, the four databases).
    """
    host = ctx.facts.host("server")
    service = host.ocs().service(SQL_SERVICE)
    if service is None:
        return Result.fail(f"service {SQL_SERVICE} is not installed: no Standard Edition back end",
                           [f"no service named {SQL_SERVICE} among the {len(host.ocs().services)} services "
                            f"listed"],
                           f"On {host.name}: run the OCS 2007 R2 Standard Edition setup (Deploy Standard Edition "
                           f"Server), which installs SQL Server 2005 Express with the instance RTC.")
    evidence = [f"{service.name}: {service.state} ({service.start_mode})"]
    if service.state.lower() == "running":
        return Result.ok(f"{SQL_SERVICE} is running", evidence)
    return Result.fail(f"{SQL_SERVICE} is {service.state.lower() or 'not running'}: the OCS back end is down",
                       evidence, f"On {host.name}: {start_services([service])}; if it stops again, read the "
                                 f"Application event log (source MSSQL$RTC) and the SQL ERRORLOG.")


@check("host.ocs-version", title="OCS 2007 R2 (major version 4) at the required build", phases=("post",),
       severity="medium", needs=NEEDS)
@reads("server", "ocs")
def host_ocs_version(ctx: CheckContext) -> Result:
    """WMI MSFT_SIPVersion reports major version 4 (OCS 2007 R2); the front end's build meets the minimum.

    Why: another major version means another product (3 = OCS 2007, 2 = LCS 2005); a build below the
    site's update level misses fixes. The minimum build is site policy ([host] min_ocs_build): the
    cumulative-update build numbers are not confirmed facts, so none is assumed.
    Fix: install OCS 2007 R2 / the cumulative update the site requires.
    Source: MSDN dd167425 (MSFT_SIPVersion); the file version of RtcSrv's executable.
    """
    host = ctx.facts.host("server")
    ocs = host.ocs()
    if not ocs.sip_version:
        evidence = [f"source: {host.source}"] + ([f"WMI: {ocs.sip_error}"] if ocs.sip_error else [])
        return Result.fail("WMI class MSFT_SIPVersion not found: OCS is not installed (or its WMI provider is "
                           "broken)", evidence, "Install OCS 2007 R2 Standard Edition.")
    evidence = [f"MSFT_SIPVersion {ocs.sip_version}", f"RtcSrv file version {ocs.rtcsrv_file_version or 'unknown'}"]
    major = ocs.sip_version.split(".")[0]
    if major != "4":
        names = {"2": "Live Communications Server 2005", "3": "Office Communications Server 2007"}
        return Result.fail(f"major version {major} ({names.get(major, 'not OCS 2007 R2')}), not 4", evidence,
                           "Install OCS 2007 R2 (major version 4).")
    minimum = ctx.site.host.min_ocs_build
    if not minimum:
        return Result.ok(f"OCS 2007 R2 build {ocs.rtcsrv_file_version or 'unknown'} (no minimum build set)",
                         evidence)
    if not ocs.rtcsrv_file_version:
        return Result.warn("OCS 2007 R2, but the build is unknown", evidence,
                           f"Check the file version of {ocs.rtcsrv_path or 'RtcHost.exe'} against {minimum}.")
    if _version_tuple(ocs.rtcsrv_file_version) < _version_tuple(minimum):
        return Result.fail(f"build {ocs.rtcsrv_file_version} is below the site's minimum {minimum}", evidence,
                           f"Install the OCS 2007 R2 cumulative update that brings {minimum} (ServerUpdateInstaller).")
    return Result.ok(f"OCS 2007 R2 build {ocs.rtcsrv_file_version} >= {minimum}", evidence)


def _version_tuple(text: str) -> Tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", text)[:4])
