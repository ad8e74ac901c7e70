"""The site file's schema: each section a frozen dataclass whose fields carry their TOML kind, documentation
and validation in metadata (``opt``), so one schema validates the file, documents it and lets ``ocscheck init``
write it."""
from __future__ import annotations

import dataclasses
import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Collection, Dict, List, Optional, Sequence, Tuple

from ocscheck.values.names import escape_controls, fqdn_problems

DEFAULT_FEATURES_2008R2 = ("Web-WebServer", "Web-Asp-Net", "Web-Windows-Auth", "Web-Mgmt-Tools",
                           "Web-Mgmt-Compat", "NET-Framework-Core", "MSMQ-Server", "RSAT-ADDS",
                           "Desktop-Experience")
DEFAULT_OCS_SERVICES = ("RTCACD", "RTCACPMCU", "RTCASMCU", "RTCAVMCU", "RTCCAA", "RTCCAS", "RTCCCS",
                        "RTCDATAMCU", "RTCIMMCU", "RtcQmsAgent", "RtcSrv", "RTCAPPSRV")


# Bounds on what the site file makes ocscheck read: the file itself, and each file it names (a CA bundle,
# a certificate, a key). The largest real one is a full public CA bundle, about 250 KB.
MAX_SITE_FILE_BYTES = 1 << 20
MAX_NAMED_FILE_BYTES = 16 << 20


class ConfigError(ValueError):
    """A site-file problem naming the file, line and key; control characters from the file are escaped,
    so printing it never lets the file drive the terminal (``\x1b]0;...\x07`` sets a window title)."""

    def __init__(self, path: Path, key: str, message: str, line: Optional[int] = None):
        self.path, self.key, self.line, self.message = Path(path), key, line, escape_controls(message)
        where = escape_controls(f"{path}:{line}" if line else f"{path}")
        shown = escape_controls(key)
        super().__init__(f"{where}: {shown}: {self.message}" if key else f"{where}: {self.message}")
        self.problems: List["ConfigError"] = [self]

    @classmethod
    def of_all(cls, errors: List["ConfigError"]) -> "ConfigError":
        """One error that says every problem found, one per line (the first one's file, line and key)."""
        if len(errors) == 1:
            return errors[0]
        first = errors[0]
        combined = cls(first.path, first.key, first.message, first.line)
        combined.problems = list(errors)
        combined.args = ("\n".join(str(e) for e in errors),)
        return combined


@dataclass(frozen=True)
class Endpoint:
    """A host with an optional port: ``127.0.0.53``, ``127.0.0.53:5353``, ``[::1]:53``."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @classmethod
    def parse(cls, text: str, default_port: int) -> "Endpoint":
        match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\](?::(\d+))?|([^:\[\]]+)(?::(\d+))?|([0-9A-Fa-f:]+)", text.strip())
        if not match:
            raise ValueError(f"{text!r} is not HOST, HOST:PORT or [IPv6]:PORT")
        host = match.group(1) or match.group(3) or match.group(5)
        port = int(match.group(2) or match.group(4) or default_port)
        if not 0 < port < 65536:
            raise ValueError(f"port {port} is out of range")
        try:
            # A resolver is an address: a typo like 10.0.0.300 would otherwise cost a timeout per query.
            ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"{host!r} is not an IPv4 or IPv6 address") from None
        return cls(host, port)


def opt(kind: str, doc: str, default: Any = dataclasses.MISSING, *, check: Optional[Callable[[Any], List[str]]] = None,
        example: Any = None, port: int = 53):
    """A site-file key: its TOML kind (str, int, float, bool, strlist, endpoints, path), doc and default."""
    meta = {"kind": kind, "doc": doc, "check": check, "example": example, "port": port}
    if isinstance(default, (list, tuple)):
        return field(default_factory=lambda: tuple(default), metadata=meta)
    return field(default=default, metadata=meta)


def _fqdn_list(names: Sequence[str]) -> List[str]:
    return [p for name in names for p in fqdn_problems(name)]


def _nonempty(values: Sequence[Any]) -> List[str]:
    return [] if values else ["at least one value is required"]


def _ldap_url(url: str) -> List[str]:
    if re.fullmatch(r"ldaps?://[^/\s]+/?", url):
        return []
    return [f"{url!r} must look like ldaps://host[:port] or ldap://host[:port]"]


def _is_ipv4(text: str) -> bool:
    try:
        ipaddress.IPv4Address(text)
        return True
    except ValueError:
        return False


def _port(value: int) -> List[str]:
    return [] if 0 < value < 65536 else ["must be a port number between 1 and 65535"]


def _days(value: int) -> List[str]:
    # Checks add these days to dates: beyond a century they overflow datetime and mean nothing anyway.
    return [] if 0 <= value <= 36500 else ["must be between 0 and 36500 days"]


@dataclass(frozen=True)
class Deployment:
    """Names of the deployment."""

    server_fqdn: str = opt("str", "FQDN of the Standard Edition server (its pool FQDN).",
                           check=lambda v: fqdn_problems(v), example="ocs.todorovic.adds")
    sip_domains: Tuple[str, ...] = opt("strlist", "Supported SIP domains; the first is the default one.",
                                       check=lambda v: _nonempty(v) + _fqdn_list(v), example=["todorovic.fr"])
    ad_domain: str = opt("str", "DNS name of the Active Directory domain that hosts the server and users.",
                         check=lambda v: fqdn_problems(v), example="todorovic.adds")
    forest: str = opt("str", "DNS name of the forest root domain (defaults to ad_domain).", "",
                      check=lambda v: fqdn_problems(v) if v else [])
    server_ip: str = opt("str", "The server's IPv4 address, used in DNS remediation commands (optional).", "",
                         check=lambda v: [] if not v or _is_ipv4(v) else [f"{v!r} is not an IPv4 address"])
    extra_sans: Tuple[str, ...] = opt("strlist", "Extra names the certificate must carry, e.g. cwa.<sip domain>.", (),
                                      check=_fqdn_list)
    other_ocs_servers: Tuple[str, ...] = opt(
        "strlist", "FQDNs of the other OCS servers talking MTLS to this one (then clientAuth is required).", (),
        check=_fqdn_list)
    # How the deployment is reached from the Internet decides which SIP records the public DNS must hold
    # (dns.split): none without an Edge (the tutorial's topology), or those of an Access Edge.
    external_access: str = opt(
        "str", "External access: none (no Edge server: no SIP record is expected in the public DNS) or edge "
               "(an Access Edge server: _sip._tls SRV on 443 to it).", "none",
        check=lambda v: [] if v in ("none", "edge") else ['must be "none" or "edge"'])
    access_edge_fqdn: str = opt("str", "External FQDN of the Access Edge (required when external_access = edge), "
                                       "inside the SIP domain.", "", check=lambda v: fqdn_problems(v) if v else [],
                                example="sip.todorovic.fr")
    federation: bool = opt("bool", "Federation through the Access Edge (external_access = edge): then "
                                   "_sipfederationtls._tcp SRV on 5061 to it is required.", False)

    @property
    def forest_root(self) -> str:
        return self.forest or self.ad_domain

    @property
    def default_sip_domain(self) -> str:
        return self.sip_domains[0]

    def conflicts(self) -> List[Tuple[str, str]]:
        """(key, problem) for settings that contradict each other."""
        if self.external_access == "edge" and not self.access_edge_fqdn:
            return [("access_edge_fqdn", 'is required when external_access = "edge"')]
        if self.external_access == "none" and (self.federation or self.access_edge_fqdn):
            key = "federation" if self.federation else "access_edge_fqdn"
            return [(key, 'needs an Access Edge: set external_access = "edge"')]
        return []


@dataclass(frozen=True)
class LdapSettings:
    """Active Directory over LDAP. ldap:// URLs always use StartTLS: no bind is ever sent in clear."""

    url: str = opt("str", "LDAP URL of a domain controller, ldaps://dc.example:636 (default port) or ldap://...",
                   "", check=lambda v: _ldap_url(v) if v else [])
    user: str = opt("str", "Bind account (user@domain or DOMAIN\\user); read-only rights are enough.", "")
    password_env: str = opt("str", "Environment variable holding the bind password.", "OCSCHECK_LDAP_PASSWORD")
    auth: str = opt("str", "Bind mechanism: simple or ntlm.", "simple",
                    check=lambda v: [] if v in ("simple", "ntlm") else ["must be simple or ntlm"])
    page_size: int = opt("int", "Entries per page in paged searches.", 500,
                         check=lambda v: [] if 1 <= v <= 5000 else ["must be between 1 and 5000"])
    replication_dcs: Tuple[str, ...] = opt(
        "strlist", "LDAP URLs of further DCs whose replication state is read; also how ad.prep-replicated reaches "
                   "a DC whose name does not resolve here.", (),
        check=lambda urls: [p for url in urls for p in _ldap_url(url)])
    service_accounts: Tuple[str, ...] = opt("strlist", "sAMAccountNames of the OCS service accounts.",
                                            ("RTCService", "RTCComponentService"))


@dataclass(frozen=True)
class DnsSettings:
    """Resolvers for the internal and the external view of split DNS."""

    internal: Tuple[Endpoint, ...] = opt("endpoints", "Internal resolvers, IP[:PORT].", (), example=["10.0.0.10"])
    external: Tuple[Endpoint, ...] = opt("endpoints", "External (public) resolvers, IP[:PORT].", ())
    management_server: str = opt("str", "DNS server named in dnscmd remediation commands ('.' = run on it).", ".")


@dataclass(frozen=True)
class TlsSettings:
    """Certificate validation."""

    ca_bundle: Optional[Path] = opt("path", "PEM file with the internal root (and intermediate) CA certificates.",
                                    None)
    sip_port: int = opt("int", "SIP over TLS port of the server.", 5061, check=lambda v: _port(v))
    https_port: int = opt("int", "IIS HTTPS port of the server.", 443, check=lambda v: _port(v))
    certificate: Optional[Path] = opt("path", "Certificate file (PEM, DER or PKCS#12) for preflight checks.", None)
    certificate_password_env: str = opt("str", "Environment variable with the PKCS#12 password.", "")
    server_address: str = opt(
        "str", "Connect to this IP address for the server's TLS, SIP and HTTPS checks instead of resolving its "
               "names (internal DNS when [dns] internal is set, else the system resolver); names are still judged.",
        "", check=lambda v: [] if not v or re.fullmatch(r"[0-9.]+|[0-9A-Fa-f:]+", v) else ["must be an IP address"])
    web_paths: Tuple[str, ...] = opt(
        "strlist", "Internal web component URLs of the front end checked on the HTTPS port (401 or 2xx = present).",
        ("/ABS/int/Handler", "/AutoUpdate/Int", "/Conf/Int", "/DeviceUpdateFiles_Int", "/etc/place/null",
         "/GroupExpansion/int/service.asmx", "/PhoneConferencing/Int"),
        check=lambda v: [f"{p!r} must start with /" for p in v if not p.startswith("/")])


@dataclass(frozen=True)
class WinrmHost:
    """A Windows host reached over WinRM."""

    host: str = opt("str", "Host name or address.", check=lambda v: [] if v else ["must not be empty"])
    port: int = opt("int", "WinRM port (0 = 5985 for http, 5986 for https).", 0,
                    check=lambda v: [] if v == 0 else _port(v))
    scheme: str = opt("str", "http or https.", "http",
                      check=lambda v: [] if v in ("http", "https") else ["must be http or https"])
    transport: str = opt("str", "ntlm, kerberos, basic or certificate.", "ntlm",
                         check=lambda v: [] if v in ("ntlm", "kerberos", "basic", "certificate") else
                         ["must be ntlm, kerberos, basic or certificate"])
    user: str = opt("str", "Account (DOMAIN\\user) with local administrator rights.", "")
    password_env: str = opt("str", "Environment variable holding the password.", "OCSCHECK_WINRM_PASSWORD")
    verify_tls: bool = opt("bool", "Verify the https listener's certificate against tls.ca_bundle.", True)
    client_cert: Optional[Path] = opt("path", "Client certificate (PEM) for transport = certificate (https only).",
                                      None)
    client_key: Optional[Path] = opt("path", "Private key (PEM) of client_cert.", None)
    allow_insecure_basic: bool = opt(
        "bool", "INSECURE: allow transport = basic with verify_tls = false, which sends the password to "
                "whichever server answers. Only for a lab.", False)

    @property
    def effective_port(self) -> int:
        return self.port or (5986 if self.scheme == "https" else 5985)

    @property
    def endpoint(self) -> Tuple[str, int]:
        """The address and port dialled."""
        return self.host, self.effective_port


@dataclass(frozen=True)
class Thresholds:
    """Limits behind warn/fail verdicts (site policy, not product facts)."""

    cert_expiry_days: int = opt("int", "A certificate expiring within this many days warns.", 30,
                                check=lambda v: _days(v))
    password_expiry_days: int = opt("int", "A service-account password expiring within this many days fails.", 30,
                                    check=lambda v: _days(v))
    replication_max_age_hours: float = opt("float", "A replication link whose last success is older fails.", 24.0,
                                           check=lambda v: [] if 0 < v <= 100 * 365 * 24 else
                                           ["must be between 0 and 876000 (100 years)"])


@dataclass(frozen=True)
class HostSettings:
    """Windows host prerequisites."""

    required_features: Tuple[str, ...] = opt(
        "strlist", "Windows features required on 2008 R2 (the tutorial's Add-WindowsFeature list).",
        DEFAULT_FEATURES_2008R2)
    ocs_services: Tuple[str, ...] = opt("strlist", "OCS service short names that must run when installed.",
                                        DEFAULT_OCS_SERVICES)
    min_ocs_build: str = opt("str", "Minimum OCS build, e.g. 3.5.6907.0 (CU builds are not confirmed facts: "
                                    "set it to what your update level installs).", "")


@dataclass(frozen=True)
class RunSettings:
    """How checks run."""

    timeout: float = opt("float", "Seconds allowed for each network fact and each check.", 10.0,
                         check=lambda v: [] if 0.1 <= v <= 600 else ["must be between 0.1 and 600 seconds"])
    workers: int = opt("int", "Checks working at once (a check waiting on the network does not count).", 16,
                       check=lambda v: [] if 1 <= v <= 128 else ["must be between 1 and 128"])
    skip: Tuple[str, ...] = opt("strlist", "Check ids or globs never run at this site.", ())


@dataclass(frozen=True)
class Site:
    source: Path
    deployment: Deployment
    ldap: LdapSettings
    dns: DnsSettings
    tls: TlsSettings
    winrm_server: Optional[WinrmHost]
    winrm_dc: Optional[WinrmHost]
    thresholds: Thresholds
    host: HostSettings
    run: RunSettings

    def winrm_hosts(self) -> Dict[str, WinrmHost]:
        """The WinRM hosts the site names, by role ("server", "dc")."""
        return {role: host for role, host in (("server", self.winrm_server), ("dc", self.winrm_dc)) if host}

    def secret_envs(self, sources: Optional[Collection[str]] = None) -> Dict[str, str]:
        """Environment variables this site reads secrets from, with what each is for; only those of
        ``sources`` ("ldap", "winrm.server", "winrm.dc", "tls") when given."""
        def wanted_for(source: str) -> bool:
            return sources is None or source in sources

        wanted = {}
        if self.ldap.url and self.ldap.user and wanted_for("ldap"):
            wanted[self.ldap.password_env] = f"LDAP password for {self.ldap.user}"
        for role, host in self.winrm_hosts().items():
            if host.user and host.transport in ("ntlm", "basic") and wanted_for(f"winrm.{role}"):
                wanted[host.password_env] = f"WinRM password for {host.user} on {host.host}"
        if self.tls.certificate and self.tls.certificate_password_env and wanted_for("tls"):
            wanted[self.tls.certificate_password_env] = f"password of {self.tls.certificate}"
        return wanted


# Table name in the file -> (Site attribute, section class, optional table)
SECTIONS: Tuple[Tuple[str, str, type, bool], ...] = (
    ("deployment", "deployment", Deployment, False),
    ("ldap", "ldap", LdapSettings, True),
    ("dns", "dns", DnsSettings, True),
    ("tls", "tls", TlsSettings, True),
    ("winrm.server", "winrm_server", WinrmHost, True),
    ("winrm.dc", "winrm_dc", WinrmHost, True),
    ("thresholds", "thresholds", Thresholds, True),
    ("host", "host", HostSettings, True),
    ("run", "run", RunSettings, True),
)
