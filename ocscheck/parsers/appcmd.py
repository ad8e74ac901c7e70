"""``appcmd list site``: ``SITE "Default Web Site" (id:1,bindings:http/*:80:,https/*:443:,state:Started)``."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Tuple

# Bindings may themselves contain commas, so the group runs to the last ",state:".
_SITE = re.compile(r'^\s*SITE\s+"(?P<name>[^"]*)"\s+\(id:(?P<id>\d+),'
                   r'bindings:(?P<bindings>.*),state:(?P<state>[^)]*)\)\s*$')


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
        match = _SITE.match(line)
        if not match:
            other += 1
            continue
        bindings = tuple(b for b in _split_bindings(match.group("bindings")) if b)
        sites.append(Site(match.group("name"), int(match.group("id")), bindings, match.group("state")))
    if not sites and other:
        return SiteList((), error="not appcmd list site output")
    return SiteList(tuple(sites))


def _split_bindings(text: str):
    """``http/*:80:,https/*:443:,net.tcp/808:*``: a new binding starts at ``,protocol/``."""
    return [part for part in re.split(r",(?=[A-Za-z][A-Za-z0-9.+-]*/)", text)]
