# ocscheck collector: gathers the Windows host facts ocscheck otherwise reads over WinRM.
# PowerShell 2.0 and later (Windows Server 2008 / 2008 R2). Run it as a local administrator on the
# OCS server (and, for dcdiag and repadmin, on a domain controller):
#     powershell -NoProfile -ExecutionPolicy Bypass -File collect.ps1 [-Path FILE]
# then judge the file:   ocscheck preflight --host-snapshot server=FILE   (dc=FILE for a DC)
# The file holds each probe's raw output in base64: nothing here is sent anywhere.
param([string]$Path = '')

if (-not $Path) { $Path = Join-Path (Get-Location).Path ('ocscheck-snapshot-' + $env:COMPUTERNAME + '.txt') }
$isDc = (Get-WmiObject Win32_ComputerSystem).DomainRole -ge 4
$out = New-Object System.Text.StringBuilder
[void]$out.AppendLine('ocscheck-snapshot 1')
[void]$out.AppendLine('host=' + $env:COMPUTERNAME)
[void]$out.AppendLine('taken=' + [DateTime]::UtcNow.ToString('yyyy-MM-ddTHH:mm:ssZ'))

#@BLOCKS@

# The probes: the same scripts and command lines ocscheck runs over WinRM, each printing its section.
function Invoke-Probes {
#@PROBES@
}
Invoke-Probes | ForEach-Object { [void]$out.AppendLine($_) }

[IO.File]::WriteAllText($Path, $out.ToString(), [Text.Encoding]::ASCII)
Write-Host ('ocscheck: snapshot written to ' + $Path)
