"""``appcmd list site``: ``SITE "Default Web Site" (id:1,bindings:http/*:80:,https/*:443:,state:Started)``."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Tuple

# The head of a line, matched anchored; the rest (bindings, state) is cut with str methods: bindings may
# themselves contain commas, so they run to the last ",state:". A single pattern ".*,state:[^)]*" for that
# backtracked quadratically (20,000 x ",state:" took 29 s). Site ids are 32-bit: at most 10 digits.
_HEAD = re.compile(r'SITE\s+"(?P<name>[^"]*)"\s+\(id:(?P<id>[0-9]{1,10}),bindings:')
_STATE = ",state:"


@dataclass(frozen=True)
class Site:
    name: str
    id: int
    bindings: Tuple[str, ...]
    state: str


@dataclass(frozen=True)
class SiteList:
    sites: Tuple[Site, ...]
    error: Optional[str] = None

    def default_site(self) -> Optional[Site]:
        """"Default Web Site" by name, else the site with id 1 (IIS's first site)."""
        for site in self.sites:
            if site.name.lower() == "default web site":
                return site
        return next((s for s in self.sites if s.id == 1), None)


def parse_site_list(text: str) -> SiteList:
    sites = []
    other = 0
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line.strip():
            continue
        site = _site(line.strip())
        if site is None:
            other += 1
            continue
        sites.append(site)
    if not sites and other:
        return SiteList((), error="not appcmd list site output")
    return SiteList(tuple(sites))


def _site(line: str) -> Optional[Site]:
    head = _HEAD.match(line)
    if head is None or not line.endswith(")"):
        return None
    rest = line[head.end():-1]
    cut = rest.rfind(_STATE)
    if cut < 0 or ")" in rest[cut + len(_STATE):]:
        return None
    bindings = tuple(b for b in _split_bindings(rest[:cut]) if b)
    return Site(head.group("name"), int(head.group("id")), bindings, rest[cut + len(_STATE):])


def _split_bindings(text: str):
    """``http/*:80:,https/*:443:,net.tcp/808:*``: a new binding starts at ``,protocol/``."""
    return [part for part in re.split(r",(?=[A-Za-z][A-Za-z0-9.+-]*/)", text)]
