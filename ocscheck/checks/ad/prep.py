"""OCS preparation of the schema, the forest and the domain (LDAP), and the lcscmd lines that do it."""
from __future__ import annotations

from typing import List

from ocscheck.context import CheckContext
from ocscheck.model import Result
from ocscheck.registry import check
from ocscheck.values.adtime import RTC_GROUPS

SCHEMA_PRODUCTS = {1006: "LCS 2005", 1007: "OCS 2007", 1008: "OCS 2007 R2", 1100: "Lync Server 2010",
                   1150: "Lync Server 2013 / Skype for Business"}
R2_SCHEMA = 1008

def lcscmd(ctx: CheckContext, action: str) -> str:
    d = ctx.site.deployment
    if action == "schemaprep":
        return f"lcscmd /forest:{d.forest_root} /action:schemaprep"
    if action == "forestprep":
        return (f"lcscmd /forest:{d.forest_root} /action:forestprep /global:configuration "
                f"/SipDomain:{d.default_sip_domain}")
    return f"lcscmd /domain:{d.ad_domain} /action:domainprep"


@check("ad.schema-prep", title="Schema prepared for OCS 2007 R2 (rangeUpper >= 1008)",
       phases=("preflight", "post"), severity="critical", needs=("ldap",))
def schema_prep(ctx: CheckContext) -> Result:
    """rangeUpper of CN=ms-RTC-SIP-SchemaVersion in the schema naming context says which product prepared
    the schema: 1006 LCS 2005, 1007 OCS 2007, 1008 OCS 2007 R2, 1100 Lync 2010, 1150 Lync 2013/SfB.

    1008 passes; a later product's schema passes with a note; an older one or none fails.
    Fix: run schema preparation from the OCS 2007 R2 media on the schema master as a Schema Admin,
    let it replicate, then `lcscmd /forest:<forest> /action:CheckSchemaPrepState`.
    Source: TechNet (verify schema preparation); MicrosoftDocs verify-replication-of-schema-partition.
    """
    version = ctx.facts.ldap.schema_version()
    fix = f"{lcscmd(ctx, 'schemaprep')}  (as a Schema Admin, on the schema master; then wait for replication)"
    if version is None or version.range_upper is None:
        return Result.fail("schema not prepared: CN=ms-RTC-SIP-SchemaVersion does not exist",
                           ["no ms-RTC-SIP-SchemaVersion in the schema naming context"], fix)
    upper = version.range_upper
    product = SCHEMA_PRODUCTS.get(upper, "unknown product")
    evidence = [f"ms-RTC-SIP-SchemaVersion rangeUpper = {upper} ({product}), rangeLower = {version.range_lower}"]
    if upper == R2_SCHEMA:
        return Result.ok("schema prepared for OCS 2007 R2 (1008)", evidence)
    if upper > R2_SCHEMA:
        return Result.ok(f"schema prepared by a later product ({product}, {upper}); it includes the "
                         "OCS 2007 R2 classes", evidence)
    return Result.fail(f"schema prepared by an older product ({product}, {upper}); OCS 2007 R2 needs 1008",
                       evidence, fix)


@check("ad.forest-prep", title="Forest prepared: RTC Service, Global Settings, universal groups",
       phases=("preflight", "post"), severity="critical", needs=("ldap",))
def forest_prep(ctx: CheckContext) -> Result:
    """Forest preparation creates the RTC Service container (CN=RTC Service under CN=Services in the
    configuration partition with /global:configuration — the tutorial's choice — or under
    CN=Microsoft,CN=System of the root domain with /global:system), its Global Settings
    (msRTCSIP-GlobalContainer), and the RTC universal groups in the Users container.

    Both partitions are supported: the one found is reported. Two RTC Service objects fail (setup
    would read one of them). Fix: `lcscmd /forest:<forest> /action:forestprep /global:configuration
    /SipDomain:<default SIP domain>` as an Enterprise Admin.
    Source: TechNet "Changes made by forest preparation" (dd425088); zloeber/PSAD.
    """
    tree = ctx.facts.ldap.rtc_objects()
    services = tree.services
    fix = f"{lcscmd(ctx, 'forestprep')}  (as an Enterprise Admin, after schema prep has replicated)"
    groups = {g.name.lower(): g for g in ctx.facts.ldap.rtc_groups()}
    missing_groups = [g for g in RTC_GROUPS if g.lower() not in groups]
    if not services:
        return Result.fail("forest not prepared: no RTC Service object (msRTCSIP-Service) in the system or "
                           "configuration partition", [f"RTC universal groups found: {len(groups)}/{len(RTC_GROUPS)}"],
                           fix)
    evidence = [f"RTC Service: {s.dn} ({s.partition} partition)" for s in services]
    problems = []
    if len(services) > 1:
        problems.append("RTC Service exists in both partitions")
    for service in services:
        if not tree.has_global_settings(service):
            problems.append(f"no Global Settings (msRTCSIP-GlobalContainer) under {service.dn}")
    if missing_groups:
        problems.append(f"missing universal groups: {', '.join(missing_groups)}")
    evidence.append(f"RTC universal groups found: {len(groups)}/{len(RTC_GROUPS)}")
    if problems:
        return Result.fail("forest preparation incomplete: " + "; ".join(problems), evidence, fix)
    partition = services[0].partition
    note = "" if partition == "configuration" else " (the tutorial uses /global:configuration; both are supported)"
    return Result.ok(f"forest prepared, global settings in the {partition} partition{note}", evidence)


def domain_prep_targets(default_nc: str) -> List[str]:
    """The objects domain prep writes ACEs on (their DACLs are read together, and prefetched)."""
    return [default_nc, f"CN=Users,{default_nc}", f"CN=Computers,{default_nc}", f"OU=Domain Controllers,{default_nc}"]


@check("ad.domain-prep", title="Domain prepared: ACEs for the RTC universal groups",
       phases=("preflight", "post"), severity="critical", needs=("ldap",))
def domain_prep(ctx: CheckContext) -> Result:
    """Domain preparation adds ACEs for the RTC universal groups on the domain root and on the Users,
    Computers and Domain Controllers containers. Each of the four must carry at least one explicit allow
    ACE whose trustee is an RTC universal group (ACEs inherited from the root do not count: domain prep
    writes on each object); the groups found are listed.

    Which group receives which right is not fully documented [U], so the check does not demand a
    particular set of rights. The DACL is read from nTSecurityDescriptor with the SD flags control
    (DACL only), which any authenticated user may read in a default AD.
    Fix: `lcscmd /domain:<AD domain> /action:domainprep` as a Domain Admin (after forest prep).
    Source: TechNet domain preparation pages ("Changes made by domain preparation").
    """
    ldap = ctx.facts.ldap
    base = ldap.rootdse().default_nc
    groups = ldap.rtc_groups()
    fix = f"{lcscmd(ctx, 'domainprep')}  (as a Domain Admin, after forest prep)"
    if not groups:
        return Result.fail("no RTC universal group exists: run forest prep, then domain prep", [],
                           f"{lcscmd(ctx, 'forestprep')}\n{lcscmd(ctx, 'domainprep')}")
    by_sid = {g.sid: g.name for g in groups if g.sid}
    targets = domain_prep_targets(base)
    evidence, bare = [], []
    for dn, aces in zip(targets, ldap.together(ldap.dacl, targets)):
        if aces is None:
            evidence.append(f"{dn}: object not found")
            bare.append(dn)
            continue
        mine = [a for a in aces if a.allows and a.sid in by_sid]
        names = sorted({by_sid[a.sid] for a in mine if not a.inherited})
        inherited = sorted({by_sid[a.sid] for a in mine if a.inherited})
        if names:
            evidence.append(f"{dn}: explicit ACEs for {len(names)} RTC group(s): {', '.join(names)}")
        else:
            also = f" (only inherited ones, for {len(inherited)} group(s))" if inherited else ""
            evidence.append(f"{dn}: no explicit ACE for any RTC universal group{also}")
            bare.append(dn)
    if bare:
        return Result.fail(f"domain not prepared: no RTC group ACE on {len(bare)} of {len(targets)} objects",
                           evidence, fix)
    return Result.ok("domain prepared: RTC group ACEs on the domain root, Users, Computers, Domain Controllers",
                     evidence)
