"""Has OCS preparation reached every domain controller? The tutorial checks replication after each
lcscmd step (IV-B: "contrôlez que la réplication a eu lieu"): setup and activation may read any DC."""
from __future__ import annotations

from typing import Dict, List, Tuple, Union

from ocscheck.context import CheckContext
from ocscheck.facts import FactUnavailable
from ocscheck.model import Result
from ocscheck.registry import check
from ocscheck.values.ad import DomainController, PrepContent, RootDse


def _naming_contexts(dse: RootDse) -> Dict[str, str]:
    """The naming context holding each kind of difference (PrepContent.differences)."""
    return {"schema": dse.schema_nc, "configuration": dse.configuration_nc, "system": dse.root_domain_nc}


@check("ad.prep-replicated", title="Every domain controller holds the schema and forest preparation",
       phases=("preflight", "post"), severity="high", needs=("ldap",))
def prep_replicated(ctx: CheckContext) -> Result:
    """Every DC of the forest (the nTDSDSA objects of the configuration NC) must hold the same OCS schema
    version (rangeUpper of ms-RTC-SIP-SchemaVersion) and the same RTC Service content (partition, SIP
    domains, pools) as the site's DC ([ldap] url).

    Each DC is read with the site's LDAP account, at the address [ldap] replication_dcs gives for it (by
    host, or by its RootDSE dnsHostName) or else by its name. A DC that differs fails, naming the DC and
    what it lacks (or holds that the site's DC lacks); a DC that cannot be read is an error naming it. The
    RTC Service under CN=System is compared only on DCs holding the forest root domain's partition.
    Why: lcscmd's schema, forest and domain steps each write to one DC; the next step, setup or
    activation may read another, and fails or misbehaves until replication has brought the change there.
    Fix: force replication to the DC that is behind (`repadmin /replicate <DC> <site DC> <naming context>`,
    or the other way when the site's DC is the one behind), see why it did not happen (`repadmin /showrepl
    <DC>`; inbound replication disabled: `repadmin /options <DC> -DISABLE_INBOUND_REPL`), and wait before
    the next lcscmd step.
    Source: tutorial IV-B (check replication after each preparation step); OCS 2007 R2 "verify schema
    preparation" (rangeUpper); MicrosoftDocs "verify replication of the schema partition"; issue 9.
    """
    ldap = ctx.facts.ldap
    site_dse = ldap.rootdse()
    site_dc = site_dse.dns_host_name or ldap.url
    reference = PrepContent.of(ldap.schema_version(), ldap.rtc_objects())
    evidence = [f"{site_dc} (the site's DC, {ldap.url}): {reference.describe()}"]
    others = [dc for dc in ldap.domain_controllers() if dc.name.lower() != site_dc.lower()]
    if not others:
        return Result.ok("a single domain controller: nothing to compare", evidence)
    differing: List[str] = []
    unreadable: List[str] = []
    fixes: List[str] = []
    contexts = _naming_contexts(site_dse)

    def read(dc: DomainController) -> Tuple[str, Union[Tuple[RootDse, PrepContent], FactUnavailable]]:
        url = ldap.dc_url(dc.name)
        try:
            version, tree = ldap.together(lambda fact: fact(url), (ldap.schema_version, ldap.rtc_objects))
            return url, (ldap.rootdse(url), PrepContent.of(version, tree))
        except FactUnavailable as exc:
            return url, exc

    for dc, (url, found) in zip(others, ldap.together(read, others)):  # every DC read at once
        if isinstance(found, FactUnavailable):
            unreadable.append(f"{dc.name} ({url}): {found}")
            continue
        dse, content = found
        # The system partition's RTC Service lives in the root domain NC: only its DCs hold it.
        compare_rtc = reference.partitions != {"system"} or site_dse.root_domain_nc in dse.naming_contexts
        note = "" if compare_rtc else " (RTC Service not compared: this DC does not hold the root domain)"
        evidence.append(f"{dc.name} ({url}): {content.describe()}{note}")
        differences = content.differences(reference, compare_rtc)
        if differences:
            differing.append(f"{dc.name}: {'; '.join(text for text, _, _ in differences)}")
            # Replicate towards the side that is behind: usually the other DC, sometimes the site's own.
            for kind, behind in dict.fromkeys((kind, behind) for _, kind, behind in differences):
                to, source = (dc.name, site_dc) if behind == "dc" else (site_dc, dc.name)
                fixes.append(f'repadmin /replicate {to} {source} "{contexts[kind]}"')
            for late in dict.fromkeys(dc.name if behind == "dc" else site_dc for _, _, behind in differences):
                fixes += [f"repadmin /showrepl {late}",
                          f"(inbound replication disabled on it? repadmin /options {late} -DISABLE_INBOUND_REPL)"]
    evidence += [f"unreadable: {u}" for u in unreadable]
    if differing:
        cannot = f"; cannot read {', '.join(u.split(' (')[0] for u in unreadable)}" if unreadable else ""
        return Result.fail(f"not replicated to every DC: {' | '.join(differing)}{cannot}", evidence,
                           "\n".join(fixes) + "\nThen wait for replication before the next lcscmd step or setup.")
    if unreadable:
        return Result.error(f"cannot read {len(unreadable)} DC(s): {'; '.join(unreadable)}", evidence,
                            "Make each DC reachable over LDAPS/StartTLS with the site's account, or give its "
                            "address in [ldap] replication_dcs (ldaps://<address>) when its name does not resolve.")
    return Result.ok(f"{len(others) + 1} DCs hold the same OCS preparation ({reference.describe()})", evidence)
