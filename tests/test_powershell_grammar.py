"""Every piece of PowerShell ocscheck runs or prints, parsed by a real grammar (tree-sitter-powershell).

No Windows is reachable here, so this is the strongest check we can run on them: the package's .ps1
files, the probe scripts WinRM runs (decoded back from -EncodedCommand), collect.ps1 with every probe
in it, and the remediation commands built with ``ps_quote``, parse with zero ERROR or MISSING nodes;
and a value we interpolate — hostile or not — stays one single-quoted string literal: the parse tree
is the same as with a harmless value, and the literal reads back as the value.

Pure tests: no server, no root, no network.
"""
from __future__ import annotations

import base64
import datetime
import re
from pathlib import Path
from typing import List
from unittest import mock

import pytest
import tree_sitter_powershell
from hypothesis import HealthCheck, example, given, settings, strategies as st
from tree_sitter import Language, Node, Parser, Tree

import ocscheck.collector as collector
from ocscheck.checks.ad import _account_problems
from ocscheck.collector import PROBES, Probe, _compact, script_text
from ocscheck.powershell import ps_quote

PARSER = Parser(Language(tree_sitter_powershell.language()))
COLLECTOR_DIR = Path(collector.__file__).parent
PS1_FILES = sorted(COLLECTOR_DIR.glob("*.ps1"))

# PowerShell's tokenizer (CharExtensions.IsSingleQuote / IsDoubleQuote / IsDash) reads the typographic
# quotes and dashes as ', " and -. tree-sitter-powershell knows only the ASCII ones: 'it’s' parses clean
# there while PowerShell ends the string at the ’. Mapping them first, one character for one, makes the
# grammar see the tokens PowerShell sees (and so catches a ps_quote that forgot to double a ’).
AS_POWERSHELL_READS_IT = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"',
    "\u2013": "-", "\u2014": "-", "\u2015": "-",
})


def parse(text: str) -> Tree:
    return PARSER.parse(text.translate(AS_POWERSHELL_READS_IT).encode("utf-8"))


def syntax_errors(text: str) -> List[str]:
    """Every ERROR or MISSING node of the parse, as "line:column: what" (empty: the text parses)."""
    tree = parse(text)
    found = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            row, col = node.start_point
            what = f"missing {node.type}" if node.is_missing else f"error at {node.text[:60]!r}"
            found.append(f"{row + 1}:{col + 1}: {what}")
        stack.extend(node.children)
    assert bool(found) == tree.root_node.has_error  # the walk and tree-sitter agree
    return sorted(found)


def nodes_of(node: Node, kind: str) -> List[Node]:
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        if current.type == kind:
            found.append(current)
        stack.extend(current.children)
    return found


def verbatim_literals(text: str) -> List[str]:
    """The values of the single-quoted string literals in ``text`` ('' read back as ')."""
    values = []
    for node in nodes_of(parse(text).root_node, "string_literal"):
        raw = node.text.decode("utf-8")
        if raw.startswith("'"):
            values.append(raw[1:-1].replace("''", "'"))
    return values


def assert_one_literal(template: str, value: str) -> None:
    """``template`` with ``value`` quoted into it parses exactly as with a harmless value, and one
    single-quoted literal in it holds the value: the quoting let nothing out (no injection)."""
    text = template.format(q=ps_quote(value))
    assert syntax_errors(text) == []
    assert str(parse(text).root_node) == str(parse(template.format(q=ps_quote("x"))).root_node)
    assert value.translate(AS_POWERSHELL_READS_IT) in verbatim_literals(text)


# --------------------------------------------------------------------------- the checker can fail

@pytest.mark.parametrize("broken", [
    "Write-Output 'unterminated",
    "if ($x -eq 1) { 'yes'",
    "$a = @(1, 2",
    "Get-Service | ",
    "function f( { }",
    "foreach ($q in @(1)) 'no block'",
    # A collector probe cut in the middle of a script block.
    PROBES["events"].script[: PROBES["events"].script.index("| ForEach-Object")] + "{",
])
def test_a_broken_snippet_is_reported(broken):
    assert syntax_errors(broken) != []


def test_a_typographic_quote_left_alone_ends_the_string():
    # PowerShell closes 'O’Brien' at the ’; without the mapping the grammar would call this clean.
    assert syntax_errors("Write-Output 'O\u2019Brien'") != []
    assert PARSER.parse("Write-Output 'O\u2019Brien'".encode()).root_node.has_error is False


@pytest.mark.parametrize("naive_quote", [
    lambda v: "'" + v + "'",                        # no escaping at all
    lambda v: "'" + v.replace("'", "''") + "'",     # ASCII quote only: the ’ still closes the string
    lambda v: '"' + v.replace('"', '`"') + '"',     # double quotes: $( ) still runs
])
def test_the_injection_check_catches_bad_quoting(naive_quote):
    value = "O\u2019Brien'; $(Remove-Item C:\\ -Recurse); '"
    text = f"Write-Output {naive_quote(value)}"
    benign = f"Write-Output {naive_quote('x')}"
    clean = syntax_errors(text) == [] and str(parse(text).root_node) == str(parse(benign).root_node)
    assert not (clean and value.translate(AS_POWERSHELL_READS_IT) in verbatim_literals(text))


# --------------------------------------------------------------------------- the package's PowerShell

def test_every_ps1_of_the_package_is_here():
    # collect.ps1 and one script per PowerShell probe; a new .ps1 is picked up by the glob.
    names = {p.name for p in PS1_FILES}
    assert "collect.ps1" in names
    assert {f"probe-{p.name}.ps1" for p in PROBES.values() if p.kind == "ps"} <= names


@pytest.mark.parametrize("path", PS1_FILES, ids=lambda p: p.name)
def test_ps1_files_parse(path):
    assert syntax_errors(path.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("name", sorted(n for n, p in PROBES.items() if p.kind == "ps"))
def test_probe_scripts_parse_with_the_body_inside_the_block(name):
    probe = PROBES[name]
    script = probe.script
    assert syntax_errors(script) == []
    tree = parse(script)
    # Outermost statement list: `$ocscheckLines = & { body } 2>$null` and the base64 line, nothing else.
    top = [s for s in tree.root_node.children if s.type == "statement_list"]
    assert len(top) == 1 and len(top[0].children) == 2, str(tree.root_node)
    blocks = nodes_of(top[0].children[0], "script_block_expression")
    outer = max(blocks, key=lambda n: n.end_byte - n.start_byte)
    assert outer.text.decode("utf-8") == "{\n" + _compact(probe.command) + "\n}"
    # The probe name is the only other value in the script: a comment line, which it cannot leave.
    assert re.fullmatch(r"[a-z0-9-]+", name)
    assert [c.text.decode() for c in tree.root_node.children if c.type == "comment"] == [
        f"# ocscheck-probe: {name}"]


@pytest.mark.parametrize("name", sorted(n for n, p in PROBES.items() if p.kind == "ps"))
def test_probe_command_lines_carry_a_script_that_parses(name):
    probe = PROBES[name]
    line = probe.command_line()
    prefix = "powershell.exe -NoProfile -NonInteractive -EncodedCommand "
    assert line.startswith(prefix)
    decoded = base64.b64decode(line[len(prefix):], validate=True).decode("utf-16-le")
    assert decoded == probe.script
    assert syntax_errors(decoded) == []
    assert syntax_errors(line) == []  # the command line itself is valid PowerShell too


def test_collect_script_parses_with_every_probe():
    text = script_text()
    assert syntax_errors(text) == []
    literals = verbatim_literals(text)
    for probe in PROBES.values():
        assert probe.name in literals
        if probe.kind == "cmd":
            assert probe.command in literals  # each native command line is one literal argument


# --------------------------------------------------------------------------- hostile values

# Pieces that break naive quoting: every quote PowerShell knows, subexpressions, variables, escapes,
# statement separators, comments, here-string openers, line breaks, dashes, non-ASCII text.
HOSTILE_PIECES = [
    "'", "''", "\u2019", "\u2018", "\u201a", "\u201b", '"', "\u201c", "\u201d", "\u201e",
    "$(Remove-Item C:\\ -Recurse)", "$x", "${env:PATH}", "$null", "@(1)", "`", "``", "`'", "`n", "`0",
    ";", "; calc.exe;", "&", "|", "||", "&&", ">", "2>&1", "#", "<#", "#>", "@'", "'@", '@"', '"@',
    "{", "}", "(", ")", "[", "]", "\n", "\r\n", "\r", "\t", " ", "\u2013", "\u2014", "--%", "-Recurse",
    "é", "ß", "Ω", "日本語", "😀", "\u00a0", "\u2028", "\u0085", "CN=O\u2019Brien,OU=Users,DC=x",
]
# Any character but NUL: tree-sitter's lexer takes NUL for the end of the input and flags it even inside
# a string (`'a<NUL>b'` is UNEXPECTED '\0'), while PowerShell's tokenizer only stops at NUL at the real
# end of the script. No DN, name or path we quote holds a NUL; the grammar cannot judge it. (And no lone
# surrogate: a Python str holding one cannot become the UTF-8 or UTF-16 text PowerShell reads.)
ANY_TEXT = st.text(alphabet=st.characters(min_codepoint=1, blacklist_categories=("Cs",)), max_size=80)
HOSTILE = st.one_of(
    st.lists(st.one_of(st.sampled_from(HOSTILE_PIECES), ANY_TEXT), max_size=30).map("".join),
    ANY_TEXT,
)
LONG = ["'" * 5000, "\u2019" * 3000 + "$(calc)", ("O'Brien; $(calc) `n " * 400), "é" * 20000]
EXAMPLES = 200
HYPOTHESIS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@HYPOTHESIS
@given(value=HOSTILE)
@example(value="")
@example(value="O'Brien")
@example(value="'; Remove-Item C:\\ -Recurse; '")
@example(value="\u2019; calc; \u2018")
@example(value="line1\nline2'\n$(calc)")
def test_ps_quote_keeps_any_value_one_literal(value):
    assert_one_literal("Write-Output {q}", value)  # a command argument
    assert_one_literal("$v = {q}; $v.Length", value)  # an expression


@pytest.mark.parametrize("value", LONG, ids=["quotes", "typographic", "mixed", "accents"])
def test_ps_quote_keeps_long_values_one_literal(value):
    assert_one_literal("Write-Output {q}", value)


NOW = datetime.datetime(2026, 11, 27, 12, 0, tzinfo=datetime.timezone.utc)
UF_LOCKOUT = 0x10


def unlock_fix(dn: str) -> str:
    """The ADSI unlock command ad.service-accounts prints for a locked-out account ``dn``."""
    account = {"dn": dn, "userAccountControl": 0x200 | 0x10000, "lockoutTime": 0,
               "accountExpires": 0x7FFFFFFFFFFFFFFF, "pwdLastSet": 1,
               "msDS-User-Account-Control-Computed": UF_LOCKOUT, "msDS-UserPasswordExpiryTimeComputed": None}
    _, _, fixes = _account_problems(account, {"lockoutDuration": 0}, NOW, 30)
    [fix] = [f for f in fixes if "[ADSI]" in f]
    return fix


def test_unlock_fix_is_the_ps_quote_template():
    # assert_one_literal rebuilds the fix from this template: prove it is the very text the check prints.
    dn = "CN=O\u2019Brien',CN=Users,DC=todorovic,DC=adds"
    assert unlock_fix(dn) == UNLOCK_TEMPLATE.format(q=ps_quote("LDAP://" + dn))
    assert syntax_errors(unlock_fix("CN=RTCService,CN=Users,DC=todorovic,DC=adds")) == []


UNLOCK_TEMPLATE = '$u = [ADSI]{q}; $u.Put("lockoutTime", 0); $u.SetInfo()'


@HYPOTHESIS
@given(dn=HOSTILE)
@example(dn="CN=O'Brien\\, Pat,OU=Service Accounts,DC=todorovic,DC=adds")
@example(dn="CN=x'); Remove-ADUser -Identity Administrator; ('")
def test_unlock_fix_keeps_any_dn_one_literal(dn):
    fix = unlock_fix(dn)
    assert fix == UNLOCK_TEMPLATE.format(q=ps_quote("LDAP://" + dn))
    assert_one_literal(UNLOCK_TEMPLATE, "LDAP://" + dn)


@HYPOTHESIS
@given(command=HOSTILE)
@example(command=r"%windir%\system32\inetsrv\appcmd.exe list site /text:name")
@example(command="netsh http show sslcert ipport=0.0.0.0:443' ; Remove-Item C:\\ ; '")
def test_collect_script_keeps_a_native_command_line_one_literal(command):
    # collect.ps1 hands each native probe's command line to Invoke-CmdProbe as a ps_quote literal.
    def collect_with(line: str) -> str:
        with mock.patch.dict(PROBES, {"sites": Probe("sites", "cmd", line)}):
            return script_text()

    text = collect_with(command)
    assert syntax_errors(text) == []
    assert str(parse(text).root_node) == str(parse(collect_with("x")).root_node)
    assert command.translate(AS_POWERSHELL_READS_IT) in verbatim_literals(text)
