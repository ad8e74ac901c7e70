"""The LDAP read behind cert.ca-published: the CA certificates published in the configuration partition
(``certutil -dspublish``), one level under CN=Certification Authorities and CN=AIA."""
from __future__ import annotations

from functools import partial
from typing import Any, Callable, Dict, List, Sequence

from ocscheck.facts.lazy import lazy
from ocscheck.facts.ldap.connection import Find
from ocscheck.values.pki import CONTAINERS, PublishedCa, PublishedCas, pki_dn

ldap3 = lazy("ldap3")  # a replay imports this module, never the client
Parallel = Callable[[Sequence[Callable[[], Any]]], List[Any]]   # background.parallel, as LdapFacts runs it


def fetch_published_cas(find: Find, parallel: Parallel, configuration_nc: str) -> Dict[str, Any]:
    """The published CA objects (as PublishedCas JSON); a container that does not exist is said, not an error.

    One round trip: whether each container exists and the CA objects under it are searched at once."""
    kinds = list(CONTAINERS)
    bases = [pki_dn(CONTAINERS[kind], configuration_nc) for kind in kinds]
    found = parallel([partial(find, base, *search) for base in bases
                      for search in (("(objectClass=*)", ldap3.BASE, ("objectClass",)),
                                     ("(objectClass=certificationAuthority)", ldap3.LEVEL, ("cACertificate",)))])
    cas: Dict[str, List[PublishedCa]] = {}
    missing = []
    for kind, base, exists, entries in zip(kinds, bases, found[::2], found[1::2]):
        if not exists:
            missing.append(base)
        cas[kind] = [PublishedCa(dn, tuple(_values(raw, "cACertificate"))) for dn, raw in entries] if exists else []
    return PublishedCas(configuration_nc, tuple(cas["roots"]), tuple(cas["intermediates"]), tuple(missing)).to_json()


def _values(raw: Dict[str, List[bytes]], name: str) -> List[bytes]:
    """An attribute's raw values whatever the case or ;binary option the server answered with."""
    return [v for key, values in raw.items() if key.split(";")[0].lower() == name.lower() for v in values]
