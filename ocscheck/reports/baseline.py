"""What changed since a previous run: its JSON report (``--baseline PREVIOUS.json``) against this one.

"Failing" means fail or error: a check that could not look is no better than one that failed.
- new: failing now, not failing before (or not run before);
- fixed: failing before, pass or warn now;
- changed: every check run both times whose status differs (the two above included).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

from ocscheck.model import Outcome, Status

FAILING = (Status.FAIL, Status.ERROR)
MAX_BASELINE_BYTES = 64 << 20  # a JSON report of every check with -v evidence is well under 1 MB


class BaselineError(ValueError):
    pass


@dataclass(frozen=True)
class StatusChange:
    id: str
    before: Status
    after: Status


@dataclass(frozen=True)
class Changes:
    baseline: str                        # the previous report's path, as given
    new: Tuple[str, ...]
    fixed: Tuple[str, ...]
    changed: Tuple[StatusChange, ...]

    @property
    def any(self) -> bool:
        return bool(self.new or self.fixed or self.changed)

    def to_json(self) -> Dict[str, Any]:
        return {"baseline": self.baseline, "new": list(self.new), "fixed": list(self.fixed),
                "changed": [{"id": c.id, "from": c.before.value, "to": c.after.value} for c in self.changed]}

    def lines(self) -> List[str]:
        """The changes in words, most important first (what regressed, then what was fixed)."""
        if not self.any:
            return [f"No change since {self.baseline}."]
        out = [f"Since {self.baseline}:"]
        if self.new:
            out.append(f"new failures ({len(self.new)}): {', '.join(self.new)}")
        if self.fixed:
            out.append(f"fixed ({len(self.fixed)}): {', '.join(self.fixed)}")
        if self.changed:
            out.append(f"changed ({len(self.changed)}): "
                       + ", ".join(f"{c.id} {c.before.value} → {c.after.value}" for c in self.changed))
        return out


def load_baseline(path: Path) -> Dict[str, Status]:
    """Check id -> status from a JSON report written by ``--report json:PATH``."""
    from ocscheck.atomic import read_bytes_capped

    try:
        document = json.loads(read_bytes_capped(Path(path), MAX_BASELINE_BYTES).decode("utf-8"))
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read the baseline: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:
        raise BaselineError(f"{path}: not a JSON report: {exc}") from None
    if not isinstance(document, dict) or document.get("schema_version") != 1 \
            or not isinstance(document.get("checks"), list):
        raise BaselineError(f"{path}: not an ocscheck JSON report (schema_version 1, --report json:PATH)")
    statuses: Dict[str, Status] = {}
    for item in document["checks"]:
        try:
            statuses[str(item["id"])] = Status(item["status"])
        except (TypeError, KeyError, ValueError):
            raise BaselineError(f"{path}: a check without a valid id and status: {str(item)[:200]}") from None
    return statuses


def compare(baseline: Dict[str, Status], outcomes: Sequence[Outcome], label: str) -> Changes:
    new, fixed, changed = [], [], []
    for outcome in outcomes:
        before = baseline.get(outcome.id)
        if outcome.status in FAILING and before not in FAILING:
            new.append(outcome.id)
        if before in FAILING and outcome.status in (Status.PASS, Status.WARN):
            fixed.append(outcome.id)
        if before is not None and before is not outcome.status:
            changed.append(StatusChange(outcome.id, before, outcome.status))
    return Changes(label, tuple(new), tuple(fixed), tuple(changed))
