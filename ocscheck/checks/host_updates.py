"""Windows updates that decide whether OCS 2007 R2 installs and starts: KB974571 (MS09-056) and KB975858.

Windows Server 2008 R2 SP1 (build 7601) contains both changes without a Win32_QuickFixEngineering entry
(findings-2026-12 §2, §3), so the OS build is read as well as the QFE list.
"""
from __future__ import annotations

import re
from typing import List

from ocscheck.collector import reads
from ocscheck.context import CheckContext
from ocscheck.model import Phase, Result
from ocscheck.parsers.hostinfo import Event, SystemInfo
from ocscheck.registry import check

NEEDS = ("winrm.server",)
SP1_BUILD = 7601  # Windows 7 / Server 2008 R2 SP1 (KB976932): includes security update 974571
OCS_LOG, OCS_PROVIDER = "Office Communications Server", "OCS Server"
# The OCS services' service-specific error 0xC3E93C23 as System 7024 renders it: "3286842403 (0xC3E93C23)",
# "%%3286842403" or "%%-1008124893" (the same 32 bits read as a signed Int32), and the bare hex.
_LICENCE_ERROR = re.compile(r"(?<![0-9A-Za-z-])(?:%%)?(?:3286842403|-1008124893)(?![0-9])"
                            r"|(?<![0-9A-Za-z])(?:0x)?c3e93c23(?![0-9a-z])", re.IGNORECASE)


def _os_line(info: SystemInfo) -> str:
    sp = f" {info.service_pack}" if info.service_pack else ""
    return f"{info.caption.strip()}{sp} ({info.version}, {info.architecture})"


def _is_2008r2(info: SystemInfo) -> bool:
    return info.os_version == (6, 1) and "server" in info.caption.lower()


def change_built_in(info: SystemInfo) -> bool:
    """True on Windows 7 / Server 2008 R2 SP1 or later builds of 6.1, where MS09-056 is part of the OS."""
    return info.os_version == (6, 1) and info.build >= SP1_BUILD


def licence_symptom(event: Event) -> bool:
    """An event that shows the OCS licence check failing (KB974571 without ocsasnfix)."""
    if event.id == 12290:
        return event.log.lower() == OCS_LOG.lower() and event.provider.lower() == OCS_PROVIDER.lower()
    return event.log.lower() == "system" and event.id == 7024 and bool(_LICENCE_ERROR.search(
        f"{event.data} {event.message}"))


def uninstall_kb974571(info: SystemInfo, host: str) -> str:
    """How to remove KB974571 on this Windows: wusa /uninstall exists from 6.1; older systems differ."""
    if info.os_version == (6, 1):
        return f"On {host}: wusa /uninstall /kb:974571 /quiet, then reboot"
    if info.os_version == (6, 0):
        return (f"On {host}: Control Panel > Programs and Features > View installed updates > KB974571 > "
                f"Uninstall (wusa of Windows Server 2008 has no /uninstall), then reboot")
    return (f"On {host}: %windir%\\$NtUninstallKB974571$\\spuninst\\spuninst.exe /quiet (or Add or Remove "
            f"Programs > Show updates), then reboot")


@check("host.kb974571", title="KB974571 is not blocking activation", phases=("preflight", "post"),
       severity="critical", needs=NEEDS)
@reads("server", "system")
@reads("server", "events", phase="post")  # read when the change is present; asked with the rest, free
def host_kb974571(ctx: CheckContext) -> Result:
    """KB974571 (MS09-056) must not be installed before OCS setup; once present, ocsasnfix.exe must run.

    Why: with KB974571 installed, activation fails ("[0xC3EC78D8] Failed to read the Office
    Communications Server version information", also [0xC3EC796C]); installed after setup without
    ocsasnfix.exe, the services stop as an expired evaluation: event 12290 from the provider "OCS Server"
    in the "Office Communications Server" log ("The evaluation period ... has expired"; Application 12290
    from another provider is unrelated) and System event 7024 with service-specific error 0xC3E93C23,
    printed as "3286842403 (0xC3E93C23)", "%%3286842403" or "%%-1008124893".
    Windows Server 2008 R2 SP1 (build 7601) contains the change with no KB974571 entry in
    Win32_QuickFixEngineering, and it cannot be uninstalled there: the build is read, not only the list.
    Preflight: listed = fail (remove it); build 7601 = warn (it is built in: run ocsasnfix.exe right after
    OCS setup, before the next reboot). Post: present (listed or built in) and a symptom event since the last
    boot = fail; present without symptoms = pass, saying what was observed (ocsasnfix itself leaves no
    documented trace to read).
    Fix: preflight on 2008 R2 RTM `wusa /uninstall /kb:974571 /quiet` then reboot (Programs and Features on
    2008); on SP1 and after setup: ocsasnfix.exe as administrator (from the KB974571 download), then reboot.
    Source: KB974571 rev 7.1; findings-2026-12 §2 (12290 source and log, 7024 forms, SP1 includes 974571,
    KB977203); the tutorial.
    """
    host = ctx.facts.host("server")
    info = host.system()
    listed = info.has_hotfix("KB974571")
    built_in = change_built_in(info)
    os_line = _os_line(info)
    if not listed and not built_in:
        return Result.ok("KB974571 is not installed", [os_line, f"{len(info.hotfixes)} hotfixes installed"])
    present = [os_line, "KB974571 listed in Win32_QuickFixEngineering" if listed else
               f"KB974571 not listed in Win32_QuickFixEngineering; build {info.build} (SP1) contains it"]
    if ctx.phase == Phase.PREFLIGHT:
        if built_in:
            return Result.warn(f"build {info.build} (2008 R2 SP1) contains the KB974571 change: it cannot be "
                               f"removed; OCS needs ocsasnfix.exe after setup", present,
                               f"On {host.name}: install OCS 2007 R2, then as administrator run ocsasnfix.exe "
                               f"(from the KB974571 download; it prints \"Fixing registry data\") before the next "
                               f"reboot (a 2011 report fixed the symptoms on SP1 that way). An activation error "
                               f"[0xC3EC78D8] or [0xC3EC796C] is this change. Then `ocscheck post` reads the licence "
                               f"symptoms.")
        return Result.fail("KB974571 is installed: OCS 2007 R2 activation will fail", present,
                           f"{uninstall_kb974571(info, host.name)}; install it again after OCS setup and run "
                           f"ocsasnfix.exe before the next reboot.")
    return _post_symptoms(ctx, info, present)


def _post_symptoms(ctx: CheckContext, info: SystemInfo, present: List[str]) -> Result:
    host = ctx.facts.host("server")
    events = host.events()
    searches = host.event_searches()
    since = info.last_boot
    symptoms = [e for e in events if licence_symptom(e) and (since is None or e.time >= since)]
    read = [f"searched {s.log} {s.event_id}: {s.count} event(s)" if s.readable else
            f"could not read {s.log} {s.event_id}: {s.state[6:200]}" for s in searches]
    if symptoms:
        evidence = present + [f"{e.log} {e.id} {e.time} {e.provider}: {e.message[:160]}" for e in symptoms[:5]]
        return Result.fail("the KB974571 change is present and the OCS licence symptoms are logged: run "
                           "ocsasnfix.exe", evidence,
                           f"On {host.name}, as administrator: ocsasnfix.exe (from the KB974571 package for OCS "
                           f"2007 R2), then reboot and check the OCS services start.")
    unread = [s for s in searches if not s.readable and s.log.lower() == OCS_LOG.lower()]
    observed = (f"no 12290 from {OCS_PROVIDER} and no 7024 with 0xC3E93C23 since the last boot "
                f"({since or 'unknown'})")
    if unread or not searches:
        why = (f"the {OCS_LOG} log could not be read" if unread else
               "the snapshot does not say which logs were read (collected by an older collect.ps1)")
        return Result.warn(f"the KB974571 change is present and {why}: the licence symptoms are unverified",
                           present + read + [observed],
                           f"On {host.name}: read the {OCS_LOG} event log for event 12290 ({OCS_PROVIDER}); if it "
                           f"is there, run ocsasnfix.exe as administrator and reboot.")
    return Result.ok("the KB974571 change is present and no licence symptom is logged since the last boot",
                     present + read + [observed])


@check("host.kb975858", title="KB975858 is installed on Windows Server 2008 R2", phases=("preflight",),
       needs=NEEDS)
@reads("server", "system")
def host_kb975858(ctx: CheckContext) -> Result:
    """On Windows Server 2008 R2 RTM (build 7600), KB975858 is installed before OCS setup.

    Why: the tutorial requires it on 2008 R2 before installing OCS 2007 R2; it is a Schannel (TLS) hotfix
    for Windows 7 / 2008 R2, and OCS runs on TLS and MTLS. On build 7601 (SP1) it is assumed to be part of
    the service pack, which rolled up the hotfixes of late 2009: that inclusion is probable, not confirmed
    (findings-2026-12 §3, [P]), so 7601 passes saying so, and does not fail on a missing QFE entry.
    KB982021 is a support statement, not a hotfix: it is never looked for.
    Fix: on 2008 R2 RTM, download KB975858 for Windows Server 2008 R2 x64 and install it
    (wusa Windows6.1-KB975858-x64.msu /quiet), or install SP1.
    Source: the tutorial; findings-2026-12 §3 (KB975858 Schannel hotfix, SP1 inclusion [P], KB982021).
    """
    info = ctx.facts.host("server").system()
    evidence = [_os_line(info)]
    if not _is_2008r2(info):
        return Result.ok(f"not needed on {info.caption.strip() or info.version}", evidence)
    if info.has_hotfix("KB975858"):
        return Result.ok("KB975858 is installed", evidence)
    if info.build >= SP1_BUILD:
        return Result.ok(f"build {info.build} (SP1): KB975858 assumed part of SP1 (probable, not confirmed)",
                         evidence + ["KB975858 not listed in Win32_QuickFixEngineering: SP1 integrates the "
                                     "hotfixes it contains without QFE entries"])
    return Result.fail("KB975858 is missing on Windows Server 2008 R2", evidence,
                       f"Install KB975858 (Windows Server 2008 R2 x64) on {ctx.facts.host('server').name}: "
                       "wusa Windows6.1-KB975858-x64.msu /quiet, then reboot (or install Service Pack 1).")
