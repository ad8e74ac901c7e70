"""Installed Windows features: ``Get-WindowsFeature`` names (2008 R2) or ``ServerManagerCmd -query`` XML (2008).

ServerManagerCmd writes ``<ServerManagerConfigurationQuery>`` with ``<Role>``, ``<RoleService>`` and
``<Feature>`` elements carrying ``Id`` and ``Installed="true|false"`` at any depth.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Optional, Tuple


@dataclass(frozen=True)
class FeatureList:
    installed: Tuple[str, ...]
    source: str                    # "Get-WindowsFeature" or "ServerManagerCmd"
    error: Optional[str] = None

    def has(self, name: str) -> bool:
        return name.lower() in {f.lower() for f in self.installed}


def parse_servermanagercmd_xml(text: str) -> FeatureList:
    try:
        root = ET.fromstring(text.strip().lstrip("\ufeff"))
    except ET.ParseError as exc:
        return FeatureList((), "ServerManagerCmd", error=f"ServerManagerCmd -query XML unreadable: {exc}")
    if not root.tag.split("}")[-1].startswith("ServerManagerConfiguration"):
        return FeatureList((), "ServerManagerCmd", error=f"unexpected XML root {root.tag!r}")
    installed = [el.get("Id", "") for el in root.iter()
                 if el.get("Installed", "").lower() == "true" and el.get("Id")]
    return FeatureList(tuple(dict.fromkeys(installed)), "ServerManagerCmd")
