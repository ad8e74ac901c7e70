"""Helpers shared by the tests: build a site from a dict, judge checks against real facts."""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict, Iterable, Mapping, Optional

from ocscheck.config import site_from_dict, Site
from ocscheck.context import CheckContext
from ocscheck.facts import Facts, Inputs
from ocscheck.facts.store import FactStore
from ocscheck.model import Outcome, Phase
from ocscheck.registry import load_all, select
from ocscheck.runner import run_checks
from ocscheck.secrets import Redactor, Secrets

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


def judge(site: Site, ids: Iterable[str], phase: str = "post", env: Optional[Dict[str, str]] = None,
          inputs: Optional[Inputs] = None, replay: Optional[Dict[str, Any]] = None) -> Dict[str, Outcome]:
    """Run the checks matching ``ids`` (globs allowed) for ``phase`` and return their outcomes by id."""
    redactor = Redactor()
    secrets = Secrets(redactor, environ=env or {})
    store = FactStore(redactor, default_timeout=site.run.timeout, replay=replay)
    facts = Facts(site, store, secrets, inputs or Inputs())
    specs = select(load_all().specs(), Phase(phase), only=list(ids))
    ctx = CheckContext(site=site, facts=facts, phase=Phase(phase))
    outcomes = run_checks(specs, ctx, workers=site.run.workers, timeout=site.run.timeout * 3)
    facts.close()
    judge.last_store = store  # type: ignore[attr-defined]
    return {o.id: o for o in outcomes}
