"""Adversarial inputs for the Windows parsers, shared by the timing tests and bench/parsers_adversarial.py.

Each generator makes text of about ``size`` characters in a shape that made an old regular expression
backtrack (quadratic or worse) or that stresses line splitting.
"""
from __future__ import annotations

from typing import Callable, Dict

from ocscheck.parsers.appcmd import parse_site_list
from ocscheck.parsers.dcdiag import parse_dcdiag
from ocscheck.parsers.hostinfo import parse_events, parse_features, parse_ocs, parse_system
from ocscheck.parsers.keyvalue import KeyValues
from ocscheck.parsers.netsh import parse_sslcert
from ocscheck.parsers.repadmin import parse_showrepl_csv


def _repeat(unit: str, size: int, prefix: str = "", suffix: str = "") -> str:
    return prefix + unit * max(1, (size - len(prefix) - len(suffix)) // len(unit)) + suffix


ADVERSARIAL: Dict[str, Callable[[int], str]] = {
    "spaces": lambda n: _repeat(" ", n),
    "spaces-x": lambda n: _repeat(" ", n, suffix="x"),
    "ipport-spaces": lambda n: _repeat(" ", n, prefix="IP:port : 0.0.0.0:443", suffix="x"),
    "ipport-trailing": lambda n: _repeat(" ", n, prefix="IP:port : 0.0.0.0:443"),
    "colons": lambda n: _repeat(" :", n, prefix="a"),
    "appcmd-state": lambda n: _repeat(",state:", n, prefix='SITE "x" (id:1,bindings:'),
    "appcmd-binding": lambda n: _repeat(",a/", n, prefix='SITE "x" (id:1,bindings:'),
    "dots": lambda n: _repeat(".", n, suffix="x"),
    "dots-spaces": lambda n: _repeat(". ", n),
    "dcdiag-words": lambda n: _repeat(" passed test", n, prefix="......... DC01"),
    "french": lambda n: _repeat("Le test ", n, prefix="......... "),
    "csv-quotes": lambda n: _repeat('"', n, prefix="showrepl_INFO,"),
    "csv-commas": lambda n: _repeat(",", n, prefix="showrepl_INFO"),
    "win32": lambda n: _repeat("Win32 Err ", n, prefix="showrepl_ERROR,"),
    "win32-blanks": lambda n: _repeat(" ", n, prefix="showrepl_ERROR,x,y,Win32 Err", suffix="x"),
    "digits": lambda n: _repeat("9", n, prefix="showrepl_INFO,a,b,c,d,e,f,", suffix=",0,0,"),
    "site-header": lambda n: _repeat(" ", n, prefix="["),
    "appcmd-state-x": lambda n: _repeat(",state:", n, prefix='SITE "x" (id:1,bindings:', suffix=")x"),
    "keyvalue-lines": lambda n: _repeat("hotfix=KB1\n", n, prefix="caption=x\nversion=6.1\n"),
    "equals": lambda n: _repeat("=", n),
    "many-lines": lambda n: _repeat("\n", n),
    "pipes": lambda n: _repeat("|", n, prefix="service="),
    "xml-nest": lambda n: _repeat("<a>", n, prefix="<ServerManagerConfigurationQuery>"),
}

PARSERS: Dict[str, Callable[[str], object]] = {
    "netsh": parse_sslcert,
    "appcmd": parse_site_list,
    "dcdiag": parse_dcdiag,
    "repadmin": parse_showrepl_csv,
    "system": parse_system,
    "features": parse_features,
    "ocs": parse_ocs,
    "events": parse_events,
    "keyvalue": KeyValues,
}
