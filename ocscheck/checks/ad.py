"""Active Directory checks (facts source: LDAP, WinRM on a DC). Not built yet: see the AD issue."""
from ocscheck.registry import pending

pending("ad.forest-level", title="Forest functional level is Windows Server 2003 or higher",
        phases=("preflight", "post"), severity="critical", needs=("ldap",))
pending("ad.domain-level", title="Domain functional level is Windows Server 2003 or higher",
        phases=("preflight", "post"), severity="critical", needs=("ldap",))
pending("ad.replication", title="AD replication is healthy on every inbound link",
        phases=("preflight", "post"), needs=("winrm.dc", "ldap"))
pending("ad.schema-prep", title="Schema prepared for OCS 2007 R2 (rangeUpper >= 1008)",
        phases=("preflight", "post"), severity="critical", needs=("ldap",))
pending("ad.forest-prep", title="Forest prepared: RTC Service, Global Settings, universal groups",
        phases=("preflight", "post"), severity="critical", needs=("ldap",))
pending("ad.domain-prep", title="Domain prepared: ACEs for the RTC universal groups",
        phases=("preflight", "post"), severity="critical", needs=("ldap",))
pending("ad.sip-domain", title="SIP domains match the forest-prep SIP domain objects",
        phases=("preflight", "post"), severity="critical", needs=("ldap",))
pending("ad.service-accounts", title="RTCService and RTCComponentService accounts are usable",
        phases=("preflight", "post"), needs=("ldap",))
pending("ad.pool", title="Standard Edition R2 pool object exists for the server", phases=("post",),
        needs=("ldap",))
