"""The LDAP read behind cert.ca-published: the CA certificates published in the configuration partition
(``certutil -dspublish``), one level under CN=Certification Authorities and CN=AIA."""
from __future__ import annotations

from typing import Any, Dict, List

from ocscheck.facts.ldap.connection import search
from ocscheck.facts.lazy import lazy
from ocscheck.values.pki import CONTAINERS, PublishedCa, PublishedCas, pki_dn

ldap3 = lazy("ldap3")  # a replay imports this module, never the client


def fetch_published_cas(conn: ldap3.Connection, configuration_nc: str) -> Dict[str, Any]:
    """The published CA objects (as PublishedCas JSON); a container that does not exist is said, not an error."""
    found: Dict[str, List[PublishedCa]] = {}
    missing = []
    for kind, container in CONTAINERS.items():
        base = pki_dn(container, configuration_nc)
        if not search(conn, base, "(objectClass=*)", ldap3.BASE, ("objectClass",)):
            missing.append(base)
            found[kind] = []
            continue
        entries = search(conn, base, "(objectClass=certificationAuthority)", ldap3.LEVEL, ("cACertificate",))
        found[kind] = [PublishedCa(dn, tuple(_values(raw, "cACertificate"))) for dn, raw in entries]
    return PublishedCas(configuration_nc, tuple(found["roots"]), tuple(found["intermediates"]),
                        tuple(missing)).to_json()


def _values(raw: Dict[str, List[bytes]], name: str) -> List[bytes]:
    """An attribute's raw values whatever the case or ;binary option the server answered with."""
    return [v for key, values in raw.items() if key.split(";")[0].lower() == name.lower() for v in values]
