"""The site file (TOML): one schema validates it, documents it and lets `ocscheck init` write it.

Each section is a frozen dataclass whose fields carry their TOML kind and documentation in
metadata. Errors name the file, the line when it can be found, and the dotted key.
"""
from __future__ import annotations

import dataclasses
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

from ocscheck.values.names import fqdn_problems

DEFAULT_FEATURES_2008R2 = ("Web-WebServer", "Web-Asp-Net", "Web-Windows-Auth", "Web-Mgmt-Tools",
                           "Web-Mgmt-Compat", "NET-Framework-Core", "MSMQ-Server", "RSAT-ADDS",
                           "Desktop-Experience")
DEFAULT_OCS_SERVICES = ("RTCACD", "RTCACPMCU", "RTCASMCU", "RTCAVMCU", "RTCCAA", "RTCCAS", "RTCCCS",
                        "RTCDATAMCU", "RTCIMMCU", "RtcQmsAgent", "RtcSrv", "RTCAPPSRV")


class ConfigError(ValueError):
    def __init__(self, path: Path, key: str, message: str, line: Optional[int] = None):
        self.path, self.key, self.line, self.message = Path(path), key, line, message
        where = f"{path}:{line}" if line else f"{path}"
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")


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
    server_ip: str = opt("str", "The server's IPv4 address, used in DNS remediation commands (optional).", "")
    extra_sans: Tuple[str, ...] = opt("strlist", "Extra names the certificate must carry, e.g. cwa.<sip domain>.", (),
                                      check=_fqdn_list)
    other_ocs_servers: Tuple[str, ...] = opt(
        "strlist", "FQDNs of the other OCS servers talking MTLS to this one (then clientAuth is required).", (),
        check=_fqdn_list)

    @property
    def forest_root(self) -> str:
        return self.forest or self.ad_domain

    @property
    def default_sip_domain(self) -> str:
        return self.sip_domains[0]


@dataclass(frozen=True)
class LdapSettings:
    """Active Directory over LDAP. ldap:// URLs always use StartTLS: no bind is ever sent in clear."""

    url: str = opt("str", "LDAP URL of a domain controller, ldaps://dc.example:636 (default port) or ldap://...",
                   "", check=lambda v: [] if not v or re.match(r"^ldaps?://[^/\s]+/?$", v) else
                   ["must look like ldaps://host[:port] or ldap://host[:port]"])
    user: str = opt("str", "Bind account (user@domain or DOMAIN\\user); read-only rights are enough.", "")
    password_env: str = opt("str", "Environment variable holding the bind password.", "OCSCHECK_LDAP_PASSWORD")
    auth: str = opt("str", "Bind mechanism: simple or ntlm.", "simple",
                    check=lambda v: [] if v in ("simple", "ntlm") else ["must be simple or ntlm"])
    page_size: int = opt("int", "Entries per page in paged searches.", 500,
                         check=lambda v: [] if 1 <= v <= 5000 else ["must be between 1 and 5000"])
    replication_dcs: Tuple[str, ...] = opt("strlist", "LDAP URLs of further DCs whose replication state is read.", ())
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
    sip_port: int = opt("int", "SIP over TLS port of the server.", 5061)
    https_port: int = opt("int", "IIS HTTPS port of the server.", 443)
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
    port: int = opt("int", "WinRM port (0 = 5985 for http, 5986 for https).", 0)
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

    @property
    def effective_port(self) -> int:
        return self.port or (5986 if self.scheme == "https" else 5985)


@dataclass(frozen=True)
class Thresholds:
    """Limits behind warn/fail verdicts (site policy, not product facts)."""

    cert_expiry_days: int = opt("int", "A certificate expiring within this many days warns.", 30)
    password_expiry_days: int = opt("int", "A service-account password expiring within this many days fails.", 30)
    replication_max_age_hours: float = opt("float", "A replication link whose last success is older fails.", 24.0)


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
                         check=lambda v: [] if 0 < v <= 600 else ["must be between 0 and 600"])
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

    def secret_envs(self) -> Dict[str, str]:
        """Environment variables this site reads secrets from, with what each is for."""
        wanted = {}
        if self.ldap.url and self.ldap.user:
            wanted[self.ldap.password_env] = f"LDAP password for {self.ldap.user}"
        for host in (self.winrm_server, self.winrm_dc):
            if host and host.user and host.transport in ("ntlm", "basic"):
                wanted[host.password_env] = f"WinRM password for {host.user} on {host.host}"
        if self.tls.certificate and self.tls.certificate_password_env:
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


class _Locator:
    """Finds the line of a dotted key in TOML text (best effort: tables and simple keys)."""

    def __init__(self, text: str):
        self.lines: Dict[str, int] = {}
        table = ""
        for number, line in enumerate(text.splitlines(), 1):
            header = re.match(r"^\s*\[\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\s*(#.*)?$", line)
            if header:
                table = header.group(1).replace('"', "").replace(" ", "")
                self.lines.setdefault(table, number)
                continue
            key = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*=", line)
            if key:
                self.lines.setdefault(f"{table}.{key.group(1)}" if table else key.group(1), number)

    def line(self, dotted: str) -> Optional[int]:
        while dotted:
            if dotted in self.lines:
                return self.lines[dotted]
            dotted = dotted.rpartition(".")[0]
        return None


def load_site(path: Path) -> Site:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read the site file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(path, "", "the site file is not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise ConfigError(path, "", f"not valid TOML: {exc}", int(line.group(1)) if line else None) from None
    return site_from_dict(data, path, _Locator(text))


def site_from_dict(data: Dict[str, Any], path: Path, locator: Optional[_Locator] = None) -> Site:
    locator = locator or _Locator("")

    def error(key: str, message: str) -> ConfigError:
        return ConfigError(path, key, message, locator.line(key))

    known_tables = {name.split(".")[0] for name, *_ in SECTIONS}
    for key in data:
        if key not in known_tables:
            raise error(key, f"unknown section (known: {', '.join(sorted(known_tables))})")
    winrm = data.get("winrm", {})
    if not isinstance(winrm, dict):
        raise error("winrm", "must be a table with [winrm.server] and/or [winrm.dc]")
    for key in winrm:
        if key not in ("server", "dc"):
            raise error(f"winrm.{key}", "unknown WinRM role (known: server, dc)")

    values: Dict[str, Any] = {"source": path}
    for table, attribute, cls, optional in SECTIONS:
        raw = data.get(table) if "." not in table else winrm.get(table.split(".")[1])
        if raw is None:
            if table.startswith("winrm."):
                values[attribute] = None
                continue
            if not optional:
                raise error(table, "this section is required")
            raw = {}
        if not isinstance(raw, dict):
            raise error(table, "must be a table")
        values[attribute] = _section(cls, table, raw, path, error)
    site = Site(**values)
    if not site.deployment.forest:
        site = dataclasses.replace(site, deployment=dataclasses.replace(
            site.deployment, forest=site.deployment.ad_domain))
    return site


def _section(cls: type, table: str, raw: Dict[str, Any], path: Path, error) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in fields:
            raise error(f"{table}.{key}", f"unknown key (known: {', '.join(fields)})")
    kwargs = {}
    for name, spec in fields.items():
        dotted = f"{table}.{name}"
        if name not in raw:
            if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                raise error(dotted, "this key is required")
            continue
        value = _convert(spec.metadata, raw[name], path, dotted, error)
        check = spec.metadata.get("check")
        problems = check(value) if check else []
        if problems:
            raise error(dotted, "; ".join(problems))
        kwargs[name] = value
    return cls(**kwargs)


def _convert(meta: Dict[str, Any], value: Any, path: Path, dotted: str, error) -> Any:
    kind = meta["kind"]
    expected = {"str": str, "int": int, "float": (int, float), "bool": bool, "path": str}
    if kind in expected:
        if isinstance(value, bool) and kind != "bool" or not isinstance(value, expected[kind]):
            raise error(dotted, f"must be {_kind_name(kind)}, not {_toml_type(value)}")
        if kind == "float":
            return float(value)
        if kind == "path":
            return _readable_path(value, path, dotted, error)
        return value
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise error(dotted, f"must be {_kind_name(kind)}, not {_toml_type(value)}")
    if kind == "strlist":
        return tuple(value)
    try:
        return tuple(Endpoint.parse(v, meta["port"]) for v in value)
    except ValueError as exc:
        raise error(dotted, str(exc)) from None


def _readable_path(value: str, site_path: Path, dotted: str, error) -> Path:
    resolved = (site_path.parent / value).resolve() if not Path(value).is_absolute() else Path(value)
    try:
        content = resolved.read_bytes()
    except OSError as exc:
        raise error(dotted, f"cannot read {resolved}: {exc.strerror}") from None
    if dotted == "tls.ca_bundle":
        from cryptography import x509

        try:
            x509.load_pem_x509_certificates(content)
        except ValueError:
            raise error(dotted, f"{resolved} holds no PEM certificate") from None
    return resolved


def _kind_name(kind: str) -> str:
    return {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false",
            "path": "a file path (string)", "strlist": "a list of strings",
            "endpoints": 'a list of "IP[:PORT]" strings'}[kind]


def _toml_type(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a table"}.get(type(value), type(value).__name__)
