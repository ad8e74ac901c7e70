"""The self-contained HTML report (Jinja2 with autoescape: every value is attacker-controllable text)."""
from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

from ocscheck.model import Status
from ocscheck.reports import STATUS_ORDER, RunReport, sanitize

_ENV = Environment(loader=PackageLoader("ocscheck", "reports/templates"),
                   autoescape=select_autoescape(default=True, default_for_string=True),
                   trim_blocks=True, lstrip_blocks=True)
_ENV.filters["clean"] = sanitize


def render(report: RunReport, verbose: bool) -> str:
    template = _ENV.get_template("report.html.j2")
    return template.render(report=report, counts=report.counts(), statuses=[s.value for s in STATUS_ORDER],
                           failing={o.id for o in report.outcomes if report.is_failure(o)},
                           verbose=verbose, Status=Status)
