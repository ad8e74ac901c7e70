# The licence symptoms of KB974571 without ocsasnfix: Application 12290, System 7024.
foreach ($q in @(@{LogName='Application'; Id=12290}, @{LogName='System'; Id=7024})) {
    # "No events were found" is an error of Get-WinEvent: an empty answer here.
    try { $found = @(Get-WinEvent -FilterHashtable $q -MaxEvents 50 -ErrorAction Stop) } catch { $found = @() }
    $found | ForEach-Object {
        $data = ($_.Properties | ForEach-Object { '' + $_.Value }) -join ';'
        $text = ('' + $_.Message) -replace '\s+', ' '
        if ($text.Length -gt 300) { $text = $text.Substring(0, 300) }
        'event=' + $_.LogName + '|' + $_.Id + '|' + $_.TimeCreated.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ') + '|' + $_.ProviderName + '|' + $data + '|' + $text
    }
}
