"""Where a dotted key of a TOML site file is written, so that configuration errors name its line.

Kept apart from config.py (the schema and its validation) to keep each module small.
"""
from __future__ import annotations

import re
from typing import Dict, Optional


class KeyLines:
    """Finds the line of a dotted key in TOML text (best effort: tables and simple keys)."""

    def __init__(self, text: str):
        self.lines: Dict[str, int] = {}
        table = ""
        for number, line in enumerate(text.splitlines(), 1):
            header = re.match(r"^\s*\[\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\s*(#.*)?$", line)
            if header:
                table = header.group(1).replace('"', "").replace(" ", "")
                self.lines.setdefault(table, number)
                continue
            key = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*=", line)
            if key:
                self.lines.setdefault(f"{table}.{key.group(1)}" if table else key.group(1), number)

    def line(self, dotted: str) -> Optional[int]:
        while dotted:
            if dotted in self.lines:
                return self.lines[dotted]
            dotted = dotted.rpartition(".")[0]
        return None
