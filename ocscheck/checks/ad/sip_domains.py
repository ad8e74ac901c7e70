"""The site's SIP domains against the msRTCSIP-Domain objects forest preparation wrote."""
from __future__ import annotations

from ocscheck.checks.ad.prep import lcscmd
from ocscheck.context import CheckContext
from ocscheck.model import Result
from ocscheck.registry import check

# Suffixes that cannot be public DNS names: the tutorial's ".adds" and the usual private AD suffixes, and
# the names RFC 2606 / RFC 6761 reserve (test, example, invalid, localhost).
PRIVATE_SUFFIXES = ("local", "lan", "internal", "intranet", "corp", "home", "private", "localdomain", "adds",
                    "test", "example", "invalid", "localhost")

def _private(name: str) -> bool:
    return name.rsplit(".", 1)[-1].lower() in PRIVATE_SUFFIXES


@check("ad.sip-domain", title="SIP domains match the forest-prep SIP domain objects",
       phases=("preflight", "post"), severity="critical", needs=("ldap",))
def sip_domain(ctx: CheckContext) -> Result:
    """Every SIP domain of the site must exist as an msRTCSIP-Domain object under Global Settings,
    and the site's default (its first) must be the one marked msRTCSIP-Default.

    Why: forest prep records the SIP domain given with /SipDomain; a pool deployed for another domain
    leaves users unable to sign in (the tutorial: "uninstall OCS completely and start again").
    A SIP domain whose suffix is not a public one (.local, .adds, .corp, RFC 2606 names …) warns:
    clients outside and federation partners cannot resolve it. A SIP domain equal to the AD domain is
    not judged by itself: when the AD domain is public that is legitimate (the tutorial: with a public AD
    domain the SIP domain defaults to it).
    Fix: add the missing domain and make it the default (OCS 2007 R2 Administrative Tools > Forest >
    Properties > Global Properties > General) before deploying the pool.
    Source: MicrosoftDocs schema attributes by class (msRTCSIP-Domain); tutorial, forest prep step (as
    summarised in deployment-steps.md: with a public AD domain the SIP domain defaults to the AD domain);
    issue 9, correction 6.
    """
    tree = ctx.facts.ldap.rtc_objects()
    d = ctx.site.deployment
    domains = tree.sip_domains
    if not tree.services:
        return Result.fail("no RTC Service: forest prep has not run, so no SIP domain is recorded", [],
                           lcscmd(ctx, "forestprep"))
    in_ad = {o.domain_name.lower(): o for o in domains}
    defaults = [o.domain_name.lower() for o in domains if o.default]
    evidence = [f"msRTCSIP-Domain {o.domain_name}{' (default)' if o.default else ''}" for o in domains]
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
    private = [s for s in d.sip_domains if _private(s)]
    if private:
        suffixes = ", ".join(sorted({"." + s.rsplit(".", 1)[-1].lower() for s in private}))
        return Result.warn(f"SIP domain(s) {', '.join(private)} are private AD names (suffix {suffixes} is not "
                           "public): external clients and federation cannot resolve them", evidence,
                           "Use a public DNS domain you own as SIP domain (e.g. the mail domain), added as above.")
    return Result.ok(f"SIP domains match AD (default {d.default_sip_domain})", evidence)
