"""What a check's `needs` mean, and whether a site provides them.

A need names a source of facts; `a|b` means either will do (ad.replication reads LDAP, repadmin or
both). `ocscheck list -c FILE` uses this to say which checks would skip at that site, and why.
"""
from __future__ import annotations

from typing import Callable, Dict, List, Tuple

from ocscheck.config import Site
from ocscheck.facts import Inputs
from ocscheck.model import CheckSpec, Phase

Provided = Callable[[Site, Inputs, Phase], bool]

NEEDS: Dict[str, Tuple[str, Provided]] = {
    "dns.internal": ("[dns] internal", lambda s, i, p: bool(s.dns.internal)),
    "dns.external": ("[dns] external", lambda s, i, p: bool(s.dns.external)),
    "ldap": ("[ldap] url", lambda s, i, p: bool(s.ldap.url)),
    "winrm.server": ("[winrm.server] or --host-snapshot server=FILE",
                     lambda s, i, p: s.winrm_server is not None or "server" in i.host_snapshots),
    "winrm.dc": ("[winrm.dc], --dcdiag/--repadmin FILE or --host-snapshot dc=FILE",
                 lambda s, i, p: s.winrm_dc is not None or "dc" in i.host_snapshots or bool(i.dcdiag or i.repadmin)),
    # Post-install the certificate is read from the server; in preflight it comes from a file.
    "tls": ("--certificate FILE or [tls] certificate (preflight)",
            lambda s, i, p: p is Phase.POST or bool(i.certificate or s.tls.certificate)),
    "tls.ca_bundle": ("[tls] ca_bundle", lambda s, i, p: s.tls.ca_bundle is not None),
    "http": ("nothing (the CRL and web URLs come from the certificate and the site)", lambda s, i, p: True),
    "sip": ("nothing (the SIP listener is the sip.tls target)", lambda s, i, p: True),
}


def unknown(spec: CheckSpec) -> List[str]:
    """Needs of ``spec`` that are not in the vocabulary."""
    return [alt for need in spec.needs for alt in need.split("|") if alt not in NEEDS]


def missing(spec: CheckSpec, site: Site, inputs: Inputs, phase: Phase) -> List[str]:
    """What the site lacks for ``spec`` to run (empty when it has everything); unknown needs are not judged."""
    lacking = []
    for need in spec.needs:
        alternatives = [alt for alt in need.split("|") if alt in NEEDS]
        if alternatives and not any(NEEDS[alt][1](site, inputs, phase) for alt in alternatives):
            lacking.append(" or ".join(NEEDS[alt][0] for alt in alternatives))
    return lacking
