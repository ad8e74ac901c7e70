# Installed Windows features: the ServerManager module on 2008 R2, ServerManagerCmd's XML on 2008.
if (Get-Module -ListAvailable ServerManager) {
    Import-Module ServerManager
    'source=Get-WindowsFeature'
    Get-WindowsFeature | Where-Object { $_.Installed } | ForEach-Object { 'feature=' + $_.Name }
} elseif (Test-Path (Join-Path $env:windir 'system32\ServerManagerCmd.exe')) {
    'source=ServerManagerCmd'
    $f = [IO.Path]::GetTempFileName()
    $null = & (Join-Path $env:windir 'system32\ServerManagerCmd.exe') -query $f
    'xml=' + [Convert]::ToBase64String([IO.File]::ReadAllBytes($f))
    Remove-Item $f
} else {
    'source=none'
}
