"""Active Directory facts over LDAP: RootDSE, OCS schema and forest objects, ACLs, accounts, SIP users,
replication state — each a typed value from ``ocscheck.values.ad`` (recorded as its JSON form).

The connections are in ``connection`` (TLS before every bind, timeouts, a pool of bound connections per DC,
opened together); the paged SIP-user walk in ``users``, on a pooled connection. Each search takes a pooled
connection of its own, so the searches a fact makes, and the facts of a list (``together``), run together.
"""
from __future__ import annotations

import uuid
from functools import partial
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, TypeVar

from ocscheck.facts.background import parallel
from ocscheck.facts.ldap.connection import DcConnections, Find, attr_bool, attr_int, attr_text, target
from ocscheck.facts.ldap.users import iter_sip_users, summarise
from ocscheck.facts.lazy import lazy
from ocscheck.facts.store import FactUnavailable, Reason
from ocscheck.values import repsfrom, secdesc
from ocscheck.values.ad import (RTC_CLASSES, Account, DomainController, DomainPolicy, ReplicationState, RootDse,
                                RtcGroup, RtcObject, RtcService, RtcTree, SchemaVersion, SipUserSummary)
from ocscheck.values.adtime import RTC_GROUPS, generalized_time
from ocscheck.values.pki import PublishedCas

# Network clients load when a fetch first runs, not for a replay (ocscheck.facts.lazy).
ldap3 = lazy("ldap3")
_ms = lazy("ldap3.protocol.microsoft")
_conv = lazy("ldap3.utils.conv")

X = TypeVar("X")
T = TypeVar("T")

SDFLAGS_DACL = 0x04
SERVICE_CLASS = "msRTCSIP-Service"
_RTC_ATTRIBUTES = ("objectClass", "msRTCSIP-DomainName", "msRTCSIP-Default", "dNSHostName", "msRTCSIP-PoolType",
                   "msRTCSIP-PoolVersion", "msRTCSIP-PoolDisplayName")
_ROOTDSE_INT = ("forestFunctionality", "domainFunctionality", "domainControllerFunctionality")
_ROOTDSE_TEXT = ("defaultNamingContext", "configurationNamingContext", "schemaNamingContext",
                 "rootDomainNamingContext", "dnsHostName", "dsServiceName", "serverName", "currentTime")


def key(url: str, what: str) -> str:
    """The recording key of the LDAP fact ``what`` read from the DC at ``url``."""
    return f"ldap:{url.rstrip('/')}:{what}"


class LdapFacts:
    def __init__(self, facts) -> None:
        self._facts = facts
        self._store = facts.store
        self._settings = facts.site.ldap
        self._dcs = DcConnections(self._settings, facts.site.tls.ca_bundle, facts.timeout,
                                  lambda: facts.secret(self._settings.password_env,
                                                       f"LDAP password for {self._settings.user}"))

    @property
    def url(self) -> str:
        return self._settings.url.rstrip("/")

    def expect(self, searches: int, url: Optional[str] = None) -> None:
        """Size the pool of the DC at ``url`` (the site's by default) for about ``searches`` searches at once
        (see ``connection``), before its first lookup."""
        self._dcs.expect(searches, url or self.url)

    def _get(self, what: str, fetch: Callable[[Find], Any], url: Optional[str] = None) -> Any:
        """The recorded value of ``what`` at ``url`` (the site's DC by default), fetched by searches on its pool."""
        url = (url or self.url).rstrip("/")
        return self._store.get(key(url, what), lambda: fetch(partial(self._dcs.search, url)))

    def _parallel(self, calls: List[Callable[[], T]]) -> List[T]:
        if self._store.replaying:  # a recording answers at once: threads would only cost time
            return [call() for call in calls]
        return parallel(calls, self._store.waiting)

    def together(self, read: Callable[[X], T], items: Iterable[X]) -> List[T]:
        """``read(item)`` for every item, the reads in flight together (each fact memoised and recorded as
        when read alone): the values in the items' order, the first failure in that order raised."""
        return self._parallel([partial(read, item) for item in items])

    def close(self) -> None:
        """Unbind every DC connection of the run (Facts.close, once the checks are done)."""
        self._dcs.close()

    # ------------------------------------------------------------------------------------ facts

    def rootdse(self, url: Optional[str] = None) -> RootDse:
        return RootDse.from_json(self._get("rootdse", _fetch_rootdse, url))

    def schema_version(self, url: Optional[str] = None) -> Optional[SchemaVersion]:
        """ms-RTC-SIP-SchemaVersion's range as the DC at ``url`` (the site's by default) holds it, or None
        when the schema is not prepared."""
        schema = self.rootdse(url).schema_nc

        def fetch(find: Find):
            found = find(f"CN=ms-RTC-SIP-SchemaVersion,{schema}", "(objectClass=*)", ldap3.BASE,
                         ("rangeUpper", "rangeLower"))
            if not found:
                return None
            return SchemaVersion(attr_int(found[0][1], "rangeUpper"), attr_int(found[0][1], "rangeLower")).to_json()

        data = self._get("schema-version", fetch, url)
        return None if data is None else SchemaVersion.from_json(data)

    def rtc_objects(self, url: Optional[str] = None) -> RtcTree:
        """The forest-prep tree as the DC at ``url`` (the site's by default) holds it: RTC Service containers
        (with partition) and the objects beneath them."""
        dse = self.rootdse(url)
        bases = (("system", f"CN=System,{dse.root_domain_nc}"),
                 ("configuration", f"CN=Services,{dse.configuration_nc}"))

        def fetch(find: Find):
            # One search per partition, both at once, for the RTC Services and the RTC objects together: each
            # service gets the objects beneath it, as a subtree search under it would return them.
            flt = "(|" + "".join(f"(objectClass={c})" for c in (SERVICE_CLASS, *RTC_CLASSES)) + ")"
            found = self._parallel([partial(find, base, flt, ldap3.SUBTREE, _RTC_ATTRIBUTES) for _, base in bases])
            services, objects = [], []
            for (partition, _), entries in zip(bases, found):
                split = [(dn, raw, SERVICE_CLASS.lower() in _classes(raw)) for dn, raw in entries]
                for service in (dn for dn, _, is_service in split if is_service):
                    services.append(RtcService(service, partition))
                    objects += [_rtc_object(dn, service, raw) for dn, raw, is_service in split
                                if not is_service and dn.lower().endswith("," + service.lower())]
            return RtcTree(tuple(services), tuple(objects)).to_json()

        return RtcTree.from_json(self._get("rtc", fetch, url))

    def rtc_groups(self) -> List[RtcGroup]:
        """The forest-prep universal groups found in the domain, by name."""
        base = self.rootdse().default_nc

        def fetch(find: Find):
            flt = "(&(objectClass=group)(|" + "".join(f"(sAMAccountName={g})" for g in RTC_GROUPS) + "))"
            groups = []
            for dn, raw in find(base, flt, ldap3.SUBTREE, ("sAMAccountName", "objectSid", "groupType")):
                sid = raw.get("objectSid", [b""])[0]
                groups.append(RtcGroup(attr_text(raw, "sAMAccountName") or "", dn,
                                       secdesc.parse_sid(sid)[0] if sid else None, attr_int(raw, "groupType")))
            return [g.to_json() for g in sorted(groups, key=lambda g: g.name.lower())]

        return [RtcGroup.from_json(g) for g in self._get("rtc-groups", fetch)]

    def dacl(self, dn: str) -> Optional[List[secdesc.Ace]]:
        """The DACL of ``dn`` (SD flags control: DACL only, readable without SeSecurityPrivilege);
        None when the object does not exist."""

        def fetch(find: Find):
            found = find(dn, "(objectClass=*)", ldap3.BASE, ("nTSecurityDescriptor",),
                         controls=_ms.security_descriptor_control(sdflags=SDFLAGS_DACL))
            if not found:
                return None
            values = found[0][1].get("nTSecurityDescriptor") or []
            if not values:
                raise FactUnavailable(Reason.REFUSED, f"{dn}: nTSecurityDescriptor not returned to "
                                                      f"{self._settings.user} (no read-control right?)")
            try:
                descriptor = secdesc.parse(values[0])
            except secdesc.SecurityDescriptorError as exc:
                raise FactUnavailable(Reason.PROTOCOL, f"{dn}: unreadable nTSecurityDescriptor: {exc}") from None
            return [ace.to_json() for ace in descriptor.dacl or ()]

        data = self._get(f"dacl:{dn}", fetch)
        return None if data is None else [secdesc.Ace.from_json(a) for a in data]

    def domain_policy(self) -> DomainPolicy:
        """maxPwdAge, lockoutDuration, lockoutThreshold of the domain."""
        base = self.rootdse().default_nc

        def fetch(find: Find):
            found = find(base, "(objectClass=*)", ldap3.BASE, ("maxPwdAge", "lockoutDuration", "lockoutThreshold"),
                         missing_ok=False)
            raw = found[0][1] if found else {}
            return DomainPolicy(attr_int(raw, "maxPwdAge"), attr_int(raw, "lockoutDuration"),
                                attr_int(raw, "lockoutThreshold")).to_json()

        return DomainPolicy.from_json(self._get("domain-policy", fetch))

    def account(self, sam_account_name: str) -> Optional[Account]:
        """The account's state attributes, or None when no such account exists in the domain."""
        base = self.rootdse().default_nc

        def fetch(find: Find):
            flt = f"(&(objectClass=user)(sAMAccountName={_conv.escape_filter_chars(sam_account_name)}))"
            found = find(base, flt, ldap3.SUBTREE, Account.attributes())
            if not found:
                return None
            dn, raw = found[0]
            return Account.from_json({"dn": dn, **{name: attr_int(raw, name) for name in Account.attributes()}}
                                     ).to_json()

        data = self._get(f"account:{sam_account_name.lower()}", fetch)
        return None if data is None else Account.from_json(data)

    def sip_users(self) -> SipUserSummary:
        """A summary of every SIP-enabled user, built while paging through the directory (see ``users``)."""
        return SipUserSummary.from_json(self._store.get(key(self.url, "sip-users"), self._walk_sip_users))

    def _walk_sip_users(self) -> Dict[str, Any]:
        base = self.rootdse().default_nc
        # One pooled connection for the whole walk: the pages follow each other on it (the paging cookie is the
        # session's), while the other facts use the pool's other connections.
        return self._dcs.run(self.url, lambda conn: summarise(iter_sip_users(conn, base, self._settings.page_size),
                                                             conn, base))

    # ------------------------------------------------------------------------------ replication

    def replication_state(self) -> ReplicationState:
        """Inbound links (repsFrom of every naming-context head) of the site's DC and replication_dcs, read
        together."""
        urls = [self.url] + [u.rstrip("/") for u in self._settings.replication_dcs if u.rstrip("/") != self.url]

        def read(url: str) -> Tuple[List[Dict[str, Any]], Optional[str]]:
            try:
                return self._repsfrom(url), None
            except FactUnavailable as exc:
                if url == self.url:
                    raise
                return [], str(exc)

        links: List[Dict[str, Any]] = []
        unreadable: List[Tuple[str, str]] = []
        for url, (found, why) in zip(urls, self.together(read, urls)):
            links += found
            if why is not None:
                unreadable.append((url, why))
        return ReplicationState.from_json({"links": links, "unreadable": unreadable, "dsa_count": len(self._dsas())})

    def _repsfrom(self, url: str) -> List[Dict[str, Any]]:
        """The inbound links of the DC at ``url``: repsFrom of its naming-context heads, read together with the
        forest's DCs (which name each link's source)."""
        dse = self.rootdse(url)
        destination = dse.dns_host_name or url

        def fetch(find: Find) -> List[Dict[str, Any]]:
            dsas, *heads = self._parallel([self._dsas] + [partial(find, nc, "(objectClass=*)", ldap3.BASE,
                                                                  ("repsFrom",)) for nc in dse.naming_contexts])
            links = []
            for nc, found in zip(dse.naming_contexts, heads):
                for value in (found[0][1].get("repsFrom", []) if found else []):
                    try:
                        reps = repsfrom.parse(value)
                    except repsfrom.RepsFromError as exc:
                        raise FactUnavailable(Reason.PROTOCOL, f"{url}: repsFrom of {nc}: {exc}") from None
                    source = dsas.get(reps.source_dsa_guid) or reps.source_address or reps.source_dsa_guid
                    links.append(reps.link(destination, source, nc).to_json())
            return links

        return self._get("repsfrom", fetch, url)

    def domain_controllers(self) -> Tuple[DomainController, ...]:
        """Every DC of the forest: the nTDSDSA objects of the configuration NC (as the site's DC lists them)."""
        return tuple(sorted((DomainController(name, guid) for guid, name in self._dsas().items()),
                            key=lambda dc: dc.name.lower()))

    def dc_url(self, name: str) -> str:
        """How to reach the DC ``name``: the site's URL when it is that DC; a [ldap] replication_dcs URL naming
        it (by host, or by its RootDSE dnsHostName, for DCs whose names do not resolve here); else the site
        URL's scheme and port on that name."""
        wanted = name.lower()
        if self.rootdse().dns_host_name.lower() == wanted:
            return self.url
        listed = [u.rstrip("/") for u in self._settings.replication_dcs]
        for url in listed:
            if target(url).host.lower() == wanted:
                return url
        for url in listed:
            try:
                if self.rootdse(url).dns_host_name.lower() == wanted:
                    return url
            except FactUnavailable:
                continue  # an unreachable listed DC cannot say which it is
        site = target(self.url)
        default_port = 636 if site.ldaps else 389
        port = f":{site.port}" if site.port != default_port else ""
        return f"{'ldaps' if site.ldaps else 'ldap'}://{name}{port}"

    def _dsas(self) -> Dict[str, str]:
        """objectGUID of each NTDS Settings object -> its server's dNSHostName."""
        config = self.rootdse().configuration_nc

        def fetch(find: Find):
            servers, dsas = self._parallel([
                partial(find, f"CN=Sites,{config}", "(objectClass=server)", ldap3.SUBTREE, ("dNSHostName",)),
                partial(find, f"CN=Sites,{config}", "(objectClass=nTDSDSA)", ldap3.SUBTREE, ("objectGUID",))])
            names = {dn.lower(): attr_text(raw, "dNSHostName") or dn for dn, raw in servers}
            result = {}
            for dn, raw in dsas:
                guid = str(uuid.UUID(bytes_le=raw["objectGUID"][0]))
                result[guid] = names.get(dn.split(",", 1)[1].lower(), dn)
            return result

        return self._get("dsas", fetch)

    def published_cas(self) -> PublishedCas:
        """The CA certificates published in AD for every member (cert.ca-published; see ``pki``)."""
        from ocscheck.facts.ldap.pki import fetch_published_cas

        config = self.rootdse().configuration_nc
        return PublishedCas.from_json(self._get("published-cas",
                                                lambda find: fetch_published_cas(find, self._parallel, config)))


def _classes(raw: Dict[str, List[bytes]]) -> List[str]:
    return [v.decode().lower() for v in raw.get("objectClass", [])]


def _rtc_object(dn: str, service: str, raw: Dict[str, List[bytes]]) -> RtcObject:
    classes = [v.decode() for v in raw.get("objectClass", [])]
    return RtcObject(dn, service, next((c for c in RTC_CLASSES if c in classes), classes[-1] if classes else ""),
                     domain_name=attr_text(raw, "msRTCSIP-DomainName"), default=attr_bool(raw, "msRTCSIP-Default"),
                     dns_host_name=attr_text(raw, "dNSHostName"), pool_type=attr_int(raw, "msRTCSIP-PoolType"),
                     pool_version=attr_int(raw, "msRTCSIP-PoolVersion"),
                     display_name=attr_text(raw, "msRTCSIP-PoolDisplayName"))


def _fetch_rootdse(find: Find) -> Dict[str, Any]:
    entries = find("", "(objectClass=*)", ldap3.BASE, (*_ROOTDSE_INT, *_ROOTDSE_TEXT, "namingContexts"),
                   missing_ok=False)
    if not entries:
        raise FactUnavailable(Reason.PROTOCOL, "the RootDSE returned no entry")
    raw = entries[0][1]
    current = attr_text(raw, "currentTime")
    return RootDse(*(attr_int(raw, name) for name in _ROOTDSE_INT),
                   default_nc=attr_text(raw, "defaultNamingContext") or "",
                   configuration_nc=attr_text(raw, "configurationNamingContext") or "",
                   schema_nc=attr_text(raw, "schemaNamingContext") or "",
                   root_domain_nc=attr_text(raw, "rootDomainNamingContext") or "",
                   naming_contexts=tuple(v.decode() for v in raw.get("namingContexts", [])),
                   dns_host_name=attr_text(raw, "dnsHostName") or "",
                   current_time=generalized_time(current) if current else None).to_json()

