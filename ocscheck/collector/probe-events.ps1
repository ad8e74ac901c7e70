# The licence symptoms of KB974571 without ocsasnfix: event 12290 of the provider "OCS Server" in the
# "Office Communications Server" log (not Application: another provider's 12290 there is unrelated),
# and System 7024 (the service-specific error is matched by the parser, in every form Windows prints).
foreach ($q in @(@{LogName='Office Communications Server'; ProviderName='OCS Server'; Id=12290}, @{LogName='System'; Id=7024})) {
    $found = @()
    $state = 'read'
    # "No events were found" is an error of Get-WinEvent: an empty answer here; any other error is said.
    try { $found = @(Get-WinEvent -FilterHashtable $q -MaxEvents 50 -ErrorAction Stop) } catch {
        if ($_.FullyQualifiedErrorId -notlike 'NoMatchingEventsFound*') { $state = 'error:' + (('' + $_.Exception.Message) -replace '\s+', ' ') }
    }
    'searched=' + $q.LogName + '|' + $q.Id + '|' + $found.Count + '|' + $state
    $found | ForEach-Object {
        $data = ($_.Properties | ForEach-Object { '' + $_.Value }) -join ';'
        $text = ('' + $_.Message) -replace '\s+', ' '
        if ($text.Length -gt 300) { $text = $text.Substring(0, 300) }
        'event=' + $_.LogName + '|' + $_.Id + '|' + $_.TimeCreated.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ') + '|' + $_.ProviderName + '|' + $data + '|' + $text
    }
}
