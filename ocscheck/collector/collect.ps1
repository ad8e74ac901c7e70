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

function Add-Section([string]$name, [int]$exit, [byte[]]$bytes) {
    if ($bytes -eq $null) { $bytes = New-Object byte[] 0 }
    [void]$out.AppendLine('[probe ' + $name + ' exit=' + $exit + ']')
    [void]$out.AppendLine([Convert]::ToBase64String($bytes, [Base64FormattingOptions]::InsertLineBreaks))
}

# A PowerShell probe: the same script ocscheck sends over WinRM; its lines, UTF-8 encoded.
function Invoke-PsProbe([string]$name, [scriptblock]$body) {
    Write-Host ('ocscheck: ' + $name)
    $text = (& $body 2>$null | ForEach-Object { '' + $_ }) -join "`n"
    Add-Section $name 0 ([Text.Encoding]::UTF8.GetBytes($text))
}

# A native tool: its output bytes as cmd captures them (OEM code page), like WinRM's cmd shell.
function Invoke-CmdProbe([string]$name, [string]$line) {
    Write-Host ('ocscheck: ' + $name)
    $tmp = [IO.Path]::GetTempFileName()
    cmd.exe /c ($line + ' > "' + $tmp + '" 2>&1')
    $code = $LASTEXITCODE
    Add-Section $name $code ([IO.File]::ReadAllBytes($tmp))
    Remove-Item $tmp
}

#@PROBES@

[IO.File]::WriteAllText($Path, $out.ToString(), [Text.Encoding]::ASCII)
Write-Host ('ocscheck: snapshot written to ' + $Path)
