"""Samba 4 Active Directory domain controllers for the AD tests, with the OCS schema subset.

One provisioned DC (127.0.0.2, forest and domain level 2008 R2, LDAPS with a certificate from a
small PKI built here) is shared by the whole session; tests build the objects of their scenario
on it through the helpers below and remove them afterwards. A second DC (127.0.0.3) is joined
only for the replication tests, and a 2003-level forest (127.0.0.4, no OCS schema) serves the
functional-level and "schema not prepared" readings.

How Samba has to be driven is in ../shared/reference/lab-notes.md; the pitfalls met are commented
where they are handled.
"""
from __future__ import annotations

import datetime
import ssl
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

import ldap3
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from ldap3.protocol.microsoft import security_descriptor_control

from tests.lab import DC1, DC2, Server, require_root, require_tool, run

DOMAIN = "todorovic.adds"
REALM = DOMAIN.upper()
NETBIOS = "TODOROVIC"
BASE_DN = "DC=todorovic,DC=adds"
CONFIG_DN = f"CN=Configuration,{BASE_DN}"
SCHEMA_DN = f"CN=Schema,{CONFIG_DN}"
NAMING_CONTEXTS = (BASE_DN, CONFIG_DN, SCHEMA_DN, f"DC=DomainDnsZones,{BASE_DN}", f"DC=ForestDnsZones,{BASE_DN}")
SIP_DOMAIN = "todorovic.fr"
SERVER_FQDN = "ocs.todorovic.adds"
DC_2003 = "127.0.0.4"
BULK_DC = "127.0.0.5"     # a throw-away DC for thousands of users (tests and bench); else "nothing listens"

ADMIN_PASSWORD = "Adm1n-Lab-Passw0rd"
READER = "ocsreader"
READER_PASSWORD = "Read3r-Lab-Passw0rd"
READER_ENV = "OCSCHECK_LDAP_PASSWORD"
SERVICE_UAC = 0x10200  # normal account, password never expires

SCHEMA_DIR = Path(__file__).with_name("ocs_schema")

RTC_GROUPS = ("RTCHSUniversalServices", "RTCComponentUniversalServices", "RTCProxyUniversalServices",
              "RTCUniversalGuestAccessGroup", "RTCUniversalServerAdmins", "RTCUniversalUserAdmins",
              "RTCUniversalReadOnlyAdmins", "RTCUniversalGlobalWriteGroup", "RTCUniversalGlobalReadOnlyGroup",
              "RTCUniversalUserReadOnlyGroup", "RTCUniversalServerReadOnlyGroup")
DOMAIN_PREP_TARGETS = (BASE_DN, f"CN=Users,{BASE_DN}", f"CN=Computers,{BASE_DN}",
                       f"OU=Domain Controllers,{BASE_DN}")
# GUIDs of the user class and the property sets domain prep grants read on (the lab's stand-in for
# the ACEs LcsCmd writes: one object ACE and one plain read ACE per RTC group).
USER_CLASS_GUID = "bf967aba-0de6-11d0-a285-00aa003049e2"
PERSONAL_INFO_GUID = "77b5b886-944a-11d1-aebd-0000f80367c1"


# --------------------------------------------------------------------------------------------- PKI

@dataclass
class LabCa:
    """A one-level CA (root signs the DC certificates directly: enough to prove verification)."""

    directory: Path
    name: str
    key: ec.EllipticCurvePrivateKey = field(repr=False)
    cert: x509.Certificate = field(repr=False)

    @property
    def pem(self) -> Path:
        return self.directory / f"{self.name}.pem"

    @classmethod
    def create(cls, directory: Path, name: str) -> "LabCa":
        directory.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} lab root")])
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                .public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                               critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        ca = cls(directory, name, key, cert)
        ca.pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return ca

    def issue(self, hostname: str, ip: str, directory: Path) -> Tuple[Path, Path]:
        """A server certificate for ``hostname`` and ``ip``: (certificate chain PEM, key PEM mode 0600)."""
        import ipaddress

        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)]))
                .issuer_name(self.cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(hours=1))
                .not_valid_after(now + datetime.timedelta(days=7))
                .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname),
                                                            x509.IPAddress(ipaddress.ip_address(ip))]),
                               critical=False)
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                               critical=False)
                .sign(self.key, hashes.SHA256()))
        directory.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = directory / "ldaps.pem", directory / "ldaps.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM)
                              + self.cert.public_bytes(serialization.Encoding.PEM))
        key_path.touch(mode=0o600)  # Samba refuses a key file readable by others
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return cert_path, key_path


# --------------------------------------------------------------------------------------------- DCs

class SambaDC:
    """One Samba AD DC living entirely in ``workdir``."""

    def __init__(self, workdir: Path, ip: str, hostname: str, ca: LabCa, hosts: Path):
        self.workdir = workdir
        self.hosts = hosts
        self.ip = ip
        self.hostname = hostname
        self.fqdn = f"{hostname}.{DOMAIN}"
        self.ca = ca
        self.server: Optional[Server] = None

    @property
    def conf(self) -> Path:
        return self.workdir / "etc" / "smb.conf"

    @property
    def url(self) -> str:
        return f"ldaps://{self.ip}"

    def wrap(self, argv: Sequence[str]) -> List[str]:
        """``argv`` run with the lab's hosts file as /etc/hosts (a private mount namespace).

        DCs find each other by name, including ``<DSA GUID>._msdcs.<forest>``, through the system
        resolver; the test namespace has no DNS server, and its hosts file cannot know GUIDs made at
        run time. The file is rewritten in place, so processes already running see new names.
        """
        # Kerberos between DCs (DRS binds) finds the KDCs in the lab's krb5.conf, not through DNS SRV.
        krb5 = self.hosts.with_name("krb5.conf")
        return [require_tool("unshare"), "--mount", "--", "sh", "-c",
                'mount --bind "$0" /etc/hosts && KRB5_CONFIG="$1" && export KRB5_CONFIG && shift && exec "$@"',
                str(self.hosts), str(krb5), *argv]

    def _common_options(self) -> List[str]:
        return [f"--option=interfaces={self.ip}/8", "--option=bind interfaces only=yes",
                f"--option=pid directory={self.workdir}/run"]

    def provision(self, function_level: str = "2008_R2") -> None:
        samba_tool = require_tool("samba-tool")
        run(self.wrap([samba_tool, "domain", "provision", f"--targetdir={self.workdir}", f"--realm={REALM}",
             f"--domain={NETBIOS}", "--server-role=dc", "--dns-backend=SAMBA_INTERNAL",
             f"--adminpass={ADMIN_PASSWORD}", f"--host-name={self.hostname}", f"--host-ip={self.ip}",
             f"--function-level={function_level}", *self._common_options()]), timeout=120)
        self._configure()

    def join(self, first: "SambaDC") -> None:
        samba_tool = require_tool("samba-tool")
        self.workdir.mkdir(parents=True, exist_ok=True)
        run(self.wrap([samba_tool, "domain", "join", DOMAIN, "DC", f"--server={first.ip}",
             "--username=Administrator", f"--password={ADMIN_PASSWORD}", f"--targetdir={self.workdir}",
             f"--option=netbios name={self.hostname.upper()}", "--dns-backend=SAMBA_INTERNAL",
             *self._common_options()]), timeout=120)
        self._configure()

    def _configure(self) -> None:
        cert, key = self.ca.issue(self.fqdn, self.ip, self.workdir / "tls")
        w = self.workdir
        # The provisioner drops these from --option, so they are appended to [global] here.
        extra = {
            "ldap server require strong auth": "no",
            "ncalrpc dir": f"{w}/ncalrpc", "winbindd socket directory": f"{w}/winbindd",
            "ntp signd socket directory": f"{w}/ntp_signd",  # not pre-created: samba insists on 0750
            "dsdb:schema update allowed": "true",
            "log file": f"{w}/log.%m", "dns forwarder": "127.0.0.1",
            "tls enabled": "yes", "tls keyfile": str(key), "tls certfile": str(cert),
            "tls cafile": str(self.ca.pem),
        }
        lines = [line for line in self.conf.read_text().splitlines()
                 if line.strip().split("=")[0].strip() not in extra]
        at = lines.index("[global]") + 1
        lines[at:at] = [f"\t{k} = {v}" for k, v in extra.items()]
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = 30.0) -> None:
        samba = require_tool("samba")
        self.server = Server(f"samba {self.hostname}", self.wrap([samba, "--foreground", "--no-process-group",
                                                                 "-s", str(self.conf)]),
                             self.workdir / "samba.out")
        # Port 389 opens before LDAPS is ready: wait for a real bind.
        self.server.ready(self._bind_works, timeout=timeout)

    def _bind_works(self) -> bool:
        try:
            self.admin().unbind()
            return True
        except Exception:
            return False

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    @property
    def running(self) -> bool:
        return self.server is not None and self.server.proc.poll() is None

    # ----------------------------------------------------------------------- administration helpers

    def admin(self) -> ldap3.Connection:
        tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(self.ca.pem))
        server = ldap3.Server(self.ip, port=636, use_ssl=True, tls=tls, get_info=ldap3.NONE, connect_timeout=3)
        return ldap3.Connection(server, f"Administrator@{DOMAIN}", ADMIN_PASSWORD, auto_bind=True,
                                raise_exceptions=True, receive_timeout=30)

    def tool_local(self, *args: str, check: bool = True) -> Optional[str]:
        """samba-tool subcommands that talk DRS/RPC to a DC named in the lab's hosts file; without
        ``check``, None when the command fails."""
        argv = self.wrap([require_tool("samba-tool"), *args, "--username=Administrator",
                          f"--password={ADMIN_PASSWORD}"])
        if check:
            return run(argv).stdout
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        return done.stdout if done.returncode == 0 else None

    def drs_replicate(self, destination: "SambaDC", source: "SambaDC", nc: str, check: bool = True) -> str:
        """Ask ``destination`` to pull ``nc`` from ``source`` now (DRS over RPC, names from the hosts file)."""
        argv = [require_tool("samba-tool"), "drs", "replicate", destination.fqdn, source.fqdn, nc,
                "--username=Administrator", f"--password={ADMIN_PASSWORD}"]
        if check:
            return run(self.wrap(argv)).stdout
        done = subprocess.run(self.wrap(argv), capture_output=True, text=True, timeout=60)
        return done.stdout + done.stderr

    def ldbmodify(self, ldif: str, *extra: str) -> None:
        path = self.workdir / "change.ldif"
        path.write_text(ldif)
        run([require_tool("ldbmodify"), "-H", f"ldap://{self.ip}", f"-UAdministrator%{ADMIN_PASSWORD}", *extra,
             str(path)])

    def extend_schema(self, version: int = 1008) -> None:
        """The OCS schema subset: attributes, classes, then the User change, each its own transaction."""
        for name in ("10-attributes.ldif", "20-classes.ldif", "30-user.ldif"):
            text = (SCHEMA_DIR / name).read_text().replace("${BASEDN}", BASE_DN)
            self.ldbmodify(text.replace("rangeUpper: 1008", f"rangeUpper: {version}"))
            self.ldbmodify("dn:\nchangetype: modify\nadd: schemaUpdateNow\nschemaUpdateNow: 1\n-\n")

    def set_schema_version(self, version: int) -> None:
        with self.admin() as conn:
            conn.modify(f"CN=ms-RTC-SIP-SchemaVersion,{SCHEMA_DN}",
                        {"rangeUpper": [(ldap3.MODIFY_REPLACE, [str(version)])]})
        self.ldbmodify("dn:\nchangetype: modify\nadd: schemaUpdateNow\nschemaUpdateNow: 1\n-\n")

    def dacl_sddl(self, dn: str) -> str:
        done = run([require_tool("ldbsearch"), "-H", f"ldap://{self.ip}", f"-UAdministrator%{ADMIN_PASSWORD}",
                    "-b", dn, "-s", "base", "--controls=sd_flags:1:4",
                    "nTSecurityDescriptor"])
        text, inside = "", False
        for line in done.stdout.splitlines():
            if line.startswith("nTSecurityDescriptor: "):
                text, inside = line.split(": ", 1)[1], True
            elif inside and line.startswith(" "):
                text += line[1:]
            else:
                inside = False
        return text

    def set_dacl_sddl(self, dn: str, sddl: str) -> None:
        # ldbmodify turns SDDL into the binary descriptor; the SD flags control limits it to the DACL.
        self.ldbmodify(f"dn: {dn}\nchangetype: modify\nreplace: nTSecurityDescriptor\n"
                       f"nTSecurityDescriptor: {sddl}\n-\n", "--controls=sd_flags:1:4")

    def dsa_guid(self) -> str:
        with self.admin() as conn:
            conn.search("", "(objectClass=*)", ldap3.BASE, attributes=["dsServiceName"])
            dsa = conn.response[0]["raw_attributes"]["dsServiceName"][0].decode()
            conn.search(dsa, "(objectClass=*)", ldap3.BASE, attributes=["objectGUID"])
            return str(uuid.UUID(bytes_le=conn.response[0]["raw_attributes"]["objectGUID"][0]))

    def sid_of(self, dn: str) -> str:
        with self.admin() as conn:
            conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["objectSid"])
            return _sid_text(conn.response[0]["raw_attributes"]["objectSid"][0])


def _sid_text(raw: bytes) -> str:
    count = raw[1]
    authority = int.from_bytes(raw[2:8], "big")
    subs = [int.from_bytes(raw[8 + 4 * i:12 + 4 * i], "little") for i in range(count)]
    return "S-1-" + "-".join(str(v) for v in [authority, *subs])


# ----------------------------------------------------------------------------------- the OCS objects

def rtc_service_dn(partition: str = "configuration") -> str:
    if partition == "system":
        return f"CN=RTC Service,CN=Microsoft,CN=System,{BASE_DN}"
    return f"CN=RTC Service,CN=Services,{CONFIG_DN}"


def pool_dn(name: str = "ocs", partition: str = "configuration") -> str:
    return f"CN={name},CN=Pools,{rtc_service_dn(partition)}"


def home_server_dn(pool: str = "ocs", partition: str = "configuration") -> str:
    return f"CN=LC Services,CN=Microsoft,{pool_dn(pool, partition)}"


class Forest:
    """Builds and removes OCS objects on a DC (what schema/forest/domain prep and activation leave)."""

    def __init__(self, dc: SambaDC):
        self.dc = dc

    def delete_tree(self, dn: str) -> None:
        with self.dc.admin() as conn:
            conn.raise_exceptions = False
            conn.delete(dn, controls=[("1.2.840.113556.1.4.805", True, None)])  # tree delete

    def forest_prep(self, partition: str = "configuration", sip_domains: Sequence[str] = (SIP_DOMAIN,),
                    groups: bool = True) -> None:
        service = rtc_service_dn(partition)
        with self.dc.admin() as conn:
            if partition == "system":
                conn.raise_exceptions = False
                conn.add(f"CN=Microsoft,CN=System,{BASE_DN}", ["container"])
                conn.raise_exceptions = True
            conn.add(service, ["msRTCSIP-Service"])
            conn.add(f"CN=Global Settings,{service}", ["msRTCSIP-GlobalContainer"])
            conn.add(f"CN=Pools,{service}", ["msRTCSIP-Pools"])
            for index, domain in enumerate(sip_domains):
                conn.add(f"CN={{{uuid.uuid4()}}},CN=Global Settings,{service}", ["msRTCSIP-Domain"],
                         {"msRTCSIP-DomainName": domain, "msRTCSIP-Default": "TRUE" if index == 0 else "FALSE"})
            if groups:
                for group in RTC_GROUPS:
                    conn.raise_exceptions = False  # shared by every scenario: create once
                    # groupType: universal security group (0x80000008)
                    conn.add(f"CN={group},CN=Users,{BASE_DN}", ["group"],
                             {"sAMAccountName": group, "groupType": str(-2147483640)})
                    conn.raise_exceptions = True

    def add_sip_domain(self, domain: str, default: bool = False, partition: str = "configuration") -> str:
        dn = f"CN={{{uuid.uuid4()}}},CN=Global Settings,{rtc_service_dn(partition)}"
        with self.dc.admin() as conn:
            conn.add(dn, ["msRTCSIP-Domain"], {"msRTCSIP-DomainName": domain,
                                               "msRTCSIP-Default": "TRUE" if default else "FALSE"})
        return dn

    def forest_unprep(self) -> None:
        for partition in ("configuration", "system"):
            self.delete_tree(rtc_service_dn(partition))

    def add_pool(self, fqdn: str = SERVER_FQDN, name: str = "ocs", pool_type: int = 5, version: int = 4,
                 partition: str = "configuration") -> str:
        dn = pool_dn(name, partition)
        with self.dc.admin() as conn:
            conn.add(dn, ["msRTCSIP-Pool"], {"dNSHostName": fqdn, "msRTCSIP-PoolType": str(pool_type),
                                             "msRTCSIP-PoolVersion": str(version),
                                             "msRTCSIP-PoolDisplayName": name})
            conn.add(f"CN=Microsoft,{dn}", ["container"])
            conn.add(f"CN=LC Services,CN=Microsoft,{dn}", ["container"])
        return dn

    def domain_prep(self, targets: Sequence[str] = DOMAIN_PREP_TARGETS) -> Dict[str, str]:
        """Adds, on the domain root and the three containers, ACEs for every RTC group; returns the old DACLs."""
        sids = [self.dc.sid_of(f"CN={group},CN=Users,{BASE_DN}") for group in RTC_GROUPS]
        saved = {}
        for dn in targets:
            old = self.dc.dacl_sddl(dn)
            saved[dn] = old
            aces = "".join(f"(OA;CI;RP;{PERSONAL_INFO_GUID};{USER_CLASS_GUID};{sid})(A;;RPLCLORC;;;{sid})"
                           for sid in sids)
            head, _, rest = old.partition("(")
            self.dc.set_dacl_sddl(dn, f"{head}{aces}({rest}")
        return saved

    def restore_dacls(self, saved: Dict[str, str]) -> None:
        for dn, sddl in saved.items():
            self.dc.set_dacl_sddl(dn, sddl)

    def add_user(self, name: str, *, uri: Optional[str] = None, mail: Optional[str] = None,
                 home: Optional[str] = None, sip_enabled: bool = True, uac: Optional[int] = None,
                 password: Optional[str] = None, container: str = f"CN=Users,{BASE_DN}") -> str:
        """A user; enabled unless ``uac`` says otherwise (0x200 with a password, else 0x220: password not
        required), since users.sip judges AD-disabled accounts apart."""
        dn = f"CN={name},{container}"
        if uac is None:
            uac = 0x200 if password is not None else 0x220
        attributes: Dict[str, object] = {"sAMAccountName": name[:20], "userAccountControl": str(uac)}
        if uri is not None:
            attributes["msRTCSIP-PrimaryUserAddress"] = uri
            attributes["msRTCSIP-UserEnabled"] = "TRUE" if sip_enabled else "FALSE"
        if home is not None:
            attributes["msRTCSIP-PrimaryHomeServer"] = home
        if mail is not None:
            attributes["mail"] = mail
        if password is not None:
            attributes["unicodePwd"] = f'"{password}"'.encode("utf-16-le")
        with self.dc.admin() as conn:
            conn.add(dn, ["user"], attributes)
        return dn

    def bulk_users(self, count: int, ou: str = "Bulk", domain: str = SIP_DOMAIN) -> str:
        """``count`` SIP users in a new OU, added through sam.ldb in one transaction (≈2 ms each, where
        LDAP adds cost ≈8 ms); the running DC sees them at once. Returns the OU's DN (tree-delete it)."""
        ou_dn = f"OU={ou},{BASE_DN}"
        home = home_server_dn()
        with self.dc.admin() as conn:
            conn.add(ou_dn, ["organizationalUnit"])
        # Batches of 500: one ldbadd transaction grows superlinearly with its size (5,000 at once: 45 s).
        for start in range(0, count, 500):
            path = self.dc.workdir / f"{ou}-{start}.ldif"
            with path.open("w") as ldif:
                for i in range(start, min(count, start + 500)):
                    name = f"{ou.lower()}{i:06d}"
                    ldif.write(f"dn: CN={name},{ou_dn}\nobjectClass: user\nsAMAccountName: {name[:20]}\n"
                               f"userAccountControl: 544\nmsRTCSIP-PrimaryUserAddress: sip:{name}@{domain}\n"
                               f"msRTCSIP-UserEnabled: TRUE\nmail: {name}@{domain}\n"
                               f"msRTCSIP-PrimaryHomeServer: {home}\n\n")
            run([require_tool("ldbadd"), "-H", str(self.dc.workdir / "private" / "sam.ldb"), str(path)],
                timeout=600)
            path.unlink()
        return ou_dn

    def delete(self, *dns: str) -> None:
        with self.dc.admin() as conn:
            conn.raise_exceptions = False
            for dn in dns:
                conn.delete(dn)

    def set_attributes(self, dn: str, changes: Dict[str, Iterable[str]]) -> None:
        with self.dc.admin() as conn:
            conn.modify(dn, {k: [(ldap3.MODIFY_REPLACE, list(v))] for k, v in changes.items()})

    def read(self, dn: str, attribute: str) -> List[bytes]:
        with self.dc.admin() as conn:
            conn.search(dn, "(objectClass=*)", ldap3.BASE, attributes=[attribute],
                        controls=security_descriptor_control(sdflags=0x04))
            return list(conn.response[0]["raw_attributes"].get(attribute, []))


# ------------------------------------------------------------------------------ sessions and fixtures

@dataclass
class Lab:
    dc1: SambaDC
    ca: LabCa
    other_ca: LabCa          # a CA the DCs do not use: "certificate untrusted" scenarios
    forest: Forest
    workdir: Path
    saved_dacls: Dict[str, str] = field(default_factory=dict)  # DACLs before domain prep (to undo it)
    sip_users: List[str] = field(default_factory=list)        # the prepared forest's users (alice, bob)

    service_accounts: List[str] = field(default_factory=list)

    def prepare_good(self) -> None:
        """What a correct deployment leaves in AD: forest prep (configuration partition, SIP domain
        todorovic.fr), the SE R2 pool of ocs.todorovic.adds, domain prep, RTCService and
        RTCComponentService with passwords that never expire, and SIP users alice and bob."""
        forest = self.forest
        forest.forest_prep()
        forest.add_pool()
        self.saved_dacls = forest.domain_prep()
        self.service_accounts = [forest.add_user(name, uac=SERVICE_UAC, password="Svc-Lab-Passw0rd1")
                                 for name in ("RTCService", "RTCComponentService")]
        self.sip_users = [forest.add_user(name, uri=f"sip:{name}@{SIP_DOMAIN}", mail=f"{name}@{SIP_DOMAIN}",
                                          home=home_server_dn(), password="User-Lab-Passw0rd1")
                          for name in ("alice", "bob")]

    def unprepare_good(self) -> None:
        self.forest.delete(*self.sip_users, *self.service_accounts)
        self.forest.restore_dacls(self.saved_dacls)
        self.forest.forest_unprep()

    def reset_rtc_tree(self) -> None:
        """Back to forest prep in the configuration partition with the pool, users re-homed on it
        (AD turned their home server reference into a deleted object when the old pool went)."""
        self.forest.forest_unprep()
        self.forest.forest_prep()
        self.forest.add_pool()
        for dn in self.sip_users:
            self.forest.set_attributes(dn, {"msRTCSIP-PrimaryHomeServer": [home_server_dn()]})

    def site(self, **ldap: object) -> Dict[str, object]:
        """Site-file overrides that point ocscheck at DC1 as the read-only bind account."""
        settings = {"url": self.dc1.url, "user": f"{READER}@{DOMAIN}", "password_env": READER_ENV}
        settings.update(ldap)
        return {"ldap": settings, "tls": {"ca_bundle": str(self.ca.pem)}}

    env = {READER_ENV: READER_PASSWORD}


def start_lab(workdir: Path, function_level: str = "2008_R2", schema_version: Optional[int] = 1008,
              ip: str = DC1, hostname: str = "ocsdc1") -> Lab:
    """Provision and start one DC with the read-only account (and the OCS schema unless None)."""
    require_root()
    ca = LabCa.create(workdir / "pki", "ocs")
    other = LabCa.create(workdir / "pki", "other")
    hosts = workdir / "hosts"
    hosts.write_text(f"127.0.0.1 localhost\n{ip} {hostname}.{DOMAIN} {hostname}\n")
    (workdir / "krb5.conf").write_text(
        f"[libdefaults]\n\tdefault_realm = {REALM}\n\tdns_lookup_kdc = false\n\tdns_lookup_realm = false\n"
        f"[realms]\n\t{REALM} = {{\n\t\tkdc = {ip}\n\t\tkdc = {DC2}\n\t}}\n"
        f"[domain_realm]\n\t.{DOMAIN} = {REALM}\n")
    dc = SambaDC(workdir / hostname, ip, hostname, ca, hosts)
    dc.provision(function_level)
    dc.start()
    lab = Lab(dc, ca, other, Forest(dc), workdir)
    try:
        # Over LDAPS with a simple bind (samba-tool's SASL bind fails while another lab DC of the
        # same realm runs: NTLM "no logon servers").
        lab.forest.add_user(READER, uac=0x10200, password=READER_PASSWORD)
        if schema_version is not None:
            dc.extend_schema(schema_version)
    except BaseException:
        dc.stop()
        raise
    return lab


def start_good_lab(workdir: Path) -> Tuple[Dict[str, object], Callable[[], None]]:
    """The "everything right" AD of the bundled example: schema 1008, forest prep in the configuration
    partition with SIP domain todorovic.fr, domain prep, the SE pool for ocs.todorovic.adds, service
    accounts whose passwords never expire and two SIP users. Returns (site overrides, stop); the bind
    password is in the environment variable named by site["ldap"]["password_env"] (see Lab.env)."""
    lab = start_lab(workdir)
    try:
        lab.prepare_good()
    except BaseException:
        lab.dc1.stop()
        raise
    return lab.site(), lab.dc1.stop


@pytest.fixture(scope="session")
def samba_lab(tmp_path_factory) -> Iterator[Lab]:
    """DC1 with the OCS schema, shared by the session; scenarios build and remove their objects."""
    lab = start_lab(tmp_path_factory.mktemp("samba"))
    yield lab
    lab.dc1.stop()


@pytest.fixture(scope="session")
def samba_good(samba_lab: Lab) -> Iterator[Lab]:
    """DC1 holding a fully prepared forest (start_good_lab's objects). Tests that change it put it back."""
    samba_lab.prepare_good()
    yield samba_lab
    samba_lab.unprepare_good()


@pytest.fixture(scope="session")
def samba_2003(tmp_path_factory) -> Iterator[Lab]:
    """A forest at functional level 2003 on 127.0.0.4, never schema-prepared."""
    lab = start_lab(tmp_path_factory.mktemp("samba2003"), function_level="2003", schema_version=None,
                    ip=DC_2003, hostname="ocsdc4")
    yield lab
    lab.dc1.stop()


@pytest.fixture(scope="session")
def samba_dc2(samba_lab: Lab) -> Iterator[SambaDC]:
    """A second DC joined to DC1's domain (127.0.0.3) with replication established both ways."""
    dc1 = samba_lab.dc1
    with dc1.hosts.open("a") as hosts:
        hosts.write(f"{DC2} ocsdc2.{DOMAIN} ocsdc2\n")
    dc2 = SambaDC(samba_lab.workdir / "ocsdc2", DC2, "ocsdc2", samba_lab.ca, dc1.hosts)
    dc2.join(dc1)
    dc2.start()
    try:
        with dc1.hosts.open("a") as hosts:
            for dc in (dc1, dc2):
                hosts.write(f"{dc.ip} {dc.dsa_guid()}._msdcs.{DOMAIN}\n")
        # DC1 learns its inbound connection from DC2 when its KCC runs; ask for a run now (the KCC
        # answers "cannot be performed" while a run of its own is under way: retry).
        for attempt in range(10):
            if dc1.tool_local("drs", "kcc", dc1.fqdn, check=attempt == 9) is not None:
                break
            time.sleep(1)
        for nc in NAMING_CONTEXTS:  # every partition both ways, so that no link reads "never replicated"
            dc1.drs_replicate(dc2, dc1, nc)
            dc1.drs_replicate(dc1, dc2, nc)
    except BaseException:
        dc2.stop()
        raise
    yield dc2
    dc2.stop()
