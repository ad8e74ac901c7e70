"""Windows host facts: over WinRM (pywinrm), or from a snapshot written by collect.ps1.

A host's facts are the outputs of a few small probes (ocscheck/collector): PowerShell 2.0 scripts
printing ``key=value`` lines, and native tools (netsh, appcmd, dcdiag, repadmin) captured as bytes.
Each probe output is one recorded fact, ``host:<role>:<probe>``, holding the decoded text; the
accessors below parse it (pure parsers in ocscheck/parsers), so record/replay and the snapshot give
exactly the verdicts the live host gives.

Over WinRM, the probes a run plans for the host (``plan``: its checks' ``@reads``) run together at the
first read of any (``batch``); a probe read but not planned runs alone, on a shell kept for such reads
(``transport``).
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

from ocscheck.collector import PROBES, ROLES, Probe, Snapshot, SnapshotError, read_snapshot
from ocscheck.config import WinrmHost
from ocscheck.values.iis import HttpsBinding
from ocscheck.values.replication import ReplicationLink
from ocscheck.facts.store import FactUnavailable, Reason
from ocscheck.facts.winrm.batch import PlannedProbes, probe_output
from ocscheck.facts.winrm.transport import WinrmClient, endpoint_url
from ocscheck.parsers.appcmd import parse_site_list
from ocscheck.parsers.dcdiag import DcdiagReport, parse_dcdiag
from ocscheck.parsers.decode import decode_output
from ocscheck.parsers.features import FeatureList
from ocscheck.parsers.hostinfo import (Event, EventSearch, OcsInfo, SystemInfo, parse_event_searches,
                                       parse_events, parse_features, parse_ocs, parse_system)
from ocscheck.parsers.netsh import parse_sslcert
from ocscheck.parsers.repadmin import RepadminReport, parse_showrepl_csv
from ocscheck.values.host import ProbeOutput

# Probes an accessor reads with another: repadmin's CSV is in the DC's local time (system: its UTC offset).
COMPANIONS = {"repadmin": ("system",)}
# cmd.exe's answer when a program does not exist ("is not recognized as an internal or external command").
EXIT_NOT_FOUND = 9009


def key(role: str, probe: str) -> str:
    """The recording key of probe ``probe``'s output on the host ``role`` (server or dc)."""
    return f"host:{role}:{probe}"


class HostFacts:
    """The facts of one Windows host, ``role`` "server" (the OCS server) or "dc" (a domain controller)."""

    def __init__(self, facts, role: str):
        if role not in ROLES:
            raise ValueError(f"unknown host role {role!r} (known: {', '.join(ROLES)})")
        self._facts = facts
        self.role = role
        self.settings: Optional[WinrmHost] = facts.site.winrm_hosts().get(role)
        self.snapshot_path: Optional[Path] = facts.inputs.host_snapshots.get(role)
        self._snapshot: Optional[Snapshot] = None
        self._lock = threading.Lock()
        self._client: Optional[WinrmClient] = None
        self._planned: Optional[PlannedProbes] = None

    def plan(self, names: Iterable[str]) -> bool:
        """Have the probes ``names`` (and their companions) run together, at the first read of any or at
        ``start``; the ones a saved output replaces are left out. Once per run, WinRM hosts only: whether
        anything was planned."""
        if self.snapshot_path or self.settings is None:
            return False
        inputs = self._facts.inputs
        saved = {"dcdiag": inputs.dcdiag, "repadmin": inputs.repadmin}  # --dcdiag/--repadmin FILE: read instead
        wanted = {found for name in names if not saved.get(name) for found in (name, *COMPANIONS.get(name, ()))}
        with self._lock:
            if not wanted or self._planned is not None:
                return False
            self._planned = PlannedProbes(wanted, self._winrm, self.source)
        return True

    @property
    def endpoint(self) -> Optional[Tuple[str, int]]:
        """The address and port WinRM is reached at (None: a snapshot, or no WinRM host configured)."""
        if self.snapshot_path or self.settings is None:
            return None
        return self.settings.endpoint

    @property
    def shells(self) -> int:
        """How many shells the planned probes open at once (each on a connection of its own)."""
        return self._planned.shells if self._planned is not None else 0

    def start(self) -> None:
        """Send the planned probes now (the prefetch), without waiting for them."""
        if self._planned is not None:
            self._planned.start()

    def close(self) -> None:
        with self._lock:
            client = self._client
        if client is not None:
            client.close()

    def _winrm(self) -> WinrmClient:
        assert self.settings is not None
        with self._lock:
            if self._client is None:
                self._client = WinrmClient(self.settings, self._facts)
            return self._client

    @property
    def source(self) -> str:
        if self.snapshot_path:
            return f"snapshot {self.snapshot_path}"
        if self.settings:
            return f"winrm {endpoint_url(self.settings)}"
        return "none"

    @property
    def name(self) -> str:
        """How remediation texts name this host (the same whichever source the facts came from)."""
        if self.role == "server":
            return self._facts.site.deployment.server_fqdn
        return self.settings.host if self.settings else "the domain controller"

    # ---- raw probe outputs (the recorded facts) ----

    def probe(self, name: str) -> ProbeOutput:
        probe = PROBES[name]
        data = self._facts.store.get(key(self.role, name), lambda: self._fetch(probe).to_json())
        return ProbeOutput.from_json(data)

    def _fetch(self, probe: Probe) -> ProbeOutput:
        if self.snapshot_path:
            return self._from_snapshot(probe)
        if self.settings is None:
            raise FactUnavailable(Reason.NOT_CONFIGURED,
                                  f"no [winrm.{self.role}] section in the site file and no "
                                  f"--host-snapshot {self.role}=FILE")
        planned = self._planned
        if planned is not None and probe.name in planned.names:
            output = planned.result(probe.name)
            if output is not None:
                return output
        # Not planned, or its section did not come: alone, queued on the shell kept for such reads.
        stdout, stderr, exit_code = self._winrm().run(probe)
        return probe_output(probe, self.source, exit_code, stdout, stderr, remote=True)

    def _from_snapshot(self, probe: Probe) -> ProbeOutput:
        with self._lock:
            if self._snapshot is None:
                try:
                    self._snapshot = read_snapshot(self.snapshot_path)
                except SnapshotError as exc:
                    raise FactUnavailable(Reason.UNREADABLE, str(exc)) from None
            snapshot = self._snapshot
        section = snapshot.sections.get(probe.name)
        if section is None:
            where = "on a domain controller" if probe.dc_only else "with this version of collect.ps1"
            raise FactUnavailable(Reason.NOT_CONFIGURED, f"snapshot {self.snapshot_path} has no {probe.name} "
                                                         f"output (run `ocscheck collect` {where})")
        return probe_output(probe, f"snapshot {self.snapshot_path}", section.exit_code, section.data, b"",
                            remote=False)

    def _file(self, path: Path, what: str) -> ProbeOutput:
        """A saved native-tool output given on the command line (--dcdiag, --repadmin).

        Recorded under the probe's own key (its source says it came from a file), so that a replay
        judges it without the file.
        """

        def read() -> Dict[str, Any]:
            try:
                data = Path(path).read_bytes()
            except OSError as exc:
                raise FactUnavailable(Reason.PROTOCOL, f"cannot read {path}: {exc.strerror}") from None
            decoded = decode_output(data)
            return ProbeOutput(f"file {path}", 0, decoded.text, decoded.encoding).to_json()

        return ProbeOutput.from_json(self._facts.store.get(key(self.role, what), read))

    # ---- parsed facts ----

    # Unparseable output raises here, once, so that no check can mistake an empty parse for a fact
    # ("no hotfix installed", "no service").

    def system(self) -> SystemInfo:
        return self._parsed("system", "host system facts", parse_system)

    def features(self) -> FeatureList:
        return self._parsed("features", "installed features", parse_features)

    def ocs(self) -> OcsInfo:
        return self._parsed("ocs", "OCS facts", parse_ocs)

    def events(self) -> Tuple[Event, ...]:
        output = self.probe("events")
        events, error = parse_events(output.text)
        if error:
            raise FactUnavailable(Reason.PROTOCOL, f"event logs unreadable ({output.source}): {error}")
        return events

    def event_searches(self) -> Tuple[EventSearch, ...]:
        """Which logs the events probe read, and how many events each query returned."""
        return parse_event_searches(self.probe("events").text)

    def _parsed(self, probe: str, what: str, parse):
        output = self.probe(probe)
        parsed = parse(output.text)
        if parsed.error:
            raise FactUnavailable(Reason.PROTOCOL, f"{what} unreadable ({output.source}): {parsed.error}")
        return parsed

    def https_binding(self) -> HttpsBinding:
        """The certificates bound in http.sys (netsh, every IP:port) and Default Web Site's bindings (appcmd)."""
        sslcert = self.probe("sslcert")
        bindings = parse_sslcert(sslcert.text)
        if bindings.error:
            raise FactUnavailable(Reason.PROTOCOL, f"netsh http show sslcert ({sslcert.source}): {bindings.error}")
        hashes = dict(bindings.hashes)
        sites_out = self.probe("sites")
        if sites_out.exit_code == EXIT_NOT_FOUND:  # appcmd absent: IIS is not installed
            return HttpsBinding(bindings.hash_for("0.0.0.0:443"), (), hashes)
        sites = parse_site_list(sites_out.text)
        if sites.error:
            raise FactUnavailable(Reason.PROTOCOL, f"appcmd list site ({sites_out.source}): {sites.error}")
        default = sites.default_site()
        return HttpsBinding(bindings.hash_for("0.0.0.0:443"), default.bindings if default else (), hashes)

    def dcdiag(self) -> Tuple[DcdiagReport, str]:
        """dcdiag's report and where it came from: --dcdiag FILE first, else the host (WinRM/snapshot)."""
        path = self._facts.inputs.dcdiag
        output = self._file(path, "dcdiag") if path else self._probe_or_file_hint("dcdiag")
        if not path and not output.text.strip():
            # The probe runs full dcdiag, which always prints its tests: silence is a failed run, not "all passed".
            raise FactUnavailable(Reason.PROTOCOL, f"dcdiag printed nothing ({output.source}, exit code "
                                                   f"{output.exit_code}){': ' + output.stderr[:200] if output.stderr else ''}")
        return parse_dcdiag(output.text), output.source

    def _probe_or_file_hint(self, name: str) -> ProbeOutput:
        """A DC tool's output; when nothing is configured, say that a saved output would do too."""
        try:
            return self.probe(name)
        except FactUnavailable as exc:
            if exc.reason == Reason.NOT_CONFIGURED and "--host-snapshot" in exc.detail:
                raise FactUnavailable(exc.reason, f"{exc.detail} (or --{name} FILE)") from None
            raise

    def repadmin(self) -> Tuple[RepadminReport, str]:
        path = self._facts.inputs.repadmin
        if path:
            output = self._file(path, "repadmin")
            return parse_showrepl_csv(output.text), output.source
        output = self._probe_or_file_hint("repadmin")
        try:
            offset = self.system().utc_offset_minutes
        except FactUnavailable:
            offset = None
        return parse_showrepl_csv(output.text, offset), output.source

    def replication_links(self) -> List[ReplicationLink]:
        """Inbound replication links seen by ``repadmin /showrepl * /csv`` (shared with ad.replication)."""
        report, source = self.repadmin()
        if report.error:
            raise FactUnavailable(Reason.PROTOCOL, f"repadmin ({source}): {report.error}")
        return list(report.links)
