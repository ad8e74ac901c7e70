"""Reports: text (terminal), json, junit, html and markdown, each a pure function of a RunReport to text."""
from __future__ import annotations

import re
import sys
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Sequence, TextIO, Tuple

from ocscheck.atomic import write_text_atomic
from ocscheck.model import Outcome, Status

if TYPE_CHECKING:
    from ocscheck.reports.baseline import Changes

# --fail-on: the statuses that make the run fail.
FAIL_ON = {"fail": (Status.FAIL,), "warn": (Status.FAIL, Status.WARN), "skip": (Status.FAIL, Status.WARN, Status.SKIP)}
STATUS_ORDER = (Status.FAIL, Status.ERROR, Status.WARN, Status.PASS, Status.SKIP)

_ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
# Characters XML 1.0 forbids (and C1 controls, which render as garbage everywhere).
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def sanitize(text: str) -> str:
    """Text safe for a terminal and for XML 1.0: ANSI escapes and control characters removed."""
    return _ILLEGAL.sub("", _ANSI.sub("", text))


def _invisible(char: str) -> bool:
    return unicodedata.category(char) == "Cf"


def reveal(text: str) -> str:
    """sanitize(), and every invisible format character (Unicode category Cf: the bidirectional controls
    such as U+202E RIGHT-TO-LEFT OVERRIDE, zero-width spaces and joiners, the BOM) shown as a ``\\uXXXX``
    escape, so that text from a server cannot reorder or hide part of the line it is printed on."""
    clean = sanitize(text)
    if not any(_invisible(c) for c in clean):
        return clean
    return "".join(f"\\u{ord(c):04x}" if _invisible(c) else c for c in clean)


@dataclass(frozen=True)
class RunReport:
    phase: str
    started: datetime           # local time of the start of the run, without zone
    duration_s: float
    outcomes: Tuple[Outcome, ...]
    tool_version: str
    site: str                   # path of the site file
    fail_on: str = "fail"       # the lowest status that fails the run: "fail", "warn" or "skip" (FAIL_ON)
    replayed_from: str = ""     # recording the verdicts were judged from, if any
    hostname: str = "localhost"
    changes: Optional["Changes"] = None   # what changed since --baseline, when one was given
    interrupted: str = ""                  # "SIGINT"/"SIGTERM" when the run was cut short
    # Every fact of the run, secrets masked (what --record saves); never rendered.
    recording: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)
    # The deployment's identity, for report headers (empty when unknown).
    server_fqdn: str = ""
    sip_domains: Tuple[str, ...] = ()
    ad_domain: str = ""

    def counts(self) -> Dict[str, int]:
        counts = {s.value: 0 for s in Status}
        for outcome in self.outcomes:
            counts[outcome.status.value] += 1
        return counts

    def by_area(self) -> List[Tuple[str, List[Outcome]]]:
        areas: Dict[str, List[Outcome]] = {}
        for outcome in self.outcomes:
            areas.setdefault(outcome.area, []).append(outcome)
        return list(areas.items())

    def is_failure(self, outcome: Outcome) -> bool:
        """Whether ``outcome`` fails the run (exit 1): a fail, and with --fail-on warn a warning too, and
        with --fail-on skip a skip or a warning too (an error is never a failure: it exits 3)."""
        return outcome.status in FAIL_ON[self.fail_on]

    def verdict(self) -> Tuple[str, str]:
        """The run's overall verdict as (key, sentence), by the rule of the exit code: fail when a check
        failed (or warned, with --fail-on warn), error when one could not run, then warn, pass; and
        "none" when no check gave a verdict (everything skipped)."""
        counts = self.counts()
        if any(self.is_failure(o) for o in self.outcomes):
            failing = sum(1 for o in self.outcomes if self.is_failure(o))
            return "fail", f"FAIL: {failing} check(s) failed"
        if counts["error"]:
            return "error", f"ERROR: nothing failed, but {counts['error']} check(s) could not run"
        if counts["warn"]:
            return "warn", f"PASS with {counts['warn']} warning(s)"
        if counts["pass"]:
            return "pass", "PASS"
        return "none", "NOTHING CHECKED: every selected check was skipped"


Renderer = Callable[[RunReport, bool], str]


# format -> (module under ocscheck.reports, function): a module is imported only when its format is asked
# for (the HTML renderer loads jinja2, a tenth of a second, which a -q run or a JUnit report never needs).
_RENDERERS: Dict[str, Tuple[str, str]] = {
    "text": ("text", "render"), "json": ("json_report", "render"), "junit": ("junit", "render"),
    "junit-jenkins": ("junit", "render_jenkins"), "html": ("html", "render"), "markdown": ("markdown", "render")}


def renderer(fmt: str) -> Renderer:
    """The renderer of ``fmt`` (one of FORMATS), importing its module now."""
    import importlib

    module, function = _RENDERERS[fmt]
    return getattr(importlib.import_module(f"ocscheck.reports.{module}"), function)


def renderers() -> Dict[str, Renderer]:
    """Every renderer (imports every report module: prefer ``renderer(fmt)``)."""
    return {fmt: renderer(fmt) for fmt in _RENDERERS}


FORMATS = ("text", "json", "junit", "junit-jenkins", "html", "markdown")


@dataclass(frozen=True)
class ReportTarget:
    format: str
    path: Optional[Path]          # None: standard output (FORMAT:-)

    @classmethod
    def parse(cls, spec: str) -> "ReportTarget":
        fmt, sep, path = spec.partition(":")
        if not sep or fmt not in FORMATS or not path:
            raise ValueError(f"{spec!r} is not FORMAT:PATH with FORMAT one of {', '.join(FORMATS)} "
                             f"(PATH - for standard output)")
        return cls(fmt, None if path == "-" else Path(path))

    @property
    def where(self) -> str:
        return "standard output" if self.path is None else str(self.path)


def write_reports(report: RunReport, targets: Sequence[ReportTarget], verbose: bool,
                  stdout: Optional[TextIO] = None) -> List[str]:
    """Write every target (files atomically, see ocscheck.atomic; FORMAT:- to ``stdout``); returns the
    problems met, so that one bad path loses no other report."""
    problems = []
    for target in targets:
        try:
            text = renderer(target.format)(report, verbose)
            if target.path is None:
                (stdout or sys.stdout).write(text)
            else:
                write_text_atomic(target.path, text)
        except OSError as exc:
            problems.append(f"cannot write the {target.format} report to {target.where}: {exc.strerror or exc}")
    return problems
