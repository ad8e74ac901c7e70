# Services, the OCS version (WMI and the front end's file version), the RTC database files.
Get-WmiObject Win32_Service | ForEach-Object { 'service=' + $_.Name + '|' + $_.State + '|' + $_.StartMode }
# try/catch: "Invalid class" when OCS is not installed must not cost the lines already printed.
try {
    $v = Get-WmiObject -Namespace 'root\cimv2' -Class MSFT_SIPVersion -ErrorAction Stop | Select-Object -First 1
    if ($v) { 'sip_version=' + $v.MajorVersion + '.' + $v.MinorVersion }
} catch { 'sip_version_error=' + $_.Exception.Message }
$s = Get-WmiObject Win32_Service -Filter "Name='RtcSrv'"
if ($s -and $s.PathName -match '^"?([^"]+?\.exe)') {
    'rtcsrv_path=' + $matches[1]
    'rtcsrv_file_version=' + (Get-Item $matches[1] -ErrorAction SilentlyContinue).VersionInfo.FileVersion
}
$q = "SET NOCOUNT ON; SELECT DB_NAME(database_id) + '|' + type_desc + '|' + physical_name FROM sys.master_files WHERE DB_NAME(database_id) LIKE 'rtc%'"
if (Get-Command sqlcmd.exe -ErrorAction SilentlyContinue) {
    & sqlcmd.exe -S '(local)\RTC' -E -h -1 -W -Q $q 2>&1 | ForEach-Object { 'dbfile=' + $_ }
} else {
    'dbfile_error=sqlcmd.exe not found'
}
