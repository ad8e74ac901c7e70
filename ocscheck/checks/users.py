"""SIP-enabled users (facts source: LDAP paged search). Not built yet: see the AD issue."""
from ocscheck.registry import pending

pending("users.sip", title="SIP-enabled users have valid, unique URIs homed on an existing pool",
        phases=("post",), severity="medium", needs=("ldap",))
