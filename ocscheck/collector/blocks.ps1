# The building blocks of collect.ps1 and of the batches ocscheck runs over WinRM (ocscheck/collector/batch.py):
# each probe's output becomes one section, a "[probe NAME exit=CODE]" line then its bytes in base64, written
# to the output; ocscheck's one section parser reads a snapshot file and a batch's output alike. An empty
# line ends a section: WinRM hands the output over in pieces of any size, and a section is whole once it ends.
function Add-Section([string]$name, [int]$exit, [byte[]]$bytes) {
    if ($bytes -eq $null) { $bytes = New-Object byte[] 0 }
    '[probe ' + $name + ' exit=' + $exit + ']'
    [Convert]::ToBase64String($bytes, [Base64FormattingOptions]::InsertLineBreaks)
    ''
}

# A PowerShell probe: its lines, UTF-8 encoded (whatever the console code page, accents stay intact).
function Invoke-PsProbe([string]$name, [scriptblock]$body) {
    $text = (& $body 2>$null | ForEach-Object { '' + $_ }) -join "`n"
    Add-Section $name 0 ([Text.Encoding]::UTF8.GetBytes($text))
}

# A native tool: the bytes cmd.exe writes to a pipe (OEM code page), as WinRM's cmd shell captures them;
# read from the pipe itself, so nothing is written on the host.
function Invoke-CmdProbe([string]$name, [string]$line) {
    $start = New-Object Diagnostics.ProcessStartInfo 'cmd.exe', ('/c ' + $line + ' 2>&1')
    $start.UseShellExecute = $false
    $start.RedirectStandardOutput = $true
    $process = [Diagnostics.Process]::Start($start)
    $pipe = $process.StandardOutput.BaseStream
    $buffer = New-Object byte[] 65536
    $bytes = New-Object IO.MemoryStream
    while (($count = $pipe.Read($buffer, 0, $buffer.Length)) -gt 0) { $bytes.Write($buffer, 0, $count) }
    $process.WaitForExit()
    Add-Section $name $process.ExitCode $bytes.ToArray()
}
