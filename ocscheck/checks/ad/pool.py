"""The Standard Edition pool object that activation creates for the server."""
from __future__ import annotations

from ocscheck.context import CheckContext
from ocscheck.model import Result
from ocscheck.registry import check

POOL_TYPE_SE = 5
POOL_VERSION_R2 = 4
POOL_VERSIONS = {3: "OCS 2007", 4: "OCS 2007 R2", 5: "Lync Server 2010"}

@check("ad.pool", title="Standard Edition R2 pool object exists for the server", phases=("post",),
       needs=("ldap",))
def pool(ctx: CheckContext) -> Result:
    """After activation an msRTCSIP-Pool object under CN=Pools of the RTC Service has dNSHostName = the
    server FQDN, msRTCSIP-PoolType 5 (Standard Edition: SE users + SE applications) and
    msRTCSIP-PoolVersion 4 (OCS 2007 R2).

    Fix: run Deploy Standard Edition Server (step "Deploy Server") on the server; a pool of another
    type/version means another product or edition was deployed under this name.
    Source: MicrosoftDocs schema attributes by class (msRTCSIP-Pool).
    """
    fqdn = ctx.site.deployment.server_fqdn.lower()
    pools = ctx.facts.ldap.rtc_objects().pools
    evidence = [f"{o.dn}: dNSHostName={o.dns_host_name}, PoolType={o.pool_type}, "
                f"PoolVersion={o.pool_version}" for o in pools] or ["no msRTCSIP-Pool object"]
    mine = [o for o in pools if (o.dns_host_name or "").lower() == fqdn]
    if not mine:
        return Result.fail(f"no pool object for {ctx.site.deployment.server_fqdn}", evidence,
                           f"On {ctx.site.deployment.server_fqdn}: Deployment Wizard > Deploy Standard Edition Server "
                           "(it creates the pool object), after forest and domain prep.")
    found = mine[0]
    problems = []
    if found.pool_type != POOL_TYPE_SE:
        problems.append(f"PoolType {found.pool_type} is not Standard Edition (5)")
    if found.pool_version != POOL_VERSION_R2:
        problems.append(f"PoolVersion {found.pool_version} "
                        f"({POOL_VERSIONS.get(found.pool_version, 'unknown')}) is not OCS 2007 R2 (4)")
    if problems:
        return Result.fail("; ".join(problems), evidence,
                           "The pool was created by another edition or product: deploy OCS 2007 R2 Standard Edition "
                           "for this FQDN (remove the old pool with its own setup first).")
    return Result.ok(f"Standard Edition OCS 2007 R2 pool for {found.dns_host_name}", evidence)
