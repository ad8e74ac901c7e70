"""The offline collector and the WinRM batches: PowerShell 2.0 only (deny-list), every probe in it, values
quoted as literals."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings, strategies as st

from ocscheck.collector import PROBES, SnapshotError, _compact, _resource, read_snapshot, script_text
from ocscheck.collector.batch import batch_script, pack
from ocscheck.powershell import ps_quote
from tests.winrm_endpoint import scenarios

# Cmdlets that Windows Server 2008 R2's PowerShell 2.0 does not have (PowerShell 3.0 and later, or
# modules of Windows 8 / Server 2012 and later).
LATER_CMDLETS = (
    "ConvertTo-Json", "ConvertFrom-Json", "Invoke-RestMethod", "Invoke-WebRequest", "Test-NetConnection",
    "Resolve-DnsName", "Get-CimInstance", "New-CimSession", "Invoke-CimMethod", "Get-NetAdapter",
    "Get-NetIPAddress", "Get-NetFirewallRule", "Install-WindowsFeature", "Get-WindowsOptionalFeature",
    "Get-ScheduledTask", "Get-SmbShare", "Get-Disk", "Get-Volume", "Get-FileHash", "Expand-Archive",
    "Compress-Archive", "New-TemporaryFile", "Write-Information", "Get-ComputerInfo", "Get-LocalUser",
    "Get-TimeZone", "Unblock-File", "Register-ScheduledJob", "ConvertFrom-String", "Start-ThreadJob",
    "Get-Clipboard", "Set-Clipboard", "Get-Uptime", "Test-Json",
)
# Operators, variables, type accelerators and syntax introduced after PowerShell 2.0.
LATER_SYNTAX = (
    (r"\[ordered\]", "[ordered] (3.0)"),
    (r"\[pscustomobject\]", "[pscustomobject] (3.0)"),
    (r"\s-(not)?in\s", "-in / -notin (3.0)"),
    (r"\s-sh[lr]\s", "-shl / -shr (3.0)"),
    (r"\$PSItem\b", "$PSItem (3.0)"),
    (r"\$using:", "$using: (3.0)"),
    (r"\$PSScriptRoot|\$PSCommandPath", "$PSScriptRoot outside modules (3.0)"),
    (r"\.(ForEach|Where)\(", ".ForEach() / .Where() (4.0)"),
    (r"::new\(", "::new() (5.0)"),
    (r"^\s*(class|enum)\s+\w+", "class / enum (5.0)"),
    (r"\s-Raw\b", "Get-Content -Raw (3.0)"),
    (r"\s-NoNewline\b", "-NoNewline (5.0)"),
    (r"\s-AsHashtable\b", "-AsHashtable (6.0)"),
    (r"\s-Parallel\b", "ForEach-Object -Parallel (7.0)"),
    (r"\?\?|\?\.", "null-coalescing / null-conditional operators (7.0)"),
    (r"&&|\|\|", "pipeline chain operators (7.0)"),
    (r"utf8NoBOM", "-Encoding utf8NoBOM (6.0)"),
    (r"(Where-Object|\s\?)\s+\{?\s*[A-Za-z]+\s+-(eq|ne|like|match|gt|lt|ge|le)\b(?![^{]*\})",
     "simplified Where-Object syntax (3.0)"),
    (r"#requires\s+-version\s+[3-9]", "#requires a later version"),
)


def violations(script: str):
    found = []
    for cmdlet in LATER_CMDLETS:
        if re.search(rf"\b{re.escape(cmdlet)}\b", script, re.IGNORECASE):
            found.append(cmdlet)
    for pattern, what in LATER_SYNTAX:
        for line in script.splitlines():
            if line.lstrip().startswith("#") and "requires" not in line:
                continue
            if re.search(pattern, line, re.IGNORECASE):
                found.append(f"{what}: {line.strip()}")
    return found


SCRIPTS = {"collect.ps1": script_text(), "blocks.ps1": _resource("blocks.ps1"),
           **{f"probe {p.name}": p.script for p in PROBES.values() if p.kind == "ps"},
           **{f"batch {' '.join(names)}": batch_script(names) for names in pack(PROBES)}}


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_scripts_stay_powershell_2(name):
    assert violations(SCRIPTS[name]) == []


@pytest.mark.parametrize("snippet", [
    "$x = Get-Service | ConvertTo-Json", "$h = [ordered]@{}", "if ($a -in $b) {}", "$_ | % { $PSItem }",
    "Get-Content -Raw $f", "$list.ForEach({ $_ })", "[Text.StringBuilder]::new()",
    "Get-Service | Where-Object Status -eq 'Running'", "Get-CimInstance Win32_OperatingSystem",
])
def test_the_deny_list_catches_later_powershell(snippet):
    assert violations(snippet)


def test_the_deny_list_accepts_powershell_2():
    assert violations("Get-WmiObject Win32_Service | Where-Object { $_.State -eq 'Running' } | "
                      "ForEach-Object { $_.Name }") == []


def test_collect_script_has_every_probe_once():
    text = script_text()
    for probe in PROBES.values():
        assert text.count(f"Invoke-{'Ps' if probe.kind == 'ps' else 'Cmd'}Probe {ps_quote(probe.name)}") == 1
        if probe.kind == "ps":
            assert _compact(probe.command) in _compact(text)  # the very script WinRM runs
        else:
            assert f"Invoke-CmdProbe {ps_quote(probe.name)} {ps_quote(probe.command)}" in text
    assert "#@PROBES@" not in text


def test_collect_script_is_ascii_with_param_first():
    text = script_text()
    text.encode("ascii")  # PowerShell 2.0 reads a BOM-less script in the ANSI code page
    statements = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert statements[0].startswith("param(")


def test_dc_probes_run_only_on_domain_controllers():
    text = script_text()
    for probe in PROBES.values():
        if probe.dc_only:
            assert (f"if ($isDc) {{\nWrite-Host {ps_quote('ocscheck: ' + probe.name)}\n"
                    f"Invoke-CmdProbe {ps_quote(probe.name)} {ps_quote(probe.command)}\n}}") in text


@pytest.mark.parametrize("value, literal", [
    ("plain", "'plain'"),
    ("O'Brien", "'O''Brien'"),
    ("$(Remove-Item C:\\)", "'$(Remove-Item C:\\)'"),
    ("a\u2019b", "'a\u2019\u2019b'"),
    ("`n; calc", "'`n; calc'"),
])
def test_ps_quote_makes_single_quoted_literals(value, literal):
    assert ps_quote(value) == literal


def test_snapshot_round_trip(tmp_path):
    host = scenarios.variant("ready")
    path = tmp_path / "snap.txt"
    path.write_text(scenarios.snapshot_text(host, hostname="OCS01"))
    snapshot = read_snapshot(path)
    assert snapshot.host == "OCS01"
    assert set(snapshot.sections) == set(PROBES)
    assert snapshot.sections["sslcert"].data == scenarios.probe_bytes(host, "sslcert")


@settings(max_examples=100, deadline=None)
@given(cut=st.integers(min_value=0, max_value=20_000), junk=st.binary(max_size=64))
def test_damaged_snapshots_raise_only_snapshot_error(tmp_path_factory, cut, junk):
    text = scenarios.snapshot_text(scenarios.variant("ready")).encode("ascii")
    path = tmp_path_factory.mktemp("snap") / "snap.txt"
    path.write_bytes(text[:cut] + junk + text[cut:])
    try:
        snapshot = read_snapshot(path)
    except SnapshotError:
        return
    assert all(isinstance(section.data, bytes) for section in snapshot.sections.values())
