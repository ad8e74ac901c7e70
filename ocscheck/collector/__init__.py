"""The host probes, shared by the WinRM path and the offline collector.

A probe is either a PowerShell script (``probe-<name>.ps1``, printing ``key=value`` lines) or a
native command line (netsh, appcmd, dcdiag, repadmin). ``collect.ps1`` runs them all on the host and
writes one snapshot file of sections, each probe's output bytes (blocks.ps1); over WinRM the probes a
run needs print the same sections in one command (``batch``), and a probe read on its own runs alone.
``parse_sections`` reads both, so a snapshot gives back exactly what WinRM would have.

Checks declare the probes they read with ``@reads``, so that a run asks each host for them at once.
"""
from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, FrozenSet, Iterable, Iterator, List, Optional, Tuple, TypeVar

from ocscheck.powershell import ps_quote

SNAPSHOT_MAGIC = "ocscheck-snapshot 1"
# cmd.exe refuses command lines over 8,191 characters; a probe must stay well below it.
MAX_COMMAND_LINE = 8191
ENCODED_COMMAND = "powershell.exe -NoProfile -NonInteractive -EncodedCommand "
ROLES = ("server", "dc")


@dataclass(frozen=True)
class Probe:
    name: str
    kind: str                # "ps" (PowerShell script) or "cmd" (native command line)
    command: str             # the script text, or the command line
    dc_only: bool = False    # collect.ps1 runs it on domain controllers only

    @property
    def script(self) -> str:
        """The PowerShell text sent for a "ps" probe run alone: the body, its output base64-encoded as UTF-8.

        Base64 keeps accented text (French event messages, service names) intact whatever the
        console code page of the remote shell; the marker line names the probe in the WinRM logs.
        """
        return (f"# ocscheck-probe: {self.name}\n"
                f"$ocscheckLines = & {{\n{_compact(self.command)}\n}} 2>$null\n"
                "[Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes("
                "(($ocscheckLines | ForEach-Object { '' + $_ }) -join \"`n\")))\n")

    def command_line(self) -> str:
        """What the WinRM cmd shell runs for this probe alone."""
        if self.kind == "cmd":
            return f"{self.command} 2>&1"
        return encoded_command(self.script)

    def call(self, body: str) -> str:
        """The blocks.ps1 call that runs this probe and prints its section (``body``: the script as given)."""
        if self.kind == "ps":
            return f"Invoke-PsProbe {ps_quote(self.name)} {{\n{body}\n}}"
        return f"Invoke-CmdProbe {ps_quote(self.name)} {ps_quote(self.command)}"


def encoded_command(script: str) -> str:
    """The cmd.exe line running ``script`` (UTF-16LE in base64: 2.67 characters per character of script)."""
    return ENCODED_COMMAND + base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def _compact(script: str) -> str:
    """The script without comment lines and indentation: the command line carries it 2.7 times over."""
    lines = (line.strip() for line in script.splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("#"))


def _resource(name: str) -> str:
    # A file beside this module, as the bundled example is read (cli.common.EXAMPLE_DIR): the package is
    # installed as files, and importlib.resources would cost every run 2 ms of imports (tempfile, shutil).
    return (Path(__file__).parent / name).read_text(encoding="utf-8")


PROBES: Dict[str, Probe] = {p.name: p for p in (
    Probe("system", "ps", _resource("probe-system.ps1")),
    Probe("features", "ps", _resource("probe-features.ps1")),
    Probe("ocs", "ps", _resource("probe-ocs.ps1")),
    Probe("events", "ps", _resource("probe-events.ps1")),
    # Every entry, not only 0.0.0.0:443: an IIS binding on a specific address has its own IP:port entry.
    Probe("sslcert", "cmd", "netsh http show sslcert"),
    Probe("sites", "cmd", r"%windir%\system32\inetsrv\appcmd.exe list site"),
    Probe("repadmin", "cmd", "repadmin /showrepl * /csv", dc_only=True),
    # Last: a real dcdiag takes 10-60 s, and the sections before it reach ocscheck while it runs.
    Probe("dcdiag", "cmd", "dcdiag", dc_only=True),
)}


def script_text() -> str:
    """collect.ps1 with the building blocks and every probe in it: what ``ocscheck collect`` prints."""
    calls = []
    for probe in PROBES.values():
        call = f"Write-Host {ps_quote('ocscheck: ' + probe.name)}\n{probe.call(probe.command.strip())}"
        calls.append(f"if ($isDc) {{\n{call}\n}}" if probe.dc_only else call)
    return (_resource("collect.ps1").replace("#@BLOCKS@", _resource("blocks.ps1").strip())
            .replace("#@PROBES@", "\n".join(calls)))


# ---- which probes a check reads ----

F = TypeVar("F", bound=Callable)
HOST_READS = "host_reads"  # the attribute @reads sets on a check function


def reads(role: str, *probes: str, phase: Optional[str] = None) -> Callable[[F], F]:
    """Declare, on a check function, the probes of host ``role`` it reads (in ``phase`` only, when given).

    A run asks each WinRM host for its selected checks' probes in one command (ocscheck.prefetch); a
    probe read but not declared still works, on its own. tests/test_winrm_reads.py holds every
    declaration to what the check reads in the bundled examples.
    """
    if role not in ROLES:
        raise ValueError(f"@reads: unknown host role {role!r} (known: {', '.join(ROLES)})")
    unknown = [p for p in probes if p not in PROBES]
    if unknown:
        raise ValueError(f"@reads: unknown probe(s) {', '.join(unknown)} (known: {', '.join(PROBES)})")
    if phase not in (None, "preflight", "post"):
        raise ValueError(f"@reads: unknown phase {phase!r}")

    def declare(func: F) -> F:
        setattr(func, HOST_READS, getattr(func, HOST_READS, ()) + ((role, frozenset(probes), phase),))
        return func

    return declare


def host_reads(func: Callable, phase: str) -> Dict[str, FrozenSet[str]]:
    """The probes, by host role, that the check ``func`` declares it reads in ``phase``."""
    found: Dict[str, FrozenSet[str]] = {}
    for role, probes, only in getattr(func, HOST_READS, ()):
        if only in (None, phase):
            found[role] = found.get(role, frozenset()) | probes
    return found


# ---- sections: a snapshot file, or a batch's output ----

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
SECTION_START = "[probe "
# collect.ps1's snapshot of a busy host is a few MB (events and dcdiag are the largest sections, base64
# adds a third); 64 MiB is far above it and still bounds what a hostile or wrong file costs to read.
MAX_SNAPSHOT_BYTES = 64 << 20


def parse_sections(lines: Iterable[str], header: Optional[Dict[str, str]] = None
                   ) -> Iterator[Tuple[str, int, Optional[bytes]]]:
    """Each section of ``lines`` as (probe, exit code, its bytes or None when its base64 is damaged), in order.

    ``key=value`` lines before the first section go into ``header``. A damaged section line raises
    SnapshotError after the sections before it (what follows cannot be attributed).
    """
    current: Optional[Tuple[str, int]] = None
    chunks: List[str] = []
    for line in lines:
        line = line.strip()
        match = _SECTION.fullmatch(line)
        if match is None and line.startswith(SECTION_START):
            raise SnapshotError(f"damaged probe header {line[:80]!r} "
                                "(expected [probe NAME exit=CODE], CODE at most 10 digits)")
        if match:
            if current is not None:
                yield current[0], current[1], _decoded(chunks)
            current, chunks = (match.group(1), int(match.group(2))), []
        elif current is not None:
            chunks.append(line)
        elif "=" in line and header is not None:
            key, _, value = line.partition("=")
            header[key] = value
    if current is not None:
        yield current[0], current[1], _decoded(chunks)


def _decoded(chunks: List[str]) -> Optional[bytes]:
    try:
        return base64.b64decode("".join(chunks), validate=True)
    except (binascii.Error, ValueError):
        return None


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
    try:
        for name, exit_code, data in parse_sections(lines[1:], header):
            if data is None:
                raise SnapshotError(f"probe {name}: damaged base64")
            sections[name] = SnapshotSection(exit_code, data)
    except SnapshotError as exc:
        raise SnapshotError(f"{path}: {exc}") from None
    return Snapshot(header.get("host", ""), header.get("taken", ""), sections)
