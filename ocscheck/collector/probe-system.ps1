# OS, hardware, pending reboot, hotfixes, installed products (64-bit registry view).
$os = Get-WmiObject Win32_OperatingSystem
$cs = Get-WmiObject Win32_ComputerSystem
$arch = $os.OSArchitecture
if (-not $arch) { $arch = '' + (Get-WmiObject Win32_Processor | Select-Object -First 1).AddressWidth + '-bit' }
'caption=' + $os.Caption
'version=' + $os.Version
'service_pack=' + $os.CSDVersion
'architecture=' + $arch
'system_drive=' + $os.SystemDrive
'last_boot=' + [Management.ManagementDateTimeConverter]::ToDateTime($os.LastBootUpTime).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
'utc_offset_minutes=' + [TimeZone]::CurrentTimeZone.GetUtcOffset([DateTime]::Now).TotalMinutes
'manufacturer=' + $cs.Manufacturer
'model=' + $cs.Model
'ps_version=' + $PSVersionTable.PSVersion
'reboot_cbs=' + (Test-Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending')
'reboot_wu=' + (Test-Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired')
$sm = Get-ItemProperty 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' -Name PendingFileRenameOperations -ErrorAction SilentlyContinue
'reboot_pfro=' + [bool]($sm -and $sm.PendingFileRenameOperations)
Get-WmiObject Win32_QuickFixEngineering | ForEach-Object { 'hotfix=' + $_.HotFixID }
Get-ChildItem 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall' | ForEach-Object {
    'product=' + $_.PSChildName + '|' + $_.GetValue('DisplayVersion') + '|' + $_.GetValue('DisplayName')
}
