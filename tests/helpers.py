"""Helpers shared by the tests: build a site from a dict, judge checks against real facts."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict, Iterable, Mapping, Optional

from ocscheck.api import run
from ocscheck.config import Site, site_from_dict
from ocscheck.facts import Inputs
from ocscheck.model import Outcome, Severity, Status
from ocscheck.reports import RunReport

BASE_SITE: Dict[str, Any] = {
    "deployment": {"server_fqdn": "ocs.todorovic.adds", "sip_domains": ["todorovic.fr"],
                   "ad_domain": "todorovic.adds"},
    "run": {"timeout": 3.0},
}


def merge(base: Dict[str, Any], overrides: Mapping[str, Any]) -> Dict[str, Any]:
    result = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def make_site(overrides: Optional[Mapping[str, Any]] = None, path: Path = Path("test-site.toml")) -> Site:
    return site_from_dict(merge(BASE_SITE, overrides or {}), path)


class Verdicts(Dict[str, Outcome]):
    """The outcomes of a run by check id, and the recording of its facts."""

    def __init__(self, report: RunReport):
        super().__init__((o.id, o) for o in report.outcomes)
        self.report = report
        self.recording = dict(report.recording)


def judge(site: Site, ids: Iterable[str], phase: str = "post", env: Optional[Dict[str, str]] = None,
          inputs: Optional[Inputs] = None, replay: Optional[Dict[str, Any]] = None) -> Verdicts:
    """Run the checks matching ``ids`` (globs allowed) for ``phase`` through the library API."""
    return Verdicts(run(site, phase, only=list(ids), environ=env or {}, inputs=inputs or Inputs(), replay=replay))


def make_outcome(check_id: str, status: Status, summary: str = "ok", evidence: Iterable[str] = (),
                 remediation: str = "", duration_s: float = 0.01) -> Outcome:
    """An outcome as the runner reports it, for renderer tests."""
    return Outcome(id=check_id, area=check_id.split(".")[0], title=f"title of {check_id}", severity=Severity.HIGH,
                   status=status, summary=summary, evidence=tuple(evidence), remediation=remediation,
                   duration_s=duration_s)


def write_site(tmp_path: Path, text: str) -> Path:
    """``text`` as the site file ocscheck.toml in ``tmp_path``."""
    path = tmp_path / "ocscheck.toml"
    path.write_text(text)
    return path


def site_error(tmp_path: Path, text: str):
    """The ConfigError loading ``text`` as a site file raises (the test fails if it loads)."""
    import pytest

    from ocscheck.config import ConfigError, load_site

    with pytest.raises(ConfigError) as info:
        load_site(write_site(tmp_path, text))
    return info.value
