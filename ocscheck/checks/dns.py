"""DNS checks: the records Communicator needs to find the server, inside and outside.

Client lookup order (Communicator 2007 R2, TechNet dd572514): _sipinternaltls._tcp, _sipinternal._tcp,
_sip._tls, then A records of sipinternal.<d>, sip.<d>, sipexternal.<d>. The first that answers wins.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Set, Tuple

from ocscheck.config import Site
from ocscheck.context import CheckContext
from ocscheck.model import Result
from ocscheck.values.names import in_domain, split_host
from ocscheck.registry import check
from ocscheck.values.dns import DnsAnswer, SrvRecord

SIP_TLS_PORT = 5061
CLIENT_SRV_ORDER = ("_sipinternaltls._tcp", "_sipinternal._tcp", "_sip._tls")
Query = Tuple[str, str, str]  # (view, name, record type): what ctx.facts.dns.lookup reads


def _server_a(site: Site) -> List[Query]:
    return [("internal", site.deployment.server_fqdn, "A")]


def _srv(site: Site, prefixes: Tuple[str, ...]) -> List[Query]:
    return [("internal", f"{prefix}.{domain}", "SRV") for domain in site.deployment.sip_domains for prefix in prefixes]


def _cname_queries(site: Site) -> List[Query]:
    return _server_a(site) + [("internal", f"sip.{domain}", "A") for domain in site.deployment.sip_domains]


def _sip_tls_srv_queries(site: Site) -> List[Query]:
    return _server_a(site) + _srv(site, CLIENT_SRV_ORDER)


def _sipinternal_queries(site: Site) -> List[Query]:
    return _server_a(site) + _srv(site, ("_sipinternaltls._tcp",))


# The queries each check reads first, known from the site file alone: the check asks them together
# (facts.dns.start) before reading them one by one, and the prefetch asks them when the check is selected.
QUERIES: Dict[str, Callable[[Site], List[Query]]] = {
    "dns.server-a": _server_a, "dns.sip-cname": _cname_queries, "dns.sip-tls-srv": _sip_tls_srv_queries,
    "dns.sipinternal-srv": _sipinternal_queries,
}


def _dnscmd(ctx: CheckContext, zone: str, fqdn: str, rdtype: str, data: str) -> str:
    server = ctx.site.dns.management_server
    return f"dnscmd {server} /recordadd {zone} {split_host(fqdn, zone)} {rdtype} {data}"


def _zone_line(fqdn: str, rdtype: str, data: str) -> str:
    return f"{fqdn}. 3600 IN {rdtype} {data}"


def _server_addresses(ctx: CheckContext, view: str = "internal") -> Set[str]:
    return set(ctx.facts.dns.addresses(view, ctx.site.deployment.server_fqdn))


def _points_to_server(ctx: CheckContext, answer: DnsAnswer, server: Set[str]) -> bool:
    fqdn = ctx.site.deployment.server_fqdn.lower()
    return fqdn in answer.cname_chain or bool(server and server & set(answer.addresses))


def _wrong_srv_records(ctx: CheckContext, domain: str, prefix: str, answer: DnsAnswer,
                       server: Set[str]) -> List[Tuple[SrvRecord, str, str]]:
    """Each wrong SIP TLS SRV record in ``answer``: (record, failure text, the dnscmd line deleting it)."""
    ctx.facts.dns.start(("internal", record.target, "A") for record in answer.srv)
    wrong = []
    for record in answer.srv:
        problems = _srv_problems(ctx, domain, record, server)
        if problems:
            wrong.append((record, f"{answer.name} SRV {record}: {'; '.join(problems)}",
                          f"dnscmd {ctx.site.dns.management_server} /recorddelete {domain} {prefix} SRV {record} /f"))
    return wrong


def _srv_problems(ctx: CheckContext, domain: str, record: SrvRecord, server: Set[str]) -> List[str]:
    """What is wrong with one SIP TLS SRV record of ``domain`` (empty when nothing is)."""
    problems = []
    if record.port != SIP_TLS_PORT:
        problems.append(f"port {record.port}, not {SIP_TLS_PORT} (SIP over TLS)")
    if not in_domain(record.target, domain):
        problems.append(f"target {record.target} is outside the SIP domain {domain} "
                        f"(strict naming: clients refuse it)")
    target = ctx.facts.dns.lookup("internal", record.target, "A")
    if not target.addresses:
        problems.append(f"target {record.target} does not resolve ({target.rcode})")
    elif not _points_to_server(ctx, target, server):
        problems.append(f"target {record.target} resolves to {', '.join(target.addresses)}, not to the "
                        f"server {ctx.site.deployment.server_fqdn} ({', '.join(sorted(server)) or 'unresolved'})")
    return problems


@check("dns.server-a", title="The server FQDN is a valid name and resolves", phases=("preflight", "post"),
       severity="critical", needs=("dns.internal",))
def server_a(ctx: CheckContext) -> Result:
    """The OCS server's FQDN must follow the DNS naming rules OCS 2007 R2 imposes and resolve internally.

    Why: every client, the certificate and the SRV records name the server by its FQDN. OCS 2007 R2 does not
    support single-label domains, and the last label of an FQDN must not start with a digit. Those name rules
    are enforced when the site file is read (a bad name is a configuration error naming the key), so this
    check judges the resolution: an A record, matching deployment.server_ip when the site sets it.
    Fix: create the A record in the AD zone (`dnscmd <server> /recordadd <zone> <host> A <ip>`); a bad name
    means renaming the server before installing.
    Source: TechNet dd441205 (AD DS and DNS requirements).
    """
    fqdn = ctx.site.deployment.server_fqdn
    answer = ctx.facts.dns.lookup("internal", fqdn, "A")
    evidence = [answer.describe()]
    ip = ctx.site.deployment.server_ip
    zone = ctx.site.deployment.ad_domain
    add = _dnscmd(ctx, zone, fqdn, "A", ip or "<server IP>")
    if not answer.addresses:
        return Result.fail(f"{fqdn} does not resolve on the internal resolvers ({answer.rcode})", evidence,
                           f"{add}\n(or in a BIND zone file: {_zone_line(fqdn, 'A', ip or '<server IP>')})")
    if ip and ip not in answer.addresses:
        return Result.fail(f"{fqdn} resolves to {', '.join(answer.addresses)}, not to the site's server_ip {ip}",
                           evidence, f"dnscmd {ctx.site.dns.management_server} /recorddelete {zone} "
                           f"{split_host(fqdn, zone)} A /f\n{add}")
    return Result.ok(f"{fqdn} resolves to {', '.join(answer.addresses)}", evidence)


@check("dns.sip-zone", title="The internal DNS hosts a zone for each SIP domain", phases=("preflight", "post"),
       severity="high", needs=("dns.internal",))
def sip_zone(ctx: CheckContext) -> Result:
    """Every internal resolver must answer authoritatively (an SOA with the AA flag) for each SIP domain:
    the internal DNS hosts a zone for it, where the sip.<d> and _sip._tls.<d> records live.

    Each resolver of [dns] internal is asked on its own (a client may use any of them). No SOA for the
    domain (NXDOMAIN, or NODATA inside a parent zone) fails: the SIP records cannot be created, and in
    split DNS the internal clients would get the public answers. An SOA without AA (a forwarder or a cache
    answering from elsewhere) warns. A resolver that does not answer is an error naming it.
    Why: the tutorial ("Vous devrez avoir une zone correspondant à votre domaine SIP"); the SIP domain
    (todorovic.fr) is not the AD domain (todorovic.adds), so AD DNS does not hold it unless it is created.
    Fix: `dnscmd <dns server> /zoneadd <sip domain> /dsprimary` (an AD-integrated primary zone, replicated
    to every DC running DNS), then the records (dns.sip-cname, dns.sip-tls-srv).
    Source: the deployment tutorial, DNS step; issue 9 (new check).
    """
    server = ctx.site.dns.management_server
    evidence, failures, warnings, errors, fixes = [], [], [], [], []
    for domain in ctx.site.deployment.sip_domains:
        missing = False
        for answer in ctx.facts.dns.zone("internal", domain):
            evidence.append(answer.describe())
            if answer.error:
                errors.append(f"resolver {answer.server} did not answer the SOA of {domain}: {answer.error}")
            elif answer.hosts_zone:
                continue
            elif answer.soa is not None:
                warnings.append(f"{answer.server} answers the SOA of {domain} without authority (forwarded or "
                                f"cached; primary {answer.soa.mname}): it does not host the zone")
                missing = True
            else:
                inside = f", the name lies in zone {answer.enclosing}" if answer.enclosing else ""
                failures.append(f"{answer.server} has no zone for {domain} ({answer.rcode}{inside})")
                missing = True
        if missing:
            fixes.append(f"dnscmd {server} /zoneadd {domain} /dsprimary")
            fixes.append(f'(BIND: zone "{domain}" {{ type master; file "db.{domain}"; }};)')
    fix = "\n".join(fixes)
    if failures:
        return Result.fail("; ".join(failures + errors), evidence, fix)
    if errors:
        return Result.error("; ".join(errors + warnings), evidence, fix)
    if warnings:
        return Result.warn("; ".join(warnings), evidence, fix + "\n(if these resolvers forward the domain to "
                           "an internal server that hosts it, list that server in [dns] internal)")
    return Result.ok(f"the internal DNS hosts a zone for {', '.join(ctx.site.deployment.sip_domains)}", evidence)


@check("dns.sip-cname", title="sip.<SIP domain> resolves to the server", phases=("post",),
       severity="high", needs=("dns.internal",))
def sip_cname(ctx: CheckContext) -> Result:
    """For every SIP domain, sip.<domain> must resolve (CNAME or A) to the OCS server.

    Why: Communicator falls back to the A record of sip.<domain> for automatic sign-in, and the tutorial
    publishes sip.<domain> as a CNAME of the server (it is also the target of the _sip._tls SRV record).
    Fix: `dnscmd <dns server> /recordadd <sip domain> sip CNAME <server fqdn>` in the SIP domain's zone.
    Source: TechNet dd572514 (automatic client sign-in); the deployment tutorial, DNS step.
    """
    ctx.facts.dns.start(_cname_queries(ctx.site))
    server = _server_addresses(ctx)
    fqdn = ctx.site.deployment.server_fqdn
    evidence, failures, fixes = [], [], []
    for domain in ctx.site.deployment.sip_domains:
        name = f"sip.{domain}"
        answer = ctx.facts.dns.lookup("internal", name, "A")
        evidence.append(answer.describe())
        if _points_to_server(ctx, answer, server):
            continue
        if answer.exists:
            failures.append(f"{name} points to {answer.canonical} ({', '.join(answer.addresses) or 'no address'})"
                            f", not to {fqdn}")
            fixes.append(f"dnscmd {ctx.site.dns.management_server} /recorddelete {domain} sip CNAME /f")
        else:
            failures.append(f"{name} does not resolve ({answer.rcode})")
        fixes.append(_dnscmd(ctx, domain, name, "CNAME", fqdn))
        fixes.append(f"(BIND zone file: {_zone_line(name, 'CNAME', fqdn + '.')})")
    if failures:
        return Result.fail("; ".join(failures), evidence, "\n".join(fixes))
    return Result.ok(f"sip.<domain> resolves to {fqdn} for {', '.join(ctx.site.deployment.sip_domains)}",
                     evidence)


@check("dns.sip-tls-srv", title="_sip._tls.<SIP domain> SRV points at the server on 5061", phases=("post",),
       severity="critical", needs=("dns.internal",))
def sip_tls_srv(ctx: CheckContext) -> Result:
    """For every SIP domain, _sip._tls.<domain> must be an SRV record on port 5061 whose target is inside the
    SIP domain (strict naming) and resolves to the server.

    Why: this is the record clients use for automatic sign-in over TLS. A target outside the SIP domain
    (e.g. the server's AD name) is refused by strict-naming clients; a wrong port reaches nothing.
    The evidence also says which record a client would use first, in Communicator's lookup order.
    Fix: `dnscmd <dns server> /recordadd <sip domain> _sip._tls SRV 0 0 5061 sip.<sip domain>`.
    Source: TechNet dd572514; the deployment tutorial, DNS step.
    """
    ctx.facts.dns.start(_sip_tls_srv_queries(ctx.site))
    server = _server_addresses(ctx)
    evidence, failures, fixes = [], [], []
    for domain in ctx.site.deployment.sip_domains:
        name = f"_sip._tls.{domain}"
        answer = ctx.facts.dns.lookup("internal", name, "SRV")
        evidence.append(answer.describe())
        evidence.append(_first_client_lookup(ctx, domain))
        target = f"sip.{domain}"
        good = f"{SIP_TLS_PORT} {target}"
        if not answer.srv:
            failures.append(f"{name} has no SRV record ({answer.rcode})")
            fixes.append(_dnscmd(ctx, domain, name, "SRV", f"0 0 {good}"))
            fixes.append(f"(BIND zone file: {_zone_line(name, 'SRV', f'0 0 {SIP_TLS_PORT} {target}.')})")
            continue
        for record, failure, delete in _wrong_srv_records(ctx, domain, "_sip._tls", answer, server):
            failures.append(failure)
            fixes += [delete, _dnscmd(ctx, domain, name, "SRV", f"{record.priority} {record.weight} {good}")]
    if failures:
        return Result.fail("; ".join(failures), evidence, "\n".join(dict.fromkeys(fixes)))
    return Result.ok(f"_sip._tls SRV records reach the server on {SIP_TLS_PORT} for "
                     f"{', '.join(ctx.site.deployment.sip_domains)}", evidence)


def _first_client_lookup(ctx: CheckContext, domain: str) -> str:
    """Which record Communicator 2007 R2 would use first for ``domain``."""
    for prefix in CLIENT_SRV_ORDER:
        answer = ctx.facts.dns.lookup("internal", f"{prefix}.{domain}", "SRV")
        if answer.srv:
            first = answer.srv[0]
            return f"client lookup for {domain}: {prefix}.{domain} answers first -> {first.target}:{first.port}"
    return f"client lookup for {domain}: no SIP SRV record answers; clients fall back to A records"


@check("dns.sipinternal-srv", title="_sipinternaltls._tcp.<SIP domain> is absent or correct", phases=("post",),
       severity="high", needs=("dns.internal",))
def sipinternal_srv(ctx: CheckContext) -> Result:
    """_sipinternaltls._tcp.<domain> is optional, but clients query it before _sip._tls: when present it must
    be right (port 5061, target resolving to the server), or internal sign-in fails even though _sip._tls
    is correct.

    Why: Communicator 2007 R2 tries _sipinternaltls._tcp first and uses the first record that answers.
    Fix: correct the record, or delete it (`dnscmd <dns server> /recorddelete <sip domain> _sipinternaltls._tcp
    SRV /f`) so that clients go on to _sip._tls.
    Source: TechNet dd572514.
    """
    ctx.facts.dns.start(_sipinternal_queries(ctx.site))
    server = _server_addresses(ctx)
    evidence, failures, fixes, absent = [], [], [], []
    for domain in ctx.site.deployment.sip_domains:
        name = f"_sipinternaltls._tcp.{domain}"
        answer = ctx.facts.dns.lookup("internal", name, "SRV")
        evidence.append(answer.describe())
        if not answer.srv:
            absent.append(domain)
            continue
        for _record, failure, delete in _wrong_srv_records(ctx, domain, "_sipinternaltls._tcp", answer, server):
            failures.append(failure)
            fixes.append(delete)
    if failures:
        fixes.append("(clients query this record before _sip._tls: fix it, or delete it so they fall through)")
        return Result.fail("; ".join(failures), evidence, "\n".join(fixes))
    if absent and len(absent) == len(ctx.site.deployment.sip_domains):
        return Result.ok("absent (optional): clients fall through to _sip._tls", evidence)
    note = f"; absent for {', '.join(absent)}" if absent else ""
    return Result.ok(f"_sipinternaltls._tcp records reach the server{note}", evidence)
