"""The ``key=value`` lines our PowerShell probes print (PowerShell 2.0 has no ConvertTo-Json)."""
from __future__ import annotations

from typing import Dict, List, Optional


class KeyValues:
    """Lines ``key=value``; a key may repeat (``hotfix=KB974571``). Other lines are kept as noise."""

    def __init__(self, text: str):
        self.values: Dict[str, List[str]] = {}
        self.noise: List[str] = []
        for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            if not line.strip():
                continue
            key, sep, value = line.partition("=")
            if sep and key and key.replace("_", "").isalnum() and key == key.strip():
                self.values.setdefault(key, []).append(value.strip())
            else:
                self.noise.append(line.strip()[:200])

    def get(self, key: str, default: Optional[str] = None) -> Optional[str]:
        values = self.values.get(key)
        return values[0] if values else default

    def all(self, key: str) -> List[str]:
        return list(self.values.get(key, ()))

    def flag(self, key: str) -> Optional[bool]:
        value = self.get(key)
        if value is None:
            return None
        return value.lower() == "true"

    def __contains__(self, key: str) -> bool:
        return key in self.values
