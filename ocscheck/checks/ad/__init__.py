"""Active Directory checks, one module per step of the deployment: functional levels, preparation
(schema, forest, domain) and its replication to every DC, SIP domains, service accounts, the pool, replication and DC health.

The modules are imported here in that order, which is the order of the ad rows in every report;
registry discovery imports any module not listed here after them, so a new file is never missed.
"""
from ocscheck.checks.ad import levels, prep, prep_replicated, sip_domains, accounts, pool, replication, dc_health

__all__ = ["levels", "prep", "prep_replicated", "sip_domains", "accounts", "pool", "replication", "dc_health"]
