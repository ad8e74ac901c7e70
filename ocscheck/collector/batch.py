"""Several probes in one WinRM command: the collector's building blocks (blocks.ps1) and the probes' calls,
printing the same sections a snapshot file holds (``parse_sections`` reads both).

cmd.exe takes at most MAX_COMMAND_LINE characters, and -EncodedCommand carries the script 2.67 times over
(UTF-16 in base64), so a batch holds about 3,000 characters of script: ``pack`` puts the probes a run needs
into the fewest command lines that fit. Plain script text only: no compression, no download, no
Invoke-Expression (what endpoint protection flags in encoded commands).
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

from ocscheck.collector import ENCODED_COMMAND, MAX_COMMAND_LINE, PROBES, _compact, _resource, encoded_command

MARKER = "# ocscheck-batch:"  # the first line: names the probes in the host's WinRM logs
MAX_SHELLS = 3  # commands that run at once on one host, each in a shell of its own


@lru_cache(maxsize=None)
def _blocks() -> Dict[str, str]:
    """blocks.ps1's functions by name, compacted (comments and indentation gone)."""
    found: Dict[str, str] = {}
    for function in re.findall(r"^function .*?^\}$", _resource("blocks.ps1"), re.MULTILINE | re.DOTALL):
        found[function.split()[1].split("(")[0]] = _compact(function)
    return found


def _order(names: Iterable[str]) -> List[str]:
    return [name for name in PROBES if name in set(names)]


def batch_script(names: Iterable[str]) -> str:
    """The PowerShell script running the probes ``names`` (in PROBES order) and printing their sections."""
    ordered = _order(names)
    probes = [PROBES[name] for name in ordered]
    kinds = {probe.kind for probe in probes}
    blocks = _blocks()
    needed = ["Add-Section"] + [f"Invoke-{kind.capitalize()}Probe" for kind in ("ps", "cmd") if kind in kinds]
    return "\n".join([f"{MARKER} {' '.join(ordered)}", *(blocks[name] for name in needed),
                      *(probe.call(_compact(probe.command)) for probe in probes)]) + "\n"


def batch_command_line(names: Iterable[str]) -> str:
    """The cmd.exe line running ``batch_script(names)``."""
    return encoded_command(batch_script(names))


def pack(names: Iterable[str], limit: int = MAX_COMMAND_LINE) -> List[Tuple[str, ...]]:
    """The probes ``names`` in the fewest command lines of at most ``limit`` characters, each in PROBES order.

    An exact search (a run needs at most the eight probes), the largest probes placed first.
    """
    items = sorted(set(names), key=lambda name: -len(PROBES[name].command))
    fits = lru_cache(maxsize=None)(lambda group: _line_length(group) <= limit)
    too_long = [name for name in items if not fits(frozenset([name]))]
    if too_long:
        raise ValueError(f"probe {too_long[0]} alone is over {limit} characters of command line")
    for count in range(1, len(items) + 1):
        found = _assign(items, [frozenset()] * count, fits)
        if found is not None:
            commands = [tuple(_order(group)) for group in found if group]
            return sorted(commands, key=lambda command: list(PROBES).index(command[0]))
    return []


def _assign(items: Sequence[str], groups: List[FrozenSet[str]], fits) -> Optional[List[FrozenSet[str]]]:
    """``groups`` with ``items`` added so that each group fits, or None."""
    if not items:
        return groups
    tried_empty = False
    for index, group in enumerate(groups):
        if not group:
            if tried_empty:  # the empty groups are alike: trying one is trying them all
                continue
            tried_empty = True
        grown = group | {items[0]}
        if fits(grown):
            found = _assign(items[1:], groups[:index] + [grown] + groups[index + 1:], fits)
            if found is not None:
                return found
    return None


def _line_length(names: FrozenSet[str]) -> int:
    """len(batch_command_line(names)), without encoding it."""
    return len(ENCODED_COMMAND) + 4 * math.ceil(len(batch_script(names).encode("utf-16-le")) / 3)
