"""Active Directory objects as the AD checks read them: the RootDSE, the OCS schema version, the
forest-prep tree (RTC Service, Global Settings, SIP domains, pools), the RTC universal groups, the
domain's password policy, a service account, the SIP-user summary and the replication state.

Each value round-trips through a recording: ``to_json`` gives the recorded form and ``from_json``
reads it back. The recorded forms are those of earlier versions (LDAP attribute names where the
first recordings used them), so an old recording still replays.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, FrozenSet, List, Optional, Tuple, Union

from ocscheck.values.replication import ReplicationLink

POOL_CLASS = "msRTCSIP-Pool"
POOLS_CLASS = "msRTCSIP-Pools"
DOMAIN_CLASS = "msRTCSIP-Domain"
GLOBAL_SETTINGS_CLASS = "msRTCSIP-GlobalContainer"
RTC_CLASSES = (GLOBAL_SETTINGS_CLASS, DOMAIN_CLASS, POOLS_CLASS, POOL_CLASS)


@dataclass(frozen=True)
class RootDse:
    forest_level: Optional[int]
    domain_level: Optional[int]
    dc_level: Optional[int]
    default_nc: str
    configuration_nc: str
    schema_nc: str
    root_domain_nc: str
    naming_contexts: Tuple[str, ...]
    dns_host_name: str
    current_time: Optional[str]     # the DC's clock, ISO 8601 UTC (ages are judged on the run clock)

    def to_json(self) -> Dict[str, Any]:
        return {"forestFunctionality": self.forest_level, "domainFunctionality": self.domain_level,
                "domainControllerFunctionality": self.dc_level, "defaultNamingContext": self.default_nc,
                "configurationNamingContext": self.configuration_nc, "schemaNamingContext": self.schema_nc,
                "rootDomainNamingContext": self.root_domain_nc, "namingContexts": list(self.naming_contexts),
                "dnsHostName": self.dns_host_name, "currentTime": self.current_time}

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "RootDse":
        return cls(data["forestFunctionality"], data["domainFunctionality"], data["domainControllerFunctionality"],
                   data["defaultNamingContext"], data["configurationNamingContext"], data["schemaNamingContext"],
                   data["rootDomainNamingContext"], tuple(data["namingContexts"]), data["dnsHostName"],
                   data["currentTime"])


@dataclass(frozen=True)
class SchemaVersion:
    """rangeUpper / rangeLower of ms-RTC-SIP-SchemaVersion: which product prepared the schema."""

    range_upper: Optional[int]
    range_lower: Optional[int]

    def to_json(self) -> Dict[str, Any]:
        return {"rangeUpper": self.range_upper, "rangeLower": self.range_lower}

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "SchemaVersion":
        return cls(data["rangeUpper"], data["rangeLower"])


@dataclass(frozen=True)
class RtcService:
    dn: str
    partition: str                  # "system" or "configuration"


@dataclass(frozen=True)
class RtcObject:
    """An object beneath an RTC Service: Global Settings, a SIP domain, the Pools container or a pool.
    Only the attributes of its class are set."""

    dn: str
    service: str                    # DN of the RTC Service it is under
    object_class: str               # one of RTC_CLASSES (or the most specific class found)
    domain_name: Optional[str] = None       # msRTCSIP-Domain
    default: Optional[bool] = None          # msRTCSIP-Domain: the default SIP domain
    dns_host_name: Optional[str] = None     # msRTCSIP-Pool
    pool_type: Optional[int] = None
    pool_version: Optional[int] = None
    display_name: Optional[str] = None

    def to_json(self) -> Dict[str, Any]:
        data = asdict(self)
        data["class"] = data.pop("object_class")
        return data

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "RtcObject":
        fields = dict(data)
        return cls(object_class=fields.pop("class"), **fields)


@dataclass(frozen=True)
class RtcTree:
    """What forest preparation wrote: the RTC Service container(s) and the objects beneath them."""

    services: Tuple[RtcService, ...]
    objects: Tuple[RtcObject, ...]

    def of_class(self, object_class: str) -> List[RtcObject]:
        return [o for o in self.objects if o.object_class == object_class]

    @property
    def pools(self) -> List[RtcObject]:
        return self.of_class(POOL_CLASS)

    @property
    def sip_domains(self) -> List[RtcObject]:
        """The msRTCSIP-Domain objects that name a domain."""
        return [o for o in self.of_class(DOMAIN_CLASS) if o.domain_name]

    def has_global_settings(self, service: RtcService) -> bool:
        return any(o.service == service.dn for o in self.of_class(GLOBAL_SETTINGS_CLASS))

    def to_json(self) -> Dict[str, Any]:
        return {"services": [asdict(s) for s in self.services], "objects": [o.to_json() for o in self.objects]}

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "RtcTree":
        return cls(tuple(RtcService(**s) for s in data["services"]),
                   tuple(RtcObject.from_json(o) for o in data["objects"]))


@dataclass(frozen=True)
class RtcGroup:
    """A forest-prep universal group found in the domain."""

    name: str
    dn: str
    sid: Optional[str]
    group_type: Optional[int]

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "RtcGroup":
        return cls(**data)


@dataclass(frozen=True)
class DomainPolicy:
    """The domain's password and lockout policy, as AD stores it (negative 100 ns intervals)."""

    max_pwd_age: Optional[int]
    lockout_duration: Optional[int]
    lockout_threshold: Optional[int]

    def to_json(self) -> Dict[str, Any]:
        return {"maxPwdAge": self.max_pwd_age, "lockoutDuration": self.lockout_duration,
                "lockoutThreshold": self.lockout_threshold}

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "DomainPolicy":
        return cls(data["maxPwdAge"], data["lockoutDuration"], data["lockoutThreshold"])


# Recorded attribute names of an account, and the fields that hold them.
_ACCOUNT_FIELDS = (("userAccountControl", "user_account_control"), ("pwdLastSet", "pwd_last_set"),
                   ("lockoutTime", "lockout_time"), ("accountExpires", "account_expires"),
                   ("msDS-UserPasswordExpiryTimeComputed", "password_expiry_computed"),
                   ("msDS-User-Account-Control-Computed", "account_control_computed"))


@dataclass(frozen=True)
class Account:
    """A user account's state attributes (FILETIMEs as AD stores them; None when not returned)."""

    dn: str
    user_account_control: Optional[int] = None
    pwd_last_set: Optional[int] = None
    lockout_time: Optional[int] = None
    account_expires: Optional[int] = None
    password_expiry_computed: Optional[int] = None   # 2008+ DCs compute it (fine-grained policies included)
    account_control_computed: Optional[int] = None   # lockout / password-expired flags, 2003+ DCs

    @staticmethod
    def attributes() -> Tuple[str, ...]:
        """The LDAP attributes an Account is read from."""
        return tuple(name for name, _ in _ACCOUNT_FIELDS)

    def to_json(self) -> Dict[str, Any]:
        return {"dn": self.dn, **{name: getattr(self, attr) for name, attr in _ACCOUNT_FIELDS}}

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "Account":
        return cls(data["dn"], **{attr: data.get(name) for name, attr in _ACCOUNT_FIELDS})


# One sampled item: a DN, or (DN, URI) for a malformed URI, or (DN, URI, mail) for a mail mismatch.
SampleItem = Union[str, Tuple[str, ...]]


@dataclass(frozen=True)
class UserSample:
    """How many users are in a category, and the first few of them (evidence, not the directory)."""

    count: int = 0
    sample: Tuple[SampleItem, ...] = ()

    def to_json(self) -> Dict[str, Any]:
        return {"count": self.count, "sample": [item if isinstance(item, str) else list(item) for item in self.sample]}

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "UserSample":
        return cls(data["count"], tuple(item if isinstance(item, str) else tuple(item) for item in data["sample"]))


@dataclass(frozen=True)
class SipUserSummary:
    """Every SIP-enabled user, summarised while paging through the directory."""

    total: int
    domains: Dict[str, UserSample]        # SIP domain of the URI (lower case) -> its users
    home_servers: Dict[str, UserSample]   # msRTCSIP-PrimaryHomeServer DN -> its users
    no_home: UserSample
    malformed: UserSample                 # items (DN, URI)
    mail_mismatch: UserSample             # items (DN, URI, mail)
    no_mail: UserSample
    duplicates: Dict[str, Tuple[str, ...]] = field(default_factory=dict)   # URI -> the DNs of its owners
    # AD-disabled accounts (userAccountControl 0x2) still SIP-enabled: counted in total, in no other
    # category (they cannot sign in), and not valid. Recordings made before it was read replay as none.
    disabled: UserSample = field(default_factory=UserSample)

    @property
    def valid_candidates(self) -> int:
        """SIP-enabled users whose AD account is enabled."""
        return self.total - self.disabled.count

    def to_json(self) -> Dict[str, Any]:
        return {"total": self.total,
                "domains": {k: v.to_json() for k, v in self.domains.items()},
                "home_servers": {k: v.to_json() for k, v in self.home_servers.items()},
                "no_home": self.no_home.to_json(), "malformed": self.malformed.to_json(),
                "mail_mismatch": self.mail_mismatch.to_json(), "no_mail": self.no_mail.to_json(),
                "duplicates": {k: list(v) for k, v in self.duplicates.items()},
                "disabled": self.disabled.to_json()}

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "SipUserSummary":
        return cls(data["total"], {k: UserSample.from_json(v) for k, v in data["domains"].items()},
                   {k: UserSample.from_json(v) for k, v in data["home_servers"].items()},
                   UserSample.from_json(data["no_home"]), UserSample.from_json(data["malformed"]),
                   UserSample.from_json(data["mail_mismatch"]), UserSample.from_json(data["no_mail"]),
                   {k: tuple(v) for k, v in data["duplicates"].items()},
                   UserSample.from_json(data["disabled"]) if "disabled" in data else UserSample())


@dataclass(frozen=True)
class ReplicationState:
    links: Tuple[ReplicationLink, ...]
    unreadable: Tuple[Tuple[str, str], ...]  # (DC URL, why) for DCs whose repsFrom could not be read
    dsa_count: int                           # DCs (nTDSDSA objects) in the forest

    def to_json(self) -> Dict[str, Any]:
        return {"links": [link.to_json() for link in self.links],
                "unreadable": [list(u) for u in self.unreadable], "dsa_count": self.dsa_count}

    @classmethod
    def from_json(cls, data: Dict[str, Any]) -> "ReplicationState":
        return cls(tuple(ReplicationLink.from_json(link) for link in data["links"]),
                   tuple((u, w) for u, w in data["unreadable"]), data["dsa_count"])


@dataclass(frozen=True)
class DomainController:
    """A DC of the forest: an nTDSDSA object of the configuration NC, named by its server's dNSHostName."""

    name: str
    dsa_guid: str


@dataclass(frozen=True)
class PrepContent:
    """What OCS preparation left that one DC holds: the schema version and the RTC Service content."""

    schema_upper: Optional[int]                 # rangeUpper of ms-RTC-SIP-SchemaVersion; None: not prepared
    partitions: FrozenSet[str]                  # where an RTC Service is: "system", "configuration"
    sip_domains: FrozenSet[str]                 # msRTCSIP-DomainName, lower case
    pools: FrozenSet[str]                       # pool dNSHostName (or DN), lower case

    @classmethod
    def of(cls, schema: Optional[SchemaVersion], tree: RtcTree) -> "PrepContent":
        return cls(schema.range_upper if schema else None, frozenset(s.partition for s in tree.services),
                   frozenset((o.domain_name or "").lower() for o in tree.sip_domains),
                   frozenset((p.dns_host_name or p.dn).lower() for p in tree.pools))

    def describe(self) -> str:
        schema = f"schema {self.schema_upper}" if self.schema_upper is not None else "schema not prepared"
        where = "/".join(sorted(self.partitions)) or "no RTC Service"
        return (f"{schema}; RTC Service: {where}; SIP domains: {', '.join(sorted(self.sip_domains)) or 'none'}; "
                f"pools: {', '.join(sorted(self.pools)) or 'none'}")

    def differences(self, reference: "PrepContent", compare_rtc: bool = True) -> List[Tuple[str, str, str]]:
        """(what differs, the naming context it lives in: schema, configuration or system, which side is
        behind: "dc" for this DC, "site" for the site's DC) against ``reference`` (the site's DC); empty when
        this DC holds the same."""
        found = []
        if self.schema_upper != reference.schema_upper:
            mine = self.schema_upper if self.schema_upper is not None else "none (not prepared)"
            behind = "dc" if self.schema_upper is None or (reference.schema_upper or 0) > self.schema_upper else "site"
            found.append((f"schema version {mine}, the site's DC {reference.schema_upper}", "schema", behind))
        if not compare_rtc:
            return found
        rtc_nc = "system" if reference.partitions == {"system"} else "configuration"
        for partition in sorted(reference.partitions - self.partitions):
            found.append((f"lacks the RTC Service in the {partition} partition (forest prep)", partition, "dc"))
        for partition in sorted(self.partitions - reference.partitions):
            found.append((f"holds an RTC Service in the {partition} partition that the site's DC lacks", partition,
                          "site"))
        for label, mine, theirs in (("SIP domain(s)", self.sip_domains, reference.sip_domains),
                                    ("pool(s)", self.pools, reference.pools)):
            if theirs - mine:
                found.append((f"lacks {label} {', '.join(sorted(theirs - mine))}", rtc_nc, "dc"))
            if mine - theirs:
                found.append((f"holds {label} {', '.join(sorted(mine - theirs))} that the site's DC lacks", rtc_nc,
                              "site"))
        return found
