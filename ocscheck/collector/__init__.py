"""The host probes, shared by the WinRM path and the offline collector.

A probe is either a PowerShell script (``probe-<name>.ps1``, printing ``key=value`` lines) or a
native command line (netsh, appcmd, dcdiag, repadmin). Over WinRM each probe runs on its own in
one shell; ``collect.ps1`` runs them all on the host and writes one snapshot file holding each
probe's output bytes, which ``read_snapshot`` gives back exactly as WinRM would have.
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Dict, Optional, Tuple

from ocscheck.powershell import ps_quote

SNAPSHOT_MAGIC = "ocscheck-snapshot 1"
# cmd.exe refuses command lines over 8,191 characters; a probe must stay well below it.
MAX_COMMAND_LINE = 8191


@dataclass(frozen=True)
class Probe:
    name: str
    kind: str                # "ps" (PowerShell script) or "cmd" (native command line)
    command: str             # the script text, or the command line
    dc_only: bool = False    # collect.ps1 runs it on domain controllers only

    @property
    def script(self) -> str:
        """The PowerShell text sent for a "ps" probe: the body, its output base64-encoded as UTF-8.

        Base64 keeps accented text (French event messages, service names) intact whatever the
        console code page of the remote shell; the marker line names the probe in the WinRM logs.
        """
        return (f"# ocscheck-probe: {self.name}\n"
                f"$ocscheckLines = & {{\n{_compact(self.command)}\n}} 2>$null\n"
                "[Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes("
                "(($ocscheckLines | ForEach-Object { '' + $_ }) -join \"`n\")))\n")

    def command_line(self) -> str:
        """What the WinRM cmd shell runs for this probe."""
        if self.kind == "cmd":
            return f"{self.command} 2>&1"
        encoded = base64.b64encode(self.script.encode("utf-16-le")).decode("ascii")
        return f"powershell.exe -NoProfile -NonInteractive -EncodedCommand {encoded}"


def _compact(script: str) -> str:
    """The script without comment lines and indentation: the command line carries it 2.7 times over."""
    lines = (line.strip() for line in script.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("#"))


def _script(name: str) -> str:
    return resources.files(__name__).joinpath(f"probe-{name}.ps1").read_text(encoding="utf-8")


PROBES: Dict[str, Probe] = {p.name: p for p in (
    Probe("system", "ps", _script("system")),
    Probe("features", "ps", _script("features")),
    Probe("ocs", "ps", _script("ocs")),
    Probe("events", "ps", _script("events")),
    # Every entry, not only 0.0.0.0:443: an IIS binding on a specific address has its own IP:port entry.
    Probe("sslcert", "cmd", "netsh http show sslcert"),
    Probe("sites", "cmd", r"%windir%\system32\inetsrv\appcmd.exe list site"),
    Probe("dcdiag", "cmd", "dcdiag", dc_only=True),
    Probe("repadmin", "cmd", "repadmin /showrepl * /csv", dc_only=True),
)}


def script_text() -> str:
    """collect.ps1 with every probe in it: what ``ocscheck collect`` prints."""
    template = resources.files(__name__).joinpath("collect.ps1").read_text(encoding="utf-8")
    calls = []
    for probe in PROBES.values():
        if probe.kind == "ps":
            call = f"Invoke-PsProbe {ps_quote(probe.name)} {{\n{probe.command.strip()}\n}}"
        else:
            call = f"Invoke-CmdProbe {ps_quote(probe.name)} {ps_quote(probe.command)}"
        calls.append(f"if ($isDc) {{ {call} }}" if probe.dc_only else call)
    return template.replace("#@PROBES@", "\n".join(calls))


@dataclass(frozen=True)
class SnapshotSection:
    exit_code: int
    data: bytes


@dataclass(frozen=True)
class Snapshot:
    host: str
    taken: str
    sections: Dict[str, SnapshotSection]


class SnapshotError(ValueError):
    pass


# An exit code is 32 bits (Windows prints it signed or unsigned): at most 10 digits and a sign.
_SECTION = re.compile(r"\[probe ([a-z0-9-]{1,64}) exit=(-?[0-9]{1,10})\]")
_SECTION_START = "[probe "
# collect.ps1's snapshot of a busy host is a few MB (events and dcdiag are the largest sections, base64
# adds a third); 64 MiB is far above it and still bounds what a hostile or wrong file costs to read.
MAX_SNAPSHOT_BYTES = 64 << 20


def read_snapshot(path: Path) -> Snapshot:
    """Parse a file written by collect.ps1 (also after an editor re-saved it as UTF-16)."""
    from ocscheck.parsers.decode import decode_output

    from ocscheck.atomic import read_bytes_capped

    try:
        raw = read_bytes_capped(Path(path), MAX_SNAPSHOT_BYTES)
    except OSError as exc:
        raise SnapshotError(f"{path}: cannot read the snapshot: {exc.strerror or exc}") from None
    lines = decode_output(raw).text.replace("\r\n", "\n").split("\n")
    if not lines or lines[0].strip().lstrip("\ufeff") != SNAPSHOT_MAGIC:
        raise SnapshotError(f"{path}: not an ocscheck snapshot (first line is not {SNAPSHOT_MAGIC!r})")
    header: Dict[str, str] = {}
    sections: Dict[str, SnapshotSection] = {}
    current: Optional[Tuple[str, int]] = None
    chunks: list = []

    def close() -> None:
        if current is None:
            return
        try:
            data = base64.b64decode("".join(chunks), validate=True)
        except (binascii.Error, ValueError):
            raise SnapshotError(f"{path}: probe {current[0]}: damaged base64") from None
        sections[current[0]] = SnapshotSection(current[1], data)

    for line in lines[1:]:
        line = line.strip()
        match = _SECTION.fullmatch(line)
        if match is None and line.startswith(_SECTION_START):
            raise SnapshotError(f"{path}: damaged probe header {line[:80]!r} "
                                "(expected [probe NAME exit=CODE], CODE at most 10 digits)")
        if match:
            close()
            current, chunks = (match.group(1), int(match.group(2))), []
        elif current is not None:
            chunks.append(line)
        elif "=" in line:
            key, _, value = line.partition("=")
            header[key] = value
    close()
    return Snapshot(header.get("host", ""), header.get("taken", ""), sections)
