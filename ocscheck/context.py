"""What a check function receives."""
from __future__ import annotations

from dataclasses import dataclass

from ocscheck.config import Site
from ocscheck.facts import Facts
from ocscheck.model import Phase


@dataclass(frozen=True)
class CheckContext:
    site: Site
    facts: Facts
    phase: Phase
