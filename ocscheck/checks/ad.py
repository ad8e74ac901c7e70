"""Active Directory checks: functional levels, OCS schema/forest/domain preparation, SIP domains,
service accounts, the pool object (LDAP) and replication (LDAP repsFrom + repadmin from a DC)."""
from __future__ import annotations

import datetime
from typing import Dict, List, Optional, Tuple

from ocscheck.context import CheckContext
from ocscheck.values.replication import ReplicationLink
from ocscheck.values.adtime import RTC_GROUPS, filetime, parse_iso
from ocscheck.facts.store import FactUnavailable, Reason
from ocscheck.model import Result
from ocscheck.powershell import ps_quote
from ocscheck.registry import check

LEVELS = {0: "Windows 2000", 1: "Windows Server 2003 interim", 2: "Windows Server 2003", 3: "Windows Server 2008",
          4: "Windows Server 2008 R2", 5: "Windows Server 2012", 6: "Windows Server 2012 R2",
          7: "Windows Server 2016"}
SCHEMA_PRODUCTS = {1006: "LCS 2005", 1007: "OCS 2007", 1008: "OCS 2007 R2", 1100: "Lync Server 2010",
                   1150: "Lync Server 2013 / Skype for Business"}
R2_SCHEMA = 1008
POOL_TYPE_SE = 5
POOL_VERSION_R2 = 4
POOL_VERSIONS = {3: "OCS 2007", 4: "OCS 2007 R2", 5: "Lync Server 2010"}
# Suffixes that cannot be public DNS names (the tutorial's ".adds" is such a private AD name).
PRIVATE_SUFFIXES = ("local", "lan", "internal", "intranet", "corp", "home", "private", "localdomain", "adds")
UF_ACCOUNTDISABLE = 0x2
UF_LOCKOUT = 0x10
UF_DONT_EXPIRE_PASSWD = 0x10000
UF_PASSWORD_EXPIRED = 0x800000


def _level_name(level: Optional[int]) -> str:
    return f"{LEVELS.get(level, 'unknown')} ({level})" if level is not None else "not reported"


def _lcscmd(ctx: CheckContext, action: str) -> str:
    d = ctx.site.deployment
    if action == "schemaprep":
        return f"lcscmd /forest:{d.forest_root} /action:schemaprep"
    if action == "forestprep":
        return (f"lcscmd /forest:{d.forest_root} /action:forestprep /global:configuration "
                f"/SipDomain:{d.default_sip_domain}")
    return f"lcscmd /domain:{d.ad_domain} /action:domainprep"


# ------------------------------------------------------------------------------- functional levels

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


# ------------------------------------------------------------------------------------ preparation

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
    fix = f"{_lcscmd(ctx, 'schemaprep')}  (as a Schema Admin, on the schema master; then wait for replication)"
    if version is None or version.get("rangeUpper") is None:
        return Result.fail("schema not prepared: CN=ms-RTC-SIP-SchemaVersion does not exist",
                           ["no ms-RTC-SIP-SchemaVersion in the schema naming context"], fix)
    upper = version["rangeUpper"]
    product = SCHEMA_PRODUCTS.get(upper, "unknown product")
    evidence = [f"ms-RTC-SIP-SchemaVersion rangeUpper = {upper} ({product}), rangeLower = {version.get('rangeLower')}"]
    if upper == R2_SCHEMA:
        return Result.ok("schema prepared for OCS 2007 R2 (1008)", evidence)
    if upper > R2_SCHEMA:
        return Result.ok(f"schema prepared by a later product ({product}, {upper}); it includes the "
                         "OCS 2007 R2 classes", evidence)
    return Result.fail(f"schema prepared by an older product ({product}, {upper}); OCS 2007 R2 needs 1008",
                       evidence, fix)


def _rtc(ctx: CheckContext):
    tree = ctx.facts.ldap.rtc_objects()
    return tree["services"], tree["objects"]


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
    services, objects = _rtc(ctx)
    fix = f"{_lcscmd(ctx, 'forestprep')}  (as an Enterprise Admin, after schema prep has replicated)"
    groups = {g["name"].lower(): g for g in ctx.facts.ldap.rtc_groups()}
    missing_groups = [g for g in RTC_GROUPS if g.lower() not in groups]
    if not services:
        return Result.fail("forest not prepared: no RTC Service object (msRTCSIP-Service) in the system or "
                           "configuration partition", [f"RTC universal groups found: {len(groups)}/{len(RTC_GROUPS)}"],
                           fix)
    evidence = [f"RTC Service: {s['dn']} ({s['partition']} partition)" for s in services]
    problems = []
    if len(services) > 1:
        problems.append("RTC Service exists in both partitions")
    for service in services:
        if not any(o["class"] == "msRTCSIP-GlobalContainer" and o["service"] == service["dn"] for o in objects):
            problems.append(f"no Global Settings (msRTCSIP-GlobalContainer) under {service['dn']}")
    if missing_groups:
        problems.append(f"missing universal groups: {', '.join(missing_groups)}")
    evidence.append(f"RTC universal groups found: {len(groups)}/{len(RTC_GROUPS)}")
    if problems:
        return Result.fail("forest preparation incomplete: " + "; ".join(problems), evidence, fix)
    partition = services[0]["partition"]
    note = "" if partition == "configuration" else " (the tutorial uses /global:configuration; both are supported)"
    return Result.ok(f"forest prepared, global settings in the {partition} partition{note}", evidence)


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
    fix = f"{_lcscmd(ctx, 'domainprep')}  (as a Domain Admin, after forest prep)"
    if not groups:
        return Result.fail("no RTC universal group exists: run forest prep, then domain prep", [],
                           f"{_lcscmd(ctx, 'forestprep')}\n{_lcscmd(ctx, 'domainprep')}")
    by_sid = {g["sid"]: g["name"] for g in groups if g["sid"]}
    targets = [base, f"CN=Users,{base}", f"CN=Computers,{base}", f"OU=Domain Controllers,{base}"]
    evidence, bare = [], []
    for dn in targets:
        aces = ldap.dacl(dn)
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


# ---------------------------------------------------------------------------------- SIP domains

def _private(name: str) -> bool:
    return name.rsplit(".", 1)[-1].lower() in PRIVATE_SUFFIXES


@check("ad.sip-domain", title="SIP domains match the forest-prep SIP domain objects",
       phases=("preflight", "post"), severity="critical", needs=("ldap",))
def sip_domain(ctx: CheckContext) -> Result:
    """Every SIP domain of the site must exist as an msRTCSIP-Domain object under Global Settings,
    and the site's default (its first) must be the one marked msRTCSIP-Default.

    Why: forest prep records the SIP domain given with /SipDomain; a pool deployed for another domain
    leaves users unable to sign in (the tutorial: "uninstall OCS completely and start again").
    A private AD name (.local, .adds …) or the AD domain itself as SIP domain warns: clients outside
    and federation partners cannot resolve it.
    Fix: add the missing domain and make it the default (OCS 2007 R2 Administrative Tools > Forest >
    Properties > Global Properties > General) before deploying the pool.
    Source: MicrosoftDocs schema attributes by class (msRTCSIP-Domain); tutorial.
    """
    services, objects = _rtc(ctx)
    d = ctx.site.deployment
    domains = [o for o in objects if o["class"] == "msRTCSIP-Domain" and o["domain_name"]]
    if not services:
        return Result.fail("no RTC Service: forest prep has not run, so no SIP domain is recorded", [],
                           _lcscmd(ctx, "forestprep"))
    in_ad = {o["domain_name"].lower(): o for o in domains}
    defaults = [o["domain_name"].lower() for o in domains if o["default"]]
    evidence = [f"msRTCSIP-Domain {o['domain_name']}{' (default)' if o['default'] else ''}" for o in domains]
    evidence.append(f"site SIP domains: {', '.join(d.sip_domains)} (default {d.default_sip_domain})")
    missing = [s for s in d.sip_domains if s.lower() not in in_ad]
    add_fix = ("OCS 2007 R2 Administrative Tools > Forest > Properties > Global Properties > General: add "
               + ", ".join(missing or [d.default_sip_domain]) + f" and set {d.default_sip_domain} as the default "
               "SIP domain (before deploying the pool; a pool deployed for the wrong domain must be redeployed).")
    if missing:
        return Result.fail(f"SIP domain(s) not in AD: {', '.join(missing)}", evidence, add_fix)
    if d.default_sip_domain.lower() not in defaults:
        found = ", ".join(defaults) or "none"
        return Result.fail(f"the default SIP domain in AD is {found}, the site's is {d.default_sip_domain}",
                           evidence, add_fix)
    private = [s for s in d.sip_domains if _private(s) or s.lower() in (d.ad_domain.lower(), d.forest_root.lower())]
    if private:
        return Result.warn(f"SIP domain(s) {', '.join(private)} are private AD names: external clients and "
                           "federation cannot resolve them", evidence,
                           "Use a public DNS domain you own as SIP domain (e.g. the mail domain), added as above.")
    return Result.ok(f"SIP domains match AD (default {d.default_sip_domain})", evidence)


# ----------------------------------------------------------------------------- service accounts

def _account_problems(account: Dict, policy: Dict, now: datetime.datetime,
                      threshold_days: int) -> Tuple[List[str], List[str], List[str]]:
    """(problems, notes, fixes) for one account."""
    dn = account["dn"]
    uac = account.get("userAccountControl") or 0
    computed = account.get("msDS-User-Account-Control-Computed") or 0
    problems, notes, fixes = [], [], []
    if uac & UF_ACCOUNTDISABLE:
        problems.append("disabled")
        fixes.append(f'dsmod user "{dn}" -disabled no')
    lockout = filetime(account.get("lockoutTime"))
    duration = policy.get("lockoutDuration")
    locked = bool(computed & UF_LOCKOUT)
    if lockout and not locked and duration is not None:
        # Without the computed flag (2003 DCs): locked while lockoutTime + duration is ahead; a duration of
        # 0x8000000000000000 (or 0) means until an administrator unlocks.
        forever = duration == 0 or abs(duration) >= 0x7FFFFFFFFFFFFFFF
        locked = forever or lockout + datetime.timedelta(microseconds=abs(duration) // 10) > now
    if locked:
        problems.append(f"locked out since {lockout:%Y-%m-%d %H:%M} UTC" if lockout else "locked out")
        fixes.append(f'$u = [ADSI]{ps_quote("LDAP://" + dn)}; $u.Put("lockoutTime", 0); $u.SetInfo()')
    expires = filetime(account.get("accountExpires"))
    if expires and expires <= now + datetime.timedelta(days=threshold_days):
        problems.append(f"account expires {expires:%Y-%m-%d}")
        fixes.append(f'dsmod user "{dn}" -acctexpires never')
    if uac & UF_DONT_EXPIRE_PASSWD:
        notes.append("password never expires")
        return problems, notes, fixes
    pwd_last_set = account.get("pwdLastSet")
    if pwd_last_set == 0 or computed & UF_PASSWORD_EXPIRED:
        problems.append("password expired or must be changed at next logon")
    else:
        raw = account.get("msDS-UserPasswordExpiryTimeComputed")
        max_age = policy.get("maxPwdAge")
        if raw is not None:  # 2008+ DCs compute it, fine-grained password policies included
            expiry = filetime(raw)  # None: "never" (0x7FFFFFFFFFFFFFFF)
        else:  # 2003 DCs: pwdLastSet + the domain's maxPwdAge (negative; 0 = no maximum)
            expiry = filetime(pwd_last_set + abs(max_age)) if max_age and pwd_last_set else None
        if expiry is None:
            notes.append("password does not expire (no maximum password age applies)")
        else:
            left = expiry - now
            when = f"password expires {expiry:%Y-%m-%d %H:%M} UTC ({left.days} days)"
            if left <= datetime.timedelta(days=threshold_days):
                problems.append(when + f", within the {threshold_days}-day threshold")
            else:
                notes.append(when)
    if any("password" in p for p in problems):
        fixes.append(f'dsmod user "{dn}" -pwdneverexpires yes   (after setting a new password if expired: '
                     f'dsmod user "{dn}" -pwd *)')
    return problems, notes, fixes


@check("ad.service-accounts", title="RTCService and RTCComponentService accounts are usable",
       phases=("preflight", "post"), needs=("ldap",))
def service_accounts(ctx: CheckContext) -> Result:
    """The OCS service accounts (RTCService, RTCComponentService by default; [ldap] service_accounts)
    must be enabled, not locked out, and have a password that never expires — else the expiry
    (msDS-UserPasswordExpiryTimeComputed, or pwdLastSet + the domain's maxPwdAge on 2003 DCs) must be
    further away than thresholds.password_expiry_days. An expired password stops the OCS services.

    Preflight: a missing account passes (setup's wizard can create it). Post: it fails.
    Fix: `dsmod user "<DN>" -pwdneverexpires yes`, `dsmod user "<DN>" -disabled no` (PowerShell 2.0 has
    no AD cmdlets before the 2008 R2 module; ADSI unlocks: `$u=[ADSI]"LDAP://<DN>"; $u.Put("lockoutTime",0);
    $u.SetInfo()`). Times are judged against the run clock (recorded: a replay judges as the run did).
    Source: tutorial ("mot de passe qui expire ?"); event 7038 samples.
    """
    ldap = ctx.facts.ldap
    now = ctx.facts.now()
    policy = ldap.domain_policy()
    threshold = ctx.site.thresholds.password_expiry_days
    evidence, failures, fixes = [], [], []
    for name in ctx.site.ldap.service_accounts:
        account = ldap.account(name)
        if account is None:
            if ctx.phase.value == "post":
                failures.append(f"{name} does not exist")
                fixes.append(f"Create {name} (OCS setup's service account page) or set [ldap] service_accounts "
                             "to the accounts this deployment uses.")
            evidence.append(f"{name}: not found" + (" (setup can create it)" if ctx.phase.value == "preflight" else ""))
            continue
        problems, notes, account_fixes = _account_problems(account, policy, now, threshold)
        evidence.append(f"{name} ({account['dn']}): " + "; ".join(problems + notes or ["enabled"]))
        failures += [f"{name}: {p}" for p in problems]
        fixes += account_fixes
    if failures:
        return Result.fail("; ".join(failures), evidence, "\n".join(fixes))
    return Result.ok("service accounts usable", evidence)


# ----------------------------------------------------------------------------------------- pool

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
    _services, objects = _rtc(ctx)
    fqdn = ctx.site.deployment.server_fqdn.lower()
    pools = [o for o in objects if o["class"] == "msRTCSIP-Pool"]
    evidence = [f"{o['dn']}: dNSHostName={o['dns_host_name']}, PoolType={o['pool_type']}, "
                f"PoolVersion={o['pool_version']}" for o in pools] or ["no msRTCSIP-Pool object"]
    mine = [o for o in pools if (o["dns_host_name"] or "").lower() == fqdn]
    if not mine:
        return Result.fail(f"no pool object for {ctx.site.deployment.server_fqdn}", evidence,
                           f"On {ctx.site.deployment.server_fqdn}: Deployment Wizard > Deploy Standard Edition Server "
                           "(it creates the pool object), after forest and domain prep.")
    found = mine[0]
    problems = []
    if found["pool_type"] != POOL_TYPE_SE:
        problems.append(f"PoolType {found['pool_type']} is not Standard Edition (5)")
    if found["pool_version"] != POOL_VERSION_R2:
        problems.append(f"PoolVersion {found['pool_version']} "
                        f"({POOL_VERSIONS.get(found['pool_version'], 'unknown')}) is not OCS 2007 R2 (4)")
    if problems:
        return Result.fail("; ".join(problems), evidence,
                           "The pool was created by another edition or product: deploy OCS 2007 R2 Standard Edition "
                           "for this FQDN (remove the old pool with its own setup first).")
    return Result.ok(f"Standard Edition OCS 2007 R2 pool for {found['dns_host_name']}", evidence)


# --------------------------------------------------------------------------------- replication

def _repadmin_links(ctx: CheckContext) -> Tuple[List[ReplicationLink], Optional[FactUnavailable]]:
    """Links from the DC's repadmin (WinRM or --repadmin file), or ([], why they could not be had)."""
    try:
        return list(ctx.facts.host("dc").replication_links()), None
    except FactUnavailable as exc:
        return [], exc


@check("ad.replication", title="AD replication is healthy on every inbound link",
       phases=("preflight", "post"), needs=("ldap|winrm.dc",))
def replication(ctx: CheckContext) -> Result:
    """Every inbound replication link of the DCs read must have 0 consecutive failures and a last
    success younger than thresholds.replication_max_age_hours.

    Two sources are merged: repsFrom on each naming-context head of the site's DC and of
    [ldap] replication_dcs (LDAP), and `repadmin /showrepl * /csv` from a DC (WinRM or --repadmin).
    Every link is listed with its origin. A configured DC whose repsFrom cannot be read fails; a
    configured repadmin source that cannot be read (WinRM timeout, refused login) makes the check an
    error unless a failing link already decides it: a source that could not look never passes.
    Fix: `repadmin /showrepl <dc>` and `dcdiag /test:replications` on the failing destination,
    then `repadmin /syncall /AdeP` once the cause (DNS, a DC down, time skew) is fixed.
    Source: MS-DRSR REPS_FROM; repadmin documentation.
    """
    links: List[ReplicationLink] = []
    absent: List[str] = []
    unreadable: List[str] = []
    dsa_count = 0
    ldap_error: Optional[FactUnavailable] = None
    try:
        state = ctx.facts.ldap.replication_state()
        links += state.links
        unreadable = [why for _url, why in state.unreadable]  # the reason names the URL
        dsa_count = state.dsa_count
    except FactUnavailable as exc:
        if exc.reason.skips:
            absent.append(f"ldap: {exc}")
        else:
            ldap_error = exc
    repadmin, repadmin_error = _repadmin_links(ctx)
    links += repadmin
    source_errors: List[str] = []
    if repadmin_error is not None:
        (absent if repadmin_error.reason.skips else source_errors).append(f"repadmin: {repadmin_error}")
    if ldap_error is not None:
        if not repadmin:
            raise ldap_error  # the site's DC cannot be read and nothing else tells: error, like every AD check
        unreadable.append(str(ldap_error))
    now = ctx.facts.now()
    if not links and not unreadable and not source_errors:
        if len(absent) == 2:
            raise FactUnavailable(Reason.NOT_CONFIGURED, "; ".join(absent))
        if dsa_count <= 1:
            return Result.ok("a single domain controller: no inbound replication link to judge",
                             [f"{dsa_count} DC(s) in the forest"] + absent)
        return Result.warn(f"{dsa_count} DCs in the forest but no inbound link could be read", absent,
                           "Give a DC to read repadmin from ([winrm.dc] or --repadmin FILE), or list the DCs in "
                           "[ldap] replication_dcs.")
    max_age = datetime.timedelta(hours=ctx.site.thresholds.replication_max_age_hours)
    evidence, bad = [], []
    for link in sorted(links, key=lambda x: (x.destination_dc, x.naming_context, x.source_dc, x.origin)):
        age = now - parse_iso(link.last_success) if link.last_success else None
        problems = []
        if link.consecutive_failures > 0:
            problems.append(f"{link.consecutive_failures} consecutive failure(s), last result {link.last_result}")
        if age is None:
            problems.append("never replicated")
        elif age > max_age:
            problems.append(f"last success {age.total_seconds() / 3600:.1f} h ago")
        line = (f"[{link.origin}] {link.destination_dc} <- {link.source_dc} {link.naming_context}: "
                f"last success {link.last_success or 'never'}")
        evidence.append(line + (" — " + "; ".join(problems) if problems else ""))
        if problems:
            bad.append(f"{link.destination_dc} <- {link.source_dc} ({link.naming_context})")
    evidence += [f"unreadable: {u}" for u in unreadable] + source_errors + absent
    if bad or unreadable:
        what = [f"{len(bad)} failing link(s): " + ", ".join(bad[:5])] if bad else []
        what += [f"{len(unreadable)} DC(s) unreadable"] if unreadable else []
        destinations = sorted({b.split(" <- ")[0] for b in bad})
        fix = "\n".join([f"repadmin /showrepl {d}\ndcdiag /s:{d} /test:replications" for d in destinations]
                        + ["repadmin /syncall /AdeP   (once the cause is fixed)"])
        return Result.fail("; ".join(what), evidence, fix)
    if source_errors:
        return Result.error(f"{len(links)} inbound link(s) healthy, but {'; '.join(source_errors)}", evidence)
    return Result.ok(f"{len(links)} inbound link(s) healthy", evidence)

