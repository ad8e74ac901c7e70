"""DNS facts: what the internal and the external resolvers answer (dnspython).

A fact is one query (view, name, type); its recorded value is the answer in plain JSON.
dnspython's resolver retries over TCP when a UDP answer is truncated.
"""
from __future__ import annotations

import threading
from functools import partial
from typing import Any, Dict, Iterable, List, Set, Tuple

from ocscheck.config import Endpoint
from ocscheck.facts import background
from ocscheck.facts.lazy import lazy
from ocscheck.facts.store import FactUnavailable, Reason
from ocscheck.values.dns import DnsAnswer, SoaRecord, ZoneAnswer

# dnspython loads with the first query, not for a replay.
dns = lazy("dns", "exception", "flags", "message", "nameserver", "name", "query", "rcode", "rdatatype", "resolver")

Query = Tuple[str, str, str]  # (view, name, record type), as DnsFacts.lookup takes them


def key(view: str, name: str, rdtype: str) -> str:
    """The recording key of a DNS query: ``view`` (internal or external), ``name``, record type."""
    return f"dns:{view}:{name.rstrip('.').lower()}:{rdtype}"


def zone_key(view: str, name: str) -> str:
    """The recording key of the SOA query for ``name`` put to each resolver of ``view`` (DnsFacts.zone)."""
    return key(view, name, "SOA-each")


class DnsFacts:
    def __init__(self, facts) -> None:
        self._facts = facts
        self._store = facts.store
        self._settings = facts.site.dns
        self._lock = threading.Lock()
        self._asked: Set[Query] = set()

    def resolvers(self, view: str) -> Tuple[Endpoint, ...]:
        return self._settings.internal if view == "internal" else self._settings.external

    def lookup(self, view: str, name: str, rdtype: str) -> DnsAnswer:
        """The answer of ``view``'s resolvers for ``name``/``rdtype`` (memoised, recorded)."""
        name = name.rstrip(".").lower()
        data = self._store.get(key(view, name, rdtype), lambda: self._query(view, name, rdtype))
        return DnsAnswer.from_json(view, name, rdtype, data)

    def start(self, queries: Iterable[Query]) -> None:
        """Ask ``queries`` now, all at once, each in the background; read them with ``lookup`` as before (a
        read waits for the answer under way). What a check reads from a list of names, asked together."""
        wanted = dict.fromkeys((view, name.rstrip(".").lower(), rdtype) for view, name, rdtype in queries)
        with self._lock:
            new = [query for query in wanted if query not in self._asked]
            self._asked.update(new)
        background.start(self._store, [lambda query=query: self.lookup(*query) for query in new])

    def addresses(self, view: str, name: str) -> Tuple[str, ...]:
        return self.lookup(view, name, "A").addresses

    def zone(self, view: str, name: str) -> Tuple[ZoneAnswer, ...]:
        """Each resolver's answer to an SOA query for ``name`` (does it host the zone?), asked one by one:
        unlike ``lookup``, a resolver that does not know the zone must not hide behind one that does."""
        name = name.rstrip(".").lower()
        data = self._store.get(zone_key(view, name), lambda: self._query_zone(view, name))
        return tuple(ZoneAnswer.from_json(a) for a in data)

    def _query_zone(self, view: str, name: str) -> List[Dict[str, Any]]:
        endpoints = self.resolvers(view)
        if not endpoints:
            raise FactUnavailable(Reason.NOT_CONFIGURED, f"no {view} DNS resolver in the site file ([dns] {view})")
        timeout = self._facts.timeout
        # In parallel, so that several silent resolvers cost one timeout, not one each.
        answers = background.parallel([partial(_soa_answer, e, name, timeout) for e in endpoints], self._store.waiting)
        if all(a.error for a in answers):
            reason = Reason.TIMEOUT if all("no answer within" in a.error for a in answers) else Reason.UNREACHABLE
            raise FactUnavailable(reason, f"{name} SOA: " + "; ".join(f"{a.server}: {a.error}" for a in answers))
        return [a.to_json() for a in answers]

    def _query(self, view: str, name: str, rdtype: str) -> Dict[str, Any]:
        endpoints = self.resolvers(view)
        if not endpoints:
            raise FactUnavailable(Reason.NOT_CONFIGURED, f"no {view} DNS resolver in the site file ([dns] {view})")
        timeout = self._facts.timeout
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(e.host, e.port) for e in endpoints]
        resolver.lifetime = timeout
        resolver.timeout = max(timeout / 3, 0.5)  # leave room to try a second resolver or TCP
        servers = ", ".join(str(e) for e in endpoints)
        try:
            answer = resolver.resolve(name, rdtype, search=False, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN as exc:
            return {"rcode": "NXDOMAIN", "cname_chain": _chain_of(exc.responses(), name), "addresses": [],
                    "srv": [], "server": servers}
        except dns.resolver.LifetimeTimeout:
            raise FactUnavailable(Reason.TIMEOUT, f"no DNS answer from {servers} within {timeout:g} s "
                                                  f"for {name} {rdtype}") from None
        except dns.resolver.NoNameservers as exc:
            raise FactUnavailable(Reason.REFUSED, f"{view} resolvers {servers} failed {name} {rdtype}: "
                                                  f"{_errors(exc)}") from None
        except dns.exception.DNSException as exc:
            raise FactUnavailable(Reason.PROTOCOL, f"{name} {rdtype} via {servers}: {exc}") from None
        response = answer.response
        chain = _chain_of({answer.qname: response}, name)
        end = dns.name.from_text(chain[-1] if chain else name)
        addresses: List[str] = []
        srv: List[Dict[str, Any]] = []
        for rrset in response.answer:
            if rrset.name != end:
                continue
            if rrset.rdtype == dns.rdatatype.A:
                addresses += [r.address for r in rrset]
            elif rrset.rdtype == dns.rdatatype.SRV:
                srv += [{"priority": r.priority, "weight": r.weight, "port": r.port,
                         "target": r.target.to_text(omit_final_dot=True).lower()} for r in rrset]
        srv.sort(key=lambda s: (s["priority"], -s["weight"], s["target"], s["port"]))
        return {"rcode": "NOERROR", "cname_chain": chain, "addresses": sorted(addresses), "srv": srv,
                "server": f"{answer.nameserver}:{answer.port}"}


def _soa_answer(endpoint: Endpoint, name: str, timeout: float) -> ZoneAnswer:
    """One resolver's SOA answer for ``name`` (UDP, TCP when truncated); its failure is kept, not raised."""
    server = str(endpoint)
    qname = dns.name.from_text(name)
    try:
        response, _ = dns.query.udp_with_fallback(dns.message.make_query(qname, dns.rdatatype.SOA), endpoint.host,
                                                  timeout=timeout, port=endpoint.port)
    except dns.exception.Timeout:
        return ZoneAnswer(name, server, "", False, error=f"no answer within {timeout:g} s")
    except (OSError, dns.exception.DNSException) as exc:
        return ZoneAnswer(name, server, "", False, error=f"{type(exc).__name__}: {exc}"[:300])
    soa = None
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.SOA and rrset.name == qname:
            record = rrset[0]
            soa = SoaRecord(name, record.mname.to_text(omit_final_dot=True).lower(),
                            record.rname.to_text(omit_final_dot=True).lower(), record.serial)
    enclosing = next((r.name.to_text(omit_final_dot=True).lower() for r in response.authority
                      if r.rdtype == dns.rdatatype.SOA), "")
    return ZoneAnswer(name, server, dns.rcode.to_text(response.rcode()), bool(response.flags & dns.flags.AA),
                      soa, enclosing)


def _chain_of(responses: Dict[Any, Any], name: str) -> List[str]:
    """CNAME targets followed from ``name`` inside the response(s)."""
    chain: List[str] = []
    current = dns.name.from_text(name)
    for response in responses.values():
        seen = True
        while seen:
            seen = False
            for rrset in response.answer:
                if rrset.name == current and rrset.rdtype == dns.rdatatype.CNAME:
                    current = rrset[0].target
                    chain.append(current.to_text(omit_final_dot=True).lower())
                    seen = len(chain) < 16
                    break
    return chain


def _errors(exc: dns.resolver.NoNameservers) -> str:
    errors = exc.kwargs.get("errors") or []
    texts = []
    for error in errors:
        # (nameserver, tcp, port, exception, answer) in dnspython 2.x
        server, port, problem = error[0], error[2], error[3]
        texts.append(f"{server}:{port} {problem}")
    return "; ".join(texts) or str(exc)
