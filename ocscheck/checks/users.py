"""SIP-enabled users (facts source: one paged LDAP walk summarised by facts.ldap.sip_users)."""
from __future__ import annotations

from typing import List, Sequence

from ocscheck.context import CheckContext
from ocscheck.model import Result
from ocscheck.registry import check
from ocscheck.values.ad import SampleItem

LISTED = 5  # DNs named per problem in the evidence


def _names(sample: Sequence[SampleItem], count: int) -> str:
    shown = [item if isinstance(item, str) else item[0] for item in sample[:LISTED]]
    more = f" … and {count - len(shown)} more" if count > len(shown) else ""
    return "; ".join(shown) + more


def _pools(ctx: CheckContext) -> List[str]:
    return [pool.dn.lower() for pool in ctx.facts.ldap.rtc_objects().pools]


def _homed_on(home: str, pools: List[str]) -> bool:
    """A home server DN names a pool itself or an object beneath it (CN=LC Services,CN=Microsoft,<pool>)."""
    home = home.lower()
    return any(home == p or home.endswith("," + p) for p in pools)


@check("users.sip", title="SIP-enabled users have valid, unique URIs homed on an existing pool",
       phases=("post",), severity="medium", needs=("ldap",))
def sip_users(ctx: CheckContext) -> Result:
    """Every SIP-enabled user (msRTCSIP-UserEnabled TRUE) must have a `sip:user@domain` URI
    (msRTCSIP-PrimaryUserAddress) in one of the site's SIP domains, not shared with another user, and a
    home server (msRTCSIP-PrimaryHomeServer) under an existing msRTCSIP-Pool, home-server DNs compared
    case-insensitively (Lync-era tools write "CN=Lc Services"). A URI different from the user's mail warns
    (one address per user is the tutorial's advice); users without mail are listed.
    An AD-disabled account (userAccountControl bit 0x2) whose msRTCSIP-UserEnabled is still TRUE warns and
    is not counted as valid: it cannot sign in, yet still holds its URI (duplicates are still judged).

    The directory is read once with a paged search (site page_size); only counts, samples and
    duplicates are kept, so 100,000 users do not sit in memory.
    Fix: in OCS 2007 R2 Administrative Tools or Active Directory Users and Computers (Communications tab):
    correct the URI, or re-home the users on the pool (Move Users).
    Disabled accounts: disable them for Communications Server too (Communications tab: clear "Enable user
    for Communications Server"), or enable the AD account if the user should sign in.
    Source: MicrosoftDocs schema attributes by class (user attributes, msRTCSIP-PrimaryHomeServer: "the DN of
    the Standard Edition server or Enterprise Edition pool"); findings-2026-12 §6 (compare case-insensitively);
    MS-ADTS userAccountControl ACCOUNTDISABLE 0x2; tutorial; issue 9, correction 8.
    """
    summary = ctx.facts.ldap.sip_users()
    site_domains = {d.lower() for d in ctx.site.deployment.sip_domains}
    pools = _pools(ctx)
    valid = summary.valid_candidates
    fails, warns, evidence = [], [], [f"{summary.total} SIP-enabled user(s)"]
    if summary.disabled.count:
        group = summary.disabled
        warns.append(f"{group.count} AD-disabled account(s) still SIP-enabled (not counted as valid): "
                     f"{_names(group.sample, group.count)}")
    for domain, group in sorted(summary.domains.items()):
        state = "supported" if domain in site_domains else "NOT a site SIP domain"
        evidence.append(f"{group.count} URI(s) in {domain} ({state})")
        if domain not in site_domains:
            fails.append(f"{group.count} URI(s) in foreign domain {domain}: {_names(group.sample, group.count)}")
    if summary.malformed.count:
        group = summary.malformed
        shown = ", ".join(f"{dn} ({uri or 'empty'})" for dn, uri in group.sample[:LISTED])
        fails.append(f"{group.count} malformed URI(s) (not sip:user@domain): {shown}")
    for uri, owners in sorted(summary.duplicates.items()):
        fails.append(f"duplicate URI {uri}: {'; '.join(owners[:LISTED])}")
    for home, group in sorted(summary.home_servers.items()):
        if _homed_on(home, pools):
            evidence.append(f"{group.count} user(s) homed on {home}")
        else:
            fails.append(f"{group.count} user(s) homed on {home}, which is not an existing pool: "
                         f"{_names(group.sample, group.count)}")
    if summary.no_home.count:
        group = summary.no_home
        fails.append(f"{group.count} user(s) without a home server: {_names(group.sample, group.count)}")
    if summary.mail_mismatch.count:
        group = summary.mail_mismatch
        shown = "; ".join(f"{dn}: {uri} vs mail {mail}" for dn, uri, mail in group.sample[:LISTED])
        warns.append(f"{group.count} user(s) whose SIP URI differs from their mail: {shown}")
    if summary.no_mail.count:
        group = summary.no_mail
        warns.append(f"{group.count} user(s) without mail: {_names(group.sample, group.count)}")
    evidence += fails + warns
    fix = ("OCS 2007 R2 Administrative Tools (or Active Directory Users and Computers > user > Communications): "
           f"give each user a unique sip:<user>@{ctx.site.deployment.default_sip_domain} URI and home it on "
           f"the pool of {ctx.site.deployment.server_fqdn} (Move Users for a dangling home server).")
    if summary.disabled.count:
        fix += ("\nAD-disabled accounts: Active Directory Users and Computers > user > Communications: clear "
                "\"Enable user for Communications Server\" (or enable the AD account if the user should sign in).")
    if fails:
        return Result.fail(f"{len(fails)} problem(s) among {summary.total} SIP-enabled users: {fails[0]}",
                           evidence, fix)
    if warns:
        advice = []
        if summary.mail_mismatch.count or summary.no_mail.count:
            advice.append("Make the SIP URI equal to the mail address (one address for users).")
        if summary.disabled.count:
            advice.append(fix.splitlines()[-1])
        return Result.warn(f"{valid} SIP-enabled users valid; " + "; ".join(w.split(':')[0] for w in warns),
                           evidence, "\n".join(advice))
    if not summary.total:
        return Result.ok("no SIP-enabled user yet", evidence)
    return Result.ok(f"{valid} SIP-enabled users valid and homed on an existing pool", evidence)
