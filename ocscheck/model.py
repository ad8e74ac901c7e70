"""The vocabulary shared by checks, the runner and the reports."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Callable, FrozenSet, Optional, Tuple


class Status(str, enum.Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"

    def __str__(self) -> str:
        return self.value


class Phase(str, enum.Enum):
    PREFLIGHT = "preflight"
    POST = "post"

    def __str__(self) -> str:
        return self.value


class Severity(str, enum.Enum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    def __str__(self) -> str:
        return self.value


class Interrupted(BaseException):
    """The run was asked to stop (SIGINT: Ctrl-C, or SIGTERM). Raised in the thread that runs the checks;
    the runner reports the checks not yet finished as errors and the run's reports are still written."""

    def __init__(self, signal_name: str = "SIGINT", exit_code: int = 130):
        super().__init__(signal_name)
        self.signal_name, self.exit_code = signal_name, exit_code
        self.outcomes: Tuple["Outcome", ...] = ()   # every check's outcome, set by the runner


@dataclass(frozen=True)
class Result:
    """What a check function returns: a verdict and why."""

    status: Status
    summary: str
    evidence: Tuple[str, ...] = ()
    remediation: str = ""

    @classmethod
    def ok(cls, summary: str, evidence=(), remediation: str = "") -> "Result":
        return cls(Status.PASS, summary, tuple(evidence), remediation)

    @classmethod
    def warn(cls, summary: str, evidence=(), remediation: str = "") -> "Result":
        return cls(Status.WARN, summary, tuple(evidence), remediation)

    @classmethod
    def fail(cls, summary: str, evidence=(), remediation: str = "") -> "Result":
        return cls(Status.FAIL, summary, tuple(evidence), remediation)

    @classmethod
    def error(cls, summary: str, evidence=(), remediation: str = "") -> "Result":
        return cls(Status.ERROR, summary, tuple(evidence), remediation)

    @classmethod
    def skip(cls, summary: str, evidence=(), remediation: str = "") -> "Result":
        return cls(Status.SKIP, summary, tuple(evidence), remediation)


@dataclass(frozen=True)
class CheckSpec:
    """A registered check and its metadata (what `list` and `explain` print)."""

    id: str
    title: str
    phases: Tuple[Phase, ...]
    severity: Severity
    needs: Tuple[str, ...]
    depends: Tuple[str, ...]
    doc: str
    func: Callable = field(compare=False, repr=False)
    origin: str = "builtin"  # "builtin" or the distribution name of a plugin

    @property
    def area(self) -> str:
        return self.id.split(".", 1)[0]

    @property
    def sources(self) -> FrozenSet[str]:
        """Every source the check may read: its needs, each alternative of an "a|b" need included."""
        return frozenset(alt for need in self.needs for alt in need.split("|"))


@dataclass(frozen=True)
class Outcome:
    """A check's result as reported: the spec's identity plus the verdict and its cost."""

    id: str
    area: str
    title: str
    severity: Severity
    status: Status
    summary: str
    evidence: Tuple[str, ...]
    remediation: str
    duration_s: float
    detail: str = ""  # traceback of a crashed check, shown with -v only
    # Seconds from the start of the run to the start of this check, when the runner records it: lets a
    # report give an area's wall-clock span rather than the sum of checks that ran at the same time.
    started_s: Optional[float] = None

    @classmethod
    def of(cls, spec: CheckSpec, result: Result, duration_s: float, detail: str = "",
           started_s: Optional[float] = None) -> "Outcome":
        return cls(spec.id, spec.area, spec.title, spec.severity, result.status, result.summary,
                   tuple(result.evidence), result.remediation, round(duration_s, 4), detail,
                   None if started_s is None else round(started_s, 4))
