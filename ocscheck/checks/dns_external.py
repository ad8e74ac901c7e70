"""dns.split: what the public DNS view must (and must not) publish, by the site's external access.

Without an Edge server (deployment.external_access = "none", the tutorial's topology) nothing in OCS
terminates SIP from the Internet, so no SIP record is expected outside. With an Access Edge ("edge"),
remote users find it through `_sip._tls.<d>` on 443 and `sip.<d>`, federation partners through
`_sipfederationtls._tcp.<d>` on 5061 (findings-2026-12 §4). Either way the public view must not expose
internal names or addresses. No fix here ever publishes the internal server's 5061 outside.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Set, Tuple

from ocscheck.config import Site
from ocscheck.context import CheckContext
from ocscheck.model import Result
from ocscheck.registry import check
from ocscheck.values.dns import DnsAnswer
from ocscheck.values.names import in_domain, is_private_address

EDGE_REMOTE_PORT = 443       # _sip._tls.<d> outside: remote users reach the Access Edge on 443
EDGE_FEDERATION_PORT = 5061  # _sipfederationtls._tcp.<d>: the Access Edge's federation port
EXTERNAL_DNS = "<external DNS server>"
# Records a client or a partner would use from the Internet; the internal ones must never be published there.
PUBLIC_SRV = ("_sip._tls", "_sipfederationtls._tcp")
INTERNAL_SRV = ("_sipinternaltls._tcp", "_sipinternal._tcp")


@dataclass
class Findings:
    """What the external view showed, sorted by verdict."""

    evidence: List[str] = field(default_factory=list)
    failures: List[str] = field(default_factory=list)
    exposed: List[str] = field(default_factory=list)     # internal names, private or internal addresses
    published: List[str] = field(default_factory=list)   # SIP records found outside ("none": unexpected)
    fixes: List[str] = field(default_factory=list)


def _summary(answer: DnsAnswer) -> str:
    if answer.srv:
        return ", ".join(str(s) for s in answer.srv)
    if answer.addresses or answer.cname_chain:
        return ", ".join(list(answer.cname_chain) + list(answer.addresses))
    return answer.rcode if answer.rcode != "NOERROR" else "no records"


def _add(zone: str, name: str, rdtype: str, data: str) -> str:
    host = name[: -len(zone) - 1] if name.lower().endswith("." + zone.lower()) else "@"
    return f"dnscmd {EXTERNAL_DNS} /recordadd {zone} {host} {rdtype} {data}"


def _delete(zone: str, name: str, rdtype: str) -> str:
    host = name[: -len(zone) - 1] if name.lower().endswith("." + zone.lower()) else "@"
    return f"dnscmd {EXTERNAL_DNS} /recorddelete {zone} {host} {rdtype} /f"


class _View:
    """The external answers of one run, with what counts as internal at this site."""

    def __init__(self, ctx: CheckContext):
        self.ctx = ctx
        d = ctx.site.deployment
        self.server = d.server_fqdn.lower()
        # The AD domain is internal unless it is also public here (a SIP domain or the Edge's domain).
        public = [*d.sip_domains, d.access_edge_fqdn] if d.access_edge_fqdn else list(d.sip_domains)
        self.internal_domains = [z for z in {d.ad_domain.lower(), d.forest_root.lower()}
                                 if not any(in_domain(p, z) for p in public)]
        self.internal_addresses: Set[str] = set(ctx.facts.dns.addresses("internal", d.server_fqdn))

    def lookup(self, name: str, rdtype: str) -> DnsAnswer:
        return self.ctx.facts.dns.lookup("external", name, rdtype)

    def internal_name(self, name: str) -> bool:
        return name.lower() == self.server or any(in_domain(name, z) for z in self.internal_domains)

    def resolve(self, answer: DnsAnswer, found: Findings) -> Tuple[List[str], List[str]]:
        """(names, addresses) an answer leads to outside, SRV targets followed; logs the targets."""
        self.ctx.facts.dns.start(("external", record.target, "A") for record in answer.srv)
        names = list(answer.cname_chain)
        addresses = list(answer.addresses)
        for record in answer.srv:
            target = self.lookup(record.target, "A")
            found.evidence.append(f"  external {record.target} A: {_summary(target)}")
            names += [record.target, *target.cname_chain]
            addresses += target.addresses
        return names, addresses

    def exposure(self, label: str, names: List[str], addresses: List[str]) -> List[str]:
        problems = []
        internal = sorted({n for n in names if self.internal_name(n)})
        private = sorted({a for a in addresses if is_private_address(a)})
        server = sorted({a for a in addresses if a in self.internal_addresses} - set(private))
        if internal:
            problems.append(f"{label} exposes internal name(s) {', '.join(internal)}")
        if private:
            problems.append(f"{label} publishes private address(es) {', '.join(private)}")
        if server:
            problems.append(f"{label} leads to the internal server's address {', '.join(server)}")
        return problems


@check("dns.split", title="Public DNS publishes what the external access needs, and nothing internal",
       phases=("post",), severity="medium", needs=("dns.internal", "dns.external"))
def split(ctx: CheckContext) -> Result:
    """The external (public) DNS view, judged by the site's declared external access
    (deployment.external_access, access_edge_fqdn, federation).

    "none" (default; the tutorial's deployment has no Edge server): no SIP record is expected outside.
    Pass when the public view holds none of _sip._tls, sip, _sipfederationtls._tcp, _sipinternaltls._tcp,
    _sipinternal._tcp for any SIP domain; warn when it holds some (clients outside would try them and fail:
    nothing terminates SIP from the Internet without an Edge), naming internal names, private addresses or
    the internal server's address they expose.
    "edge": `_sip._tls.<d>` SRV on port 443 whose target is inside the SIP domain (strict naming) and is the
    Access Edge (access_edge_fqdn, or a name resolving to its public addresses); `sip.<d>` resolving to a
    public address; with federation, `_sipfederationtls._tcp.<d>` SRV on 5061 to the Access Edge. Missing or
    wrong records fail; internal names or addresses exposed outside warn.
    Why: the internal server's 5061 must never be published to the Internet (unsupported, and an attack
    surface); remote access goes through the Access Edge on 443.
    Fix: "none": delete the SIP records from the public zone (`dnscmd <external DNS server> /recorddelete
    <d> _sip._tls SRV /f`), or declare the Edge (external_access = "edge"). "edge": `dnscmd <external DNS
    server> /recordadd <d> _sip._tls SRV 0 0 443 <access edge fqdn>`, `… _sipfederationtls._tcp SRV 0 0 5061
    <access edge fqdn>`, an A record of sip.<d> for the Edge's public address.
    Source: findings-2026-12 §4 (Lync 2013 DNS summary: _sip._tls 443 and _sipfederationtls._tcp 5061 to the
    Access Edge; OCS 2007 Edge bb870404; Communicator R2 client lookup dd572514); issue 9, correction 4.
    """
    ctx.facts.dns.start(split_queries(ctx.site))
    view = _View(ctx)
    found = Findings()
    d = ctx.site.deployment
    if d.external_access == "edge":
        edge = d.access_edge_fqdn.lower()
        edge_answer = view.lookup(edge, "A")
        found.evidence.append(f"Access Edge {edge} A: external {_summary(edge_answer)}")
        edge_addresses = set(edge_answer.addresses)
        if not edge_addresses:
            found.failures.append(f"the Access Edge {edge} does not resolve outside ({edge_answer.rcode})")
            found.fixes.append(_add(d.default_sip_domain, edge, "A", "<public address of the Access Edge>"))
        for domain in d.sip_domains:
            _judge_edge_domain(view, found, domain.lower(), edge, edge_addresses)
    else:
        for domain in d.sip_domains:
            _judge_no_edge_domain(view, found, domain.lower())
    fixes = "\n".join(dict.fromkeys(found.fixes))
    if found.failures:
        return Result.fail("; ".join(found.failures + found.exposed), found.evidence, fixes)
    if d.external_access != "edge" and found.published:
        text = "external access is none (no Edge), yet the public DNS publishes " + ", ".join(found.published)
        return Result.warn("; ".join(found.exposed + [text]), found.evidence,
                           fixes + '\n(or, if an Access Edge serves these domains, set deployment.external_access = '
                                   '"edge" and access_edge_fqdn)')
    if found.exposed:
        return Result.warn("; ".join(found.exposed), found.evidence,
                           fixes or "In the external zone, point these names at the Access Edge's public address "
                                    "only: no internal name, no private or internal address.")
    if d.external_access == "edge":
        federation = f", _sipfederationtls._tcp on {EDGE_FEDERATION_PORT}" if d.federation else ""
        return Result.ok(f"the public DNS leads to the Access Edge {d.access_edge_fqdn}: _sip._tls on "
                         f"{EDGE_REMOTE_PORT}, sip.<d> public{federation} for {', '.join(d.sip_domains)}",
                         found.evidence)
    return Result.ok("no SIP record in the public DNS, as expected without an Edge server "
                     f"(external access none) for {', '.join(d.sip_domains)}", found.evidence)


def split_queries(site: Site) -> List[Tuple[str, str, str]]:
    """The (view, name, record type) queries dns.split reads first, known from the site file alone: asked
    together by the check (facts.dns.start), and by the prefetch when the check is selected (QUERIES)."""
    d = site.deployment
    edge = [("external", d.access_edge_fqdn, "A")] if d.external_access == "edge" else []
    return [("internal", d.server_fqdn, "A"), *edge] + \
        [("external", name, rdtype) for domain in d.sip_domains for name, rdtype in _names_of(domain.lower())]


QUERIES: Dict[str, Callable[[Site], List[Tuple[str, str, str]]]] = {"dns.split": split_queries}


def _names_of(domain: str) -> List[Tuple[str, str]]:
    return ([(f"{p}.{domain}", "SRV") for p in PUBLIC_SRV] + [(f"sip.{domain}", "A")]
            + [(f"{p}.{domain}", "SRV") for p in INTERNAL_SRV])


def _judge_no_edge_domain(view: _View, found: Findings, domain: str) -> None:
    for name, rdtype in _names_of(domain):
        answer = view.lookup(name, rdtype)
        found.evidence.append(f"{name} {rdtype}: external {_summary(answer)}")
        if not answer.exists:
            continue
        found.published.append(f"{name} {rdtype} ({_summary(answer)})")
        found.exposed += view.exposure(f"{name} {rdtype}", *view.resolve(answer, found))
        found.fixes.append(_delete(domain, name, "CNAME" if answer.cname_chain and rdtype == "A" else rdtype))


def _is_edge(view: _View, target: str, edge: str, edge_addresses: Set[str], found: Findings) -> bool:
    if target == edge:
        return True
    return bool(edge_addresses & set(view.resolve(view.lookup(target, "A"), found)[1]))


def _judge_edge_domain(view: _View, found: Findings, domain: str, edge: str, edge_addresses: Set[str]) -> None:
    federation = view.ctx.site.deployment.federation
    # The Edge's name in this domain: the Access Edge FQDN when it is inside it, else sip.<d> (strict naming).
    target = edge if in_domain(edge, domain) else f"sip.{domain}"
    wanted = [("_sip._tls", EDGE_REMOTE_PORT, True)]
    if federation:
        wanted.append(("_sipfederationtls._tcp", EDGE_FEDERATION_PORT, False))
    for prefix, port, strict in wanted:
        name = f"{prefix}.{domain}"
        answer = view.lookup(name, "SRV")
        found.evidence.append(f"{name} SRV: external {_summary(answer)}")
        good = f"0 0 {port} {target}"
        if not answer.srv:
            found.failures.append(f"{name} SRV is missing from the public DNS")
            found.fixes.append(_add(domain, name, "SRV", good))
            continue
        for record in answer.srv:
            problems = []
            if record.port != port:
                problems.append(f"port {record.port}, not {port} (the Access Edge's)")
            if strict and not in_domain(record.target, domain):
                problems.append(f"target {record.target} is outside the SIP domain {domain} (strict naming)")
            if not _is_edge(view, record.target, edge, edge_addresses, found):
                problems.append(f"target {record.target} is not the Access Edge {edge}")
            if problems:
                found.failures.append(f"{name} SRV {record}: {'; '.join(problems)}")
                found.fixes += [f"dnscmd {EXTERNAL_DNS} /recorddelete {domain} {prefix} SRV {record} /f",
                                _add(domain, name, "SRV", good)]
        found.exposed += view.exposure(f"{name} SRV", *view.resolve(answer, found))
    if not federation:
        answer = view.lookup(f"_sipfederationtls._tcp.{domain}", "SRV")
        if answer.srv:
            found.evidence.append(f"_sipfederationtls._tcp.{domain} SRV: external {_summary(answer)} "
                                  "(published, though the site declares no federation)")
    sip = view.lookup(f"sip.{domain}", "A")
    found.evidence.append(f"sip.{domain} A: external {_summary(sip)}")
    public = [a for a in sip.addresses if not is_private_address(a)]
    if not public:
        found.failures.append(f"sip.{domain} does not resolve to a public address outside "
                              f"({', '.join(sip.addresses) or sip.rcode})")
        found.fixes.append(_add(domain, f"sip.{domain}", "CNAME", edge + ".") if f"sip.{domain}" != edge
                           else _add(domain, edge, "A", "<public address of the Access Edge>"))
    else:
        found.exposed += view.exposure(f"sip.{domain} A", list(sip.cname_chain), list(sip.addresses))
    for prefix in INTERNAL_SRV:
        answer = view.lookup(f"{prefix}.{domain}", "SRV")
        if answer.exists:
            found.evidence.append(f"{prefix}.{domain} SRV: external {_summary(answer)}")
            found.exposed.append(f"{prefix}.{domain} (an internal record) is published outside")
            found.fixes.append(_delete(domain, f"{prefix}.{domain}", "SRV"))
