"""Functional levels of the forest and of the domain (RootDSE)."""
from __future__ import annotations

from typing import Optional

from ocscheck.context import CheckContext
from ocscheck.model import Result
from ocscheck.registry import check

LEVELS = {0: "Windows 2000", 1: "Windows Server 2003 interim", 2: "Windows Server 2003", 3: "Windows Server 2008",
          4: "Windows Server 2008 R2", 5: "Windows Server 2012", 6: "Windows Server 2012 R2",
          7: "Windows Server 2016"}


def _level_name(level: Optional[int]) -> str:
    return f"{LEVELS.get(level, 'unknown')} ({level})" if level is not None else "not reported"


@check("ad.forest-level", title="Forest functional level is Windows Server 2003 or higher",
       phases=("preflight", "post"), severity="critical", needs=("ldap",))
def forest_level(ctx: CheckContext) -> Result:
    """The forest functional level (RootDSE forestFunctionality) must be Windows Server 2003 (2) or higher.

    Why: OCS 2007 R2 refuses a forest at Windows 2000 (0) or 2003 interim (1) level.
    Fix: raise the domain levels first, then the forest level (Active Directory Domains and Trusts,
    "Raise Forest Functional Level", on the forest root), or with the 2008 R2 AD module.
    Source: TechNet "Active Directory Domain Services requirements" (dd441205).
    """
    dse = ctx.facts.ldap.rootdse()
    evidence = [f"forestFunctionality = {_level_name(dse.forest_level)} on {dse.dns_host_name}"]
    if dse.forest_level is not None and dse.forest_level >= 2:
        return Result.ok(f"forest level {_level_name(dse.forest_level)}", evidence)
    forest = ctx.site.deployment.forest_root
    return Result.fail(f"forest level {_level_name(dse.forest_level)} is below Windows Server 2003", evidence,
                       "Raise every domain to Windows Server 2003 first (ad.domain-level), then the forest: "
                       "Active Directory Domains and Trusts > right-click the root > Raise Forest Functional Level, "
                       f"or: Import-Module ActiveDirectory; Set-ADForestMode -Identity {forest} "
                       "-ForestMode Windows2003Forest")


@check("ad.domain-level", title="Domain functional level is Windows Server 2003 or higher",
       phases=("preflight", "post"), severity="critical", needs=("ldap",))
def domain_level(ctx: CheckContext) -> Result:
    """The functional level of the domain hosting the server and users (RootDSE domainFunctionality)
    must be Windows Server 2003 (2) or higher.

    Fix: Active Directory Domains and Trusts / Users and Computers > Raise Domain Functional Level.
    Source: TechNet dd441205.
    """
    dse = ctx.facts.ldap.rootdse()
    evidence = [f"domainFunctionality = {_level_name(dse.domain_level)} ({dse.default_nc})"]
    if dse.domain_level is not None and dse.domain_level >= 2:
        return Result.ok(f"domain level {_level_name(dse.domain_level)}", evidence)
    domain = ctx.site.deployment.ad_domain
    return Result.fail(f"domain level {_level_name(dse.domain_level)} is below Windows Server 2003", evidence,
                       "Active Directory Users and Computers > right-click the domain > Raise Domain Functional "
                       f"Level, or: Import-Module ActiveDirectory; Set-ADDomainMode -Identity {domain} "
                       "-DomainMode Windows2003Domain")
