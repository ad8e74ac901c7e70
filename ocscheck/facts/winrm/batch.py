"""A host's planned probes, run together over WinRM, and how a probe's bytes become its recorded output.

The prefetch plans, per host, the probes its selected checks declare (``@reads``); the first read of any
of them (or the prefetch itself) runs them all: the fewest command lines that fit (collector.batch.pack),
each in a shell of its own, at once. Each probe's section becomes the very ProbeOutput a command of its
own gives (source ``winrm <url>``), so recordings and replays do not change. Per probe, what comes back:
its output; its failure (a damaged section, an endless output, or the host's failure: timed out, refused);
or nothing (its section never came: PowerShell stopped early, a fault of one request): it then runs alone.
"""
from __future__ import annotations

import base64
import binascii
import threading
import xml.etree.ElementTree as ET
from functools import cached_property
from typing import Callable, Dict, FrozenSet, Iterable, List, Optional, Sequence, Union

from ocscheck.collector import PROBES, Probe, SnapshotError, parse_sections
from ocscheck.collector.batch import MAX_SHELLS, pack
from ocscheck.facts.store import FactUnavailable, Reason
from ocscheck.facts.winrm.transport import STICKY, Output, WinrmClient
from ocscheck.parsers.decode import decode_output
from ocscheck.values.host import ProbeOutput

Received = Union[ProbeOutput, FactUnavailable, None]


class PlannedProbes:
    """The planned probes of one host: run once, at the first ``start``; ``result`` waits for a probe's."""

    def __init__(self, names: Iterable[str], client: Callable[[], WinrmClient], source: str):
        self.names: FrozenSet[str] = frozenset(names)
        self._client = client
        self._source = source
        self._results: Dict[str, Received] = {}
        self._done = {name: threading.Event() for name in self.names}
        self._lock = threading.Lock()
        self._started = False

    @cached_property
    def _commands(self) -> List[Sequence[str]]:
        return list(pack(self.names))

    @property
    def shells(self) -> int:
        """How many shells (each on a connection of its own) ``start`` opens at once."""
        return min(MAX_SHELLS, len(self._commands))

    def start(self) -> None:
        """Send the commands (once): at most MAX_SHELLS at a time, each on a shell of its own."""
        with self._lock:
            if self._started:
                return
            self._started = True
        commands = self._commands
        for lane in range(self.shells):
            threading.Thread(target=self._run, args=(commands[lane::MAX_SHELLS],), daemon=True,
                             name=f"winrm batch {self._source}").start()

    def result(self, name: str) -> Optional[ProbeOutput]:
        """Probe ``name``'s output, or None when its section did not come (run it alone); raises its failure."""
        self.start()
        self._done[name].wait()  # set by _run, whatever happens (every wait of the command is bounded)
        result = self._results.get(name)
        if isinstance(result, FactUnavailable):
            raise FactUnavailable(result.reason, result.detail, result.raw)
        return result

    def _run(self, commands: List[Sequence[str]]) -> None:
        for names in commands:
            output = Output(names, batch=True)
            try:
                try:
                    self._client().run_batch(names, output)
                    failure: Optional[FactUnavailable] = None
                except FactUnavailable as exc:
                    failure = exc
                self._results.update(self._sections(names, output, failure))
            finally:
                for name in names:  # no result: the probe runs alone
                    self._done[name].set()

    def _sections(self, names: Sequence[str], output: Output, failure: Optional[FactUnavailable]
                  ) -> Dict[str, Received]:
        """Each probe of ``names``: its section's output, or its failure, or None (not received)."""
        found: Dict[str, Received] = {}
        text = bytes(output.stdout).decode("ascii", errors="replace").replace("\r\n", "\n")
        if failure is not None:  # cut short: whole sections only, each ended by an empty line
            text = text[:text.rfind("\n\n") + 1]
        sections = []
        try:
            for section in parse_sections(text.split("\n")):
                sections.append(section)
        except SnapshotError:
            pass  # a damaged section line: what follows it cannot be attributed; those probes run alone
        for name, exit_code, data in sections:
            if name not in names:
                continue
            if data is None:
                found[name] = FactUnavailable(Reason.PROTOCOL, f"probe {name} on {self._source}: its section is "
                                                               f"damaged (base64 that does not decode)")
            else:
                found[name] = probe_output(PROBES[name], self._source, exit_code, data, b"", remote=False)
        if failure is not None and output.overflowing:  # an endless output: that probe's failure alone
            found[output.printing] = failure
        elif failure is not None and failure.reason in STICKY:  # the host's: every probe not received
            found.update({name: failure for name in names if name not in found})
        return found


def probe_output(probe: Probe, source: str, exit_code: int, stdout: bytes, stderr: bytes,
                 remote: bool) -> ProbeOutput:
    """The decoded output of a probe; a PowerShell probe run alone prints its text base64-encoded (``remote``)."""
    err = _clean_stderr(stderr)
    if probe.kind == "ps":
        data = stdout
        if remote:
            try:
                data = base64.b64decode(b"".join(stdout.split()), validate=True)
            except (binascii.Error, ValueError):
                raise FactUnavailable(Reason.PROTOCOL, f"probe {probe.name} on {source}: PowerShell printed no "
                                                       f"result (exit {exit_code}): {err or stdout[:200]!r}") from None
        return ProbeOutput(source, exit_code, data.decode("utf-8", errors="replace"), "utf-8", err)
    decoded = decode_output(stdout)
    return ProbeOutput(source, exit_code, decoded.text, decoded.encoding, err)


def _clean_stderr(stderr: bytes) -> str:
    """PowerShell's CLIXML error stream reduced to its text, short."""
    text = stderr.decode("utf-8", errors="replace")
    if text.startswith("#< CLIXML"):
        try:
            root = ET.fromstring(text.split("\n", 1)[1])
            text = " ".join((node.text or "") for node in root.iter() if node.tag.endswith("S"))
            text = text.replace("_x000D__x000A_", " ")
        except (ET.ParseError, IndexError):
            pass
    return " ".join(text.split())[:500]
