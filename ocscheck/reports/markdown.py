"""The Markdown report, for CI job summaries (GitHub's $GITHUB_STEP_SUMMARY, GitLab's markdown artefacts).

The verdict and the counts, a table of the checks that did not pass (summary and fix), then each one's
evidence in a collapsible <details> block. Every value from a check is attacker-controllable text (a
certificate subject, an LDAP attribute): in table cells it is written with HTML character references for
everything Markdown or HTML would read as syntax (| < > & ` * _ [ ] ~ $ \\), newlines as <br>, so
it can neither break the table nor start a link, an image, code, emphasis or a tag; in the evidence blocks
it is inside <pre> with < > & escaped, which Markdown leaves alone up to the (escaped, so unreachable)
closing tag.
"""
from __future__ import annotations

import re
from typing import List

from ocscheck.model import Outcome, Status
from ocscheck.reports import STATUS_ORDER, RunReport, reveal

_ICONS = {"fail": "❌", "error": "⚠️", "warn": "🟡", "pass": "✅", "none": "⚪"}
# Inside a table cell only inline syntax can act: code, emphasis, strikethrough, math, links and images
# (which need a "["), raw HTML and entities, the cell separator, and the backslash that escapes them;
# and the autolinks GFM makes of bare text: "scheme://", "user@host", "www." (escaped, the parser sees no
# "://", "@" or "www." and the reader sees the same characters).
_SYNTAX = re.compile(r"[\\`*_\[\]<>&|~$@]|:(?=/)|(?<=www)\.", re.IGNORECASE)


def cell(text: str) -> str:
    """One table cell's worth of text: inert in Markdown and HTML, on one line."""
    escaped = _SYNTAX.sub(lambda m: f"&#{ord(m.group())};", reveal(text))
    lines = [line.strip() for line in escaped.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return "<br>".join(line for line in lines if line) or " "


def pre(text: str) -> str:
    """Text for inside a raw <pre> block: only the HTML specials need escaping there."""
    return reveal(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _order(outcome: Outcome) -> int:
    return STATUS_ORDER.index(outcome.status)


def render(report: RunReport, verbose: bool) -> str:
    key, sentence = report.verdict()
    counts = report.counts()
    out: List[str] = [f"## {_ICONS[key]} ocscheck {cell(report.phase)}: {sentence}", ""]
    identity = []
    if report.server_fqdn:
        identity.append(f"server {cell(report.server_fqdn)}")
    if report.sip_domains:
        identity.append(f"SIP domain(s) {cell(', '.join(report.sip_domains))}")
    if report.ad_domain:
        identity.append(f"AD domain {cell(report.ad_domain)}")
    identity.append(f"site {cell(report.site)}")
    if report.replayed_from:
        identity.append(f"replayed from {cell(report.replayed_from)}")
    out.append(" · ".join(identity) + f" · ocscheck {cell(report.tool_version)} · "
               f"{report.started.strftime('%Y-%m-%d %H:%M:%S')} · {report.duration_s:.1f} s")
    out.append("")
    if report.changes:
        out += [f"**{cell(line)}**" if index == 0 else f"- {cell(line)}"
                for index, line in enumerate(report.changes.lines())] + [""]
    if report.interrupted:
        out += [f"**Interrupted ({cell(report.interrupted)}): the checks still running are errors.**", ""]
    out.append("| " + " | ".join(s.value for s in STATUS_ORDER) + " | total |")
    out.append("|" + "---:|" * (len(STATUS_ORDER) + 1))
    out.append("| " + " | ".join(str(counts[s.value]) for s in STATUS_ORDER) + f" | {len(report.outcomes)} |")
    out.append("")
    problems = sorted((o for o in report.outcomes if o.status is not Status.PASS), key=_order)
    if not problems:
        out.append(f"Every one of the {len(report.outcomes)} checks passed.")
        return "\n".join(out) + "\n"
    out.append("### Checks that did not pass")
    out.append("")
    out.append("| check | status | severity | summary | fix |")
    out.append("|---|---|---|---|---|")
    for o in problems:
        status = f"{o.status.value} (fails the run)" if report.is_failure(o) and o.status is Status.WARN \
            else o.status.value
        fix = f"<code>{cell(o.remediation)}</code>" if o.remediation else " "
        out.append(f"| <code>{cell(o.id)}</code> | {status} | {o.severity.value} | {cell(o.summary)} | {fix} |")
    out.append("")
    detailed = [o for o in problems if o.evidence or (verbose and o.detail)]
    if detailed:
        out.append("### Evidence")
        out.append("")
    for o in detailed:
        out.append(f"<details><summary><code>{pre(o.id)}</code> {o.status.value} — {pre(o.title)}</summary>")
        out.append("")
        lines = list(o.evidence) + ([o.detail] if verbose and o.detail else [])
        out.append("<pre>" + "\n".join(pre(line) for line in lines) + "</pre>")
        out.append("")
        out.append("</details>")
        out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
