"""Record the bundled examples (ocscheck/example/ and ocscheck/example/failing/) from the lab.

    bash tests/run.sh --record-example      (as root: the lab binds privileged ports)

Brings up every area's good lab — Samba AD, PKI + nginx + Kamailio, the WinRM endpoint, the two
dnsmasq views — writes the site file the runs used to ocscheck/example/site.toml (with the CA bundle
and the preflight certificate beside it) and the recorded facts of a post and a preflight run.
`ocscheck post --example` replays them with no network. Then the same with the failures people meet
(KB974571 installed before setup, a SAN without sip.<domain>, the SRV on 5060, the Front End stopped,
a replication failure) into ocscheck/example/failing/: `ocscheck post --example failing`.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, Dict, List

from ocscheck.siteinit import render_site
from tests.helpers import merge
from tests.lab import dnsmasq, samba, tls_lab
from tests import winrm_endpoint

EXAMPLE = Path(__file__).resolve().parents[2] / "ocscheck" / "example"
# The tutorial's deployment, all right; and the same with the mistakes people meet (--example failing).
EXAMPLES = {"tutorial": EXAMPLE, "failing": EXAMPLE / "failing"}
FAILING_SANS = ("ocs.todorovic.adds", "cwa.todorovic.fr")  # sip.todorovic.fr forgotten
BASE: Dict[str, Any] = {
    "deployment": {"server_fqdn": "ocs.todorovic.adds", "sip_domains": ["todorovic.fr"], "ad_domain": "todorovic.adds",
                   "server_ip": "127.0.0.20", "extra_sans": ["cwa.todorovic.fr"]},
    "dns": {"management_server": "ocsdc1.todorovic.adds"},
    "run": {"timeout": 5.0},
}


def _flatten(values: Dict[str, Any]) -> Dict[str, Dict[str, Any]]:
    """{"winrm": {"server": {...}}} -> {"winrm.server": {...}} as render_site expects."""
    flat = {k: v for k, v in values.items() if k != "winrm"}
    for role, table in values.get("winrm", {}).items():
        flat[f"winrm.{role}"] = table
    return flat


def _publish_cas(ad: Dict[str, Any], tls_dir: Path) -> None:
    """Publish the TLS lab's root (RootCA) and issuing CA (SubCA) in the AD lab's configuration partition,
    as `certutil -dspublish` does in the tutorial's forest."""
    import ssl

    import ldap3
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    from tests.lab.pki import publish_in_ad

    cas = x509.load_pem_x509_certificates((tls_dir / "ca.pem").read_bytes())  # root, then the issuing CA
    url = str(ad["ldap"]["url"])
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=str(ad["tls"]["ca_bundle"]))
    server = ldap3.Server(url.split("://", 1)[1].split(":")[0].rstrip("/"), port=636, use_ssl=True, tls=tls,
                          get_info=ldap3.NONE)
    with ldap3.Connection(server, f"Administrator@{samba.DOMAIN}", samba.ADMIN_PASSWORD, auto_bind=True) as conn:
        for cert, kind in zip(cas, ("RootCA", "SubCA")):
            cn = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
            publish_in_ad(conn, samba.CONFIG_DN, kind, str(cn), cert.public_bytes(Encoding.DER))


def record(name: str, ad: Dict[str, Any], work: Path) -> None:
    """Bring up the TLS, WinRM and DNS labs of example ``name`` beside the running AD lab, write its site file,
    CA bundle and preflight certificate, record a post and a preflight run, and stop those labs."""
    folder = EXAMPLES[name]
    folder.mkdir(exist_ok=True)
    failing = name == "failing"
    stops: List[Callable[[], None]] = []
    try:
        tls, stop = tls_lab.start_good_lab(work / "tls", also_trust=[Path(ad["tls"]["ca_bundle"])],
                                           sans=FAILING_SANS if failing else tls_lab.GOOD_SANS)
        stops.append(stop)
        start_hosts = winrm_endpoint.start_failing_lab if failing else winrm_endpoint.start_good_lab
        hosts, stop = start_hosts(work / "winrm", tls_lab.good_lab_thumbprint(work / "tls"))
        stops.append(stop)
        dns, stop = dnsmasq.start_good_lab(work, dnsmasq.failing_internal() if failing else None)
        stops.append(stop)
        _publish_cas(ad, work / "tls")  # cert.ca-published: the TLS lab's CAs published in the forest
        # The TLS lab's bundle holds both CAs: it must win over the AD lab's.
        values = merge(merge(merge(merge(BASE, ad), hosts), dns), tls)
        shutil.copy(values["tls"]["ca_bundle"], folder / "ca.pem")
        shutil.copy(work / "tls" / "certs" / "sip.crt", folder / "ocs-certificate.pem")
        values = merge(values, {"tls": {"ca_bundle": "ca.pem", "certificate": "ocs-certificate.pem"}})
        (folder / "site.toml").write_text(render_site(_flatten(values)))
        env = {**os.environ, samba.READER_ENV: samba.READER_PASSWORD, **winrm_endpoint.env()}
        for phase in ("post", "preflight"):
            subprocess.run([sys.executable, "-m", "ocscheck", phase, "-c", str(folder / "site.toml"), "-q",
                            "--record", str(folder / f"{phase}.facts.json")], check=False, env=env)
    finally:
        for stop in reversed(stops):
            stop()
    print(f"recorded the {name} example into {folder}")


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="ocscheck-example-"))
    try:
        ad, stop = samba.start_good_lab(work / "ad")
        try:
            for name in EXAMPLES:
                record(name, ad, work / name)
        finally:
            stop()
    finally:
        # Samba's last writes may land while the tree goes: what is left in /tmp is not worth a failure.
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
