"""The Markdown report (CI job summaries): verdict, counts, the table of what did not pass, evidence;
hostile values stay inert text, checked with a real CommonMark+GFM parser (markdown-it-py)."""
from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest
from markdown_it import MarkdownIt

from ocscheck.model import Status
from ocscheck.reports import ReportTarget, RunReport, markdown
from tests.helpers import make_outcome

EVIL = ("a|b || c\nsecond line\r\nthird `code` **bold** _em_ ~~del~~ $x$ [click](https://evil.example/) "
        "![img](https://evil.example/i.png) <img src=x onerror=alert(1)> <script>alert(2)</script> "
        "</pre></details> &lt;b&gt; \\| \u202eRLO \u200bZWSP https://bare.example/ www.evil.example a@b.example")


@pytest.fixture
def report():
    outcomes = (
        make_outcome("cert.subject", Status.FAIL, f"CN is {EVIL}", [f"subject: CN={EVIL}", "second evidence"],
                f"certreq -new request.inf\n{EVIL}"),
        make_outcome("cert.key", Status.WARN, "1024-bit RSA", ["key: RSA 1024"], "Use 2048 bits"),
        make_outcome("dns.split", Status.PASS, "all good", ["passing evidence"]),
        make_outcome("dns.sip-cname", Status.ERROR, "timed out: no DNS answer"),
        make_outcome("ad.pool", Status.SKIP, "not configured: no LDAP URL"),
    )
    return RunReport(phase="post", started=datetime(2026, 11, 27, 7, 30, 5), duration_s=1.25, outcomes=outcomes,
                     tool_version="0.1.0", site="ocscheck.toml", hostname="ci-runner",
                     server_fqdn="ocs.todorovic.adds", sip_domains=("todorovic.fr", "todorovic.com"),
                     ad_domain="todorovic.adds")


def _parser():
    # GFM's autolinks are www., scheme:// and e-mail addresses; it does not link bare domain names.
    parser = MarkdownIt("gfm-like")
    parser.linkify.set({"fuzzy_link": False})
    return parser


def _tokens(text):
    return _parser().parse(text)


def _html(text):
    return _parser().render(text)


def test_verdict_identity_counts_and_table(report):
    text = markdown.render(report, verbose=False)
    assert text.splitlines()[0] == "## ❌ ocscheck post: FAIL: 1 check(s) failed"
    assert "server ocs.todorovic.adds · SIP domain(s) todorovic.fr, todorovic.com · AD domain todorovic.adds" in text
    assert "| fail | error | warn | pass | skip | total |" in text and "| 1 | 1 | 1 | 1 | 1 | 5 |" in text
    lines = text.splitlines()
    table = lines[lines.index("| check | status | severity | summary | fix |"):]
    rows = [line for line in table[2:] if line.startswith("| <code>")]
    # Every check that did not pass, worst first; the passing one is not in the table.
    assert [row.split("</code>")[0][len("| <code>"):] for row in rows] == [
        "cert.subject", "dns.sip-cname", "cert.key", "ad.pool"]
    assert "dns.split" not in "\n".join(rows)
    assert "| <code>cert.key</code> | warn | high | 1024-bit RSA | <code>Use 2048 bits</code> |" in rows
    assert "<summary><code>cert.subject</code> fail — title of cert.subject</summary>" in text
    assert "passing evidence" not in text


def test_hostile_values_cannot_break_the_table_or_inject(report):
    text = markdown.render(report, verbose=True)
    rendered = _html(text)
    tokens = _tokens(text)
    # The table has exactly its five columns in every row, and four body rows.
    cells_per_row = []
    for index, token in enumerate(tokens):
        if token.type == "tr_open":
            count = 0
            for inner in tokens[index + 1:]:
                if inner.type == "tr_close":
                    break
                count += inner.type in ("td_open", "th_open")
            cells_per_row.append(count)
    tables = [c for c in cells_per_row if c == 5]
    assert len(tables) == 5, cells_per_row  # header + 4 rows
    # Nothing became a link, an image, emphasis, strikethrough or code span from the values.
    kinds = {child.type for token in tokens if token.children for child in token.children}
    assert not kinds & {"link_open", "image", "strong_open", "em_open", "s_open", "code_inline"}, kinds
    # No tag from the values: the only tags are ours.
    assert "<img" not in rendered and "<script" not in rendered and "evil.example/i.png\"" not in rendered
    assert "&lt;img src=x onerror=alert(1)&gt;" in rendered
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in rendered
    # The evidence block survives a value that tries to close it early.
    assert rendered.count("<details>") == rendered.count("</details>") == 2  # cert.subject, cert.key
    assert "&lt;/pre&gt;&lt;/details&gt;" in rendered and "second evidence" in rendered
    # Invisible format characters are shown, not obeyed.
    assert "\u202e" not in text and "\u200b" not in text and "\\u202eRLO" in text and "\\u200bZWSP" in text


def test_all_passing_and_nothing_checked(report):
    passing = dataclasses.replace(report, outcomes=(make_outcome("dns.split", Status.PASS, "fine"),))
    text = markdown.render(passing, verbose=False)
    assert text.startswith("## ✅ ocscheck post: PASS\n") and "Every one of the 1 checks passed." in text
    assert "| check |" not in text
    skipped = dataclasses.replace(report, outcomes=(make_outcome("ad.pool", Status.SKIP, "no LDAP"),))
    assert markdown.render(skipped, verbose=False).startswith(
        "## ⚪ ocscheck post: NOTHING CHECKED: every selected check was skipped")


def test_markdown_is_a_report_format(report, tmp_path):
    from ocscheck.reports import write_reports

    target = ReportTarget.parse(f"markdown:{tmp_path}/summary.md")
    assert write_reports(report, [target], verbose=False) == []
    assert (tmp_path / "summary.md").read_text(encoding="utf-8").startswith("## ❌ ocscheck post")
