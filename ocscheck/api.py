"""The library entry point: judge a site in one call.

    from ocscheck import load_site, run

    report = run(load_site("ocscheck.toml"), "post", only=["dns.*"])
    for outcome in report.outcomes:
        print(outcome.id, outcome.status, outcome.summary)

``run`` owns a run's set-up — secrets (environment variables, or a prompt), the memoising fact
store (live, or replaying a recording), the facts, the check context — the one timeout (the site's
``run.timeout`` unless given: each network fact gets it, a check is abandoned after three times
it), the recording of every fact, and the closing of the sources (LDAP sessions, WinRM shells)
when the checks are done. The command line is a client of it, and so are the tests and benches.
"""
from __future__ import annotations

import dataclasses
import os
import socket
import time
from datetime import datetime
from typing import Any, Callable, Dict, Mapping, Optional, Sequence, Set, Union

from ocscheck import __version__
from ocscheck.config import Site
from ocscheck.context import CheckContext
from ocscheck.facts import Facts, Inputs
from ocscheck.facts.store import FactStore, RecordingError, load_recording, save_recording
from ocscheck.model import CheckSpec, Interrupted, Phase, Status
from ocscheck.registry import load_all, select, unknown_patterns
from ocscheck.reports import RunReport
from ocscheck.reports.baseline import BaselineError, compare, load_baseline
from ocscheck.runner import ProgressCallback, run_checks
from ocscheck.secrets import Redactor, SecretMissing, Secrets

__all__ = ["RunSetup", "SelectionError", "run", "select_checks", "save_recording", "load_recording",
           "RecordingError", "load_baseline", "BaselineError", "secret_sources"]


class SelectionError(ValueError):
    """The patterns given select no check, or name no check at all."""


def select_checks(site: Site, phase: Union[Phase, str], only: Sequence[str] = (),
                  skip: Sequence[str] = ()) -> list:
    """The registered checks of ``phase`` matching ``only`` (all when empty), minus ``skip`` and the
    site's ``run.skip``; a pattern that matches no registered id, or an empty selection, raises."""
    phase = Phase(phase)
    specs = load_all().specs()
    typos = unknown_patterns(specs, [*only, *skip])
    if typos:
        raise SelectionError(f"no check matches {', '.join(typos)} (see `ocscheck list`)")
    selected = select(specs, phase, only, [*skip, *site.run.skip])
    if not selected:
        raise SelectionError(f"no {phase} check selected")
    return selected


class RunSetup:
    """One run's sources — secrets, fact store, facts, check context — built together and closed together.

    ``run`` uses it; so do tests and tools that read facts directly (``setup.facts.ldap.rootdse()``).
    """

    def __init__(self, site: Site, phase: Union[Phase, str], *, inputs: Inputs = Inputs(),
                 timeout: Optional[float] = None, environ: Optional[Mapping[str, str]] = None,
                 prompt: Optional[Callable[[str], str]] = None, replay: Optional[Dict[str, Any]] = None):
        self.timeout = timeout or site.run.timeout
        # The one timeout: the site the facts see carries it, and so does the store.
        self.site = dataclasses.replace(site, run=dataclasses.replace(site.run, timeout=self.timeout))
        self.phase = Phase(phase)
        self.redactor = Redactor()
        self.secrets = Secrets(self.redactor, environ=dict(os.environ if environ is None else environ),
                               prompt=prompt if replay is None else None)
        self.store = FactStore(self.redactor, default_timeout=self.timeout, replay=replay)
        self.facts = Facts(self.site, self.store, self.secrets, inputs)
        self.context = CheckContext(self.site, self.facts, self.phase)

    def ask_secrets(self, checks: Sequence[CheckSpec]) -> None:
        """Prompt now, before the checks start in worker threads, for the secrets that ``checks`` need and
        the environment lacks. A prompt left empty leaves that secret missing (the checks needing it are
        errors); an abort (Ctrl-C) propagates."""
        for env_name, purpose in self.site.secret_envs(secret_sources(checks)).items():
            try:
                self.secrets.get(env_name, purpose)
            except SecretMissing:
                pass
        self.secrets.stop_prompting()

    def close(self) -> None:
        self.facts.close()

    def __enter__(self) -> "RunSetup":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def secret_sources(checks: Sequence[CheckSpec]) -> Set[str]:
    """The secret-holding sources ``checks`` read: their needs, where a CRL over ``ldap:///`` (need
    "http") reads the site's DC with the LDAP account."""
    needs = set().union(*(spec.sources for spec in checks))
    return needs | ({"ldap"} if "http" in needs else set())


def run(site: Site, phase: Union[Phase, str], *, only: Sequence[str] = (), skip: Sequence[str] = (),
        checks: Optional[Sequence[CheckSpec]] = None, inputs: Inputs = Inputs(), timeout: Optional[float] = None,
        workers: Optional[int] = None, environ: Optional[Mapping[str, str]] = None,
        prompt: Optional[Callable[[str], str]] = None, replay: Optional[Dict[str, Any]] = None,
        progress: Optional[ProgressCallback] = None, fail_on: str = "fail",
        site_label: str = "", replayed_from: str = "", baseline: Optional[Mapping[str, Status]] = None,
        baseline_label: str = "") -> RunReport:
    """Judge ``site`` for ``phase`` and return the report; ``report.recording`` holds every fact of the run
    (secrets masked), which ``save_recording(report.recording, path, phase)`` writes for ``--record``.

    ``only``/``skip``: check ids or globs (``checks`` instead gives the specs to run); ``timeout``:
    seconds for each network fact (default the site's ``run.timeout``); ``environ``: where secrets'
    environment variables are read (default ``os.environ``); ``prompt``: asks for a missing secret
    (given: every secret is asked before the checks start); ``replay``: the facts of a recording
    (``load_recording``), judged with no network at all; ``baseline``: check id -> status of an earlier
    run (``load_baseline`` of its JSON report), and ``report.changes`` says what changed. Interrupted
    (Ctrl-C, or ``Interrupted`` raised by a signal handler), the run returns its report with
    ``report.interrupted`` set and the checks not finished as errors. A live run of a whole phase (neither
    ``only`` nor ``checks``) opens the TCP connections of the site's WinRM hosts before it selects its checks.
    """
    with RunSetup(site, phase, inputs=inputs, timeout=timeout, environ=environ, prompt=prompt,
                  replay=replay) as setup:
        if replay is None and checks is None and not only:
            # A whole phase: the WinRM hosts' TCP handshakes go out now, while its checks are imported.
            from ocscheck import prefetch

            prefetch.preconnect(setup.facts)
        specs = list(checks) if checks is not None else select_checks(site, phase, only, skip)
        if prompt is not None and replay is None:
            setup.ask_secrets(specs)
        started, clock = datetime.now().replace(microsecond=0), time.monotonic()
        if replay is None:
            # Facts that depend only on the site start now, together (ocscheck.prefetch): a check's chain of
            # round trips, or of dead hosts' timeouts, is then paid once, in parallel.
            from ocscheck import prefetch

            prefetch.start(setup.facts, setup.phase, specs)
        interrupted = ""
        try:
            outcomes = run_checks(specs, setup.context, workers=workers or setup.site.run.workers,
                                  timeout=setup.timeout * 3, progress=progress)
        except Interrupted as stop:  # the checks not finished are errors: the report is still whole
            outcomes, interrupted = list(stop.outcomes), stop.signal_name
    return RunReport(phase=setup.phase.value, started=started, duration_s=time.monotonic() - clock,
                     outcomes=tuple(outcomes), tool_version=__version__, site=site_label or str(site.source),
                     fail_on=fail_on, replayed_from=replayed_from, hostname=socket.gethostname(),
                     server_fqdn=site.deployment.server_fqdn, sip_domains=tuple(site.deployment.sip_domains),
                     ad_domain=site.deployment.ad_domain, interrupted=interrupted,
                     changes=compare(baseline, outcomes, baseline_label) if baseline is not None else None,
                     recording=setup.store.recording())

