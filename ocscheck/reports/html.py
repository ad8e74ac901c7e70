"""The self-contained HTML report (Jinja2 with autoescape: every value is attacker-controllable text).

The page's one script and one style sheet are inlined and allowed by their SHA-256 in the page's
Content-Security-Policy, computed here at render time: no 'unsafe-inline', so a script or an event
handler that got into the page some other way does not run, and default-src 'none' lets the page fetch
nothing at all. Values go through reveal() (control characters removed, invisible format characters such
as U+202E shown as \\u202e) and are escaped by Jinja2.
"""
from __future__ import annotations

import base64
import hashlib
from importlib import resources

from jinja2 import Environment, PackageLoader, select_autoescape

from ocscheck.model import Status
from ocscheck.reports import STATUS_ORDER, RunReport, reveal

EVIDENCE_SHOWN = 8  # evidence items listed before a "+N more" fold

_ENV = Environment(loader=PackageLoader("ocscheck", "reports/templates"),
                   autoescape=select_autoescape(default=True, default_for_string=True),
                   trim_blocks=True, lstrip_blocks=True)
_ENV.filters["clean"] = reveal


def _asset(name: str) -> str:
    return resources.files("ocscheck").joinpath("reports", "templates", name).read_text(encoding="utf-8")


def csp_hash(text: str) -> str:
    """The CSP source expression allowing exactly this inline <script> or <style> content."""
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def render(report: RunReport, verbose: bool) -> str:
    script, style = _asset("report.js"), _asset("report.css")
    for name, text in (("report.js", script), ("report.css", style)):
        if "</" in text:  # would end the element early, and the hash would not match what the browser sees
            raise ValueError(f"{name} must not contain '</'")
    verdict_key, verdict_text = report.verdict()
    opened = {o.id for o in report.outcomes
              if report.is_failure(o) or o.status in (Status.FAIL, Status.WARN, Status.ERROR)}
    template = _ENV.get_template("report.html.j2")
    return template.render(report=report, counts=report.counts(), statuses=[s.value for s in STATUS_ORDER],
                           opened=opened, verbose=verbose, Status=Status, verdict_key=verdict_key,
                           verdict_text=verdict_text, evidence_shown=EVIDENCE_SHOWN, script=script, style=style,
                           script_hash=csp_hash(script), style_hash=csp_hash(style))
