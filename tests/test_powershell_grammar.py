"""Every piece of PowerShell ocscheck runs or prints, parsed by a real grammar (tree-sitter-powershell).

No Windows is reachable here, so this is the strongest check we can run on them: the package's .ps1
files, the probe scripts and batches WinRM runs (decoded back from -EncodedCommand), collect.ps1 with
every probe in it, and the PowerShell fixes the checks print (ADSI unlock, features, services, functional levels)
parse with zero ERROR or MISSING nodes; and a value we interpolate — hostile or not — stays one single-quoted string literal: the parse tree
is the same as with a harmless value, and the literal reads back as the value.

Pure tests: no server, no root, no network.
"""
from __future__ import annotations

import base64
import datetime
import re
from pathlib import Path
from typing import Dict, List
from unittest import mock

import pytest
import tree_sitter_powershell
from hypothesis import HealthCheck, example, given, settings, strategies as st
from tree_sitter import Language, Node, Parser, Tree

import ocscheck.collector as collector
from ocscheck.checks.ad.accounts import account_problems
from ocscheck.collector import ENCODED_COMMAND, PROBES, Probe, _compact, script_text
from ocscheck.collector.batch import batch_command_line, batch_script, pack
from ocscheck.facts import Inputs
from ocscheck.facts.ldap import key as ldap_key
from ocscheck.model import Outcome, Status
from ocscheck.powershell import ps_quote
from ocscheck.values.ad import Account, DomainPolicy, RootDse
from tests.helpers import judge, make_site
from tests.winrm_endpoint import scenarios

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


def _bareword_list_gap(node: Node) -> bool:
    """The grammar's one false alarm we waive: ``Start-Service RtcSrv,RTCCAS``.

    PowerShell reads bareword arguments joined by commas as one array argument (the services and
    features fixes print such lists). tree-sitter-powershell 0.26 has no rule for it: it reports a
    MISSING argument separator (zero width) between the generic token ``RtcSrv`` and a generic token
    ``,RTCCAS``. Only that exact shape is waived; ``a,`` and ``a, b`` remain errors.
    """
    sep = node.parent
    if not (node.is_missing and sep is not None and sep.type == "command_argument_sep"
            and sep.start_byte == sep.end_byte):
        return False
    before, after = sep.prev_sibling, sep.next_sibling
    return (before is not None and after is not None and before.type == "generic_token"
            and after.type == "generic_token" and after.start_byte == sep.end_byte
            and after.text.startswith(b",") and len(after.text) > 1 and after.text[1:2] not in b" \t,")


def syntax_errors(text: str) -> List[str]:
    """Every ERROR or MISSING node of the parse, as "line:column: what" (empty: the text parses)."""
    tree = parse(text)
    found, waived = [], 0
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            if _bareword_list_gap(node):
                waived += 1
            else:
                row, col = node.start_point
                what = f"missing {node.type!r}" if node.is_missing else f"error at {node.text[:60]!r}"
                found.append(f"{row + 1}:{col + 1}: {what}")
        stack.extend(node.children)
    assert bool(found or waived) == tree.root_node.has_error  # the walk and tree-sitter agree
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


def test_only_the_bareword_list_is_waived():
    assert syntax_errors("Start-Service RtcSrv,RTCCAS,RTCIMMCU") == []
    assert PARSER.parse(b"Start-Service RtcSrv,RTCCAS").root_node.has_error  # what the waiver covers
    for broken in ("Start-Service RtcSrv,", "Start-Service RtcSrv,,RTCCAS", "Start-Service 'a',",
                   "Start-Service RtcSrv,RTCCAS; if (", "Start-Service (RtcSrv,"):
        assert syntax_errors(broken) != [], broken


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


BATCHES = [*pack(PROBES), *((name,) for name in PROBES), tuple(PROBES)]


@pytest.mark.parametrize("names", BATCHES, ids=" ".join)
def test_batches_and_their_command_lines_parse(names):
    line = batch_command_line(names)
    decoded = base64.b64decode(line[len(ENCODED_COMMAND):], validate=True).decode("utf-16-le")
    assert decoded == batch_script(names)
    assert syntax_errors(decoded) == []
    assert syntax_errors(line) == []
    # Top level: the building blocks (functions), then one call per probe, nothing else.
    statements = [c for n in parse(decoded).root_node.children if n.type == "statement_list" for c in n.children]
    functions = [s for s in statements if s.type == "function_statement"]
    calls = statements[len(functions):]
    assert [c.text.decode().split()[0] for c in calls] == [
        f"Invoke-{'Ps' if PROBES[n].kind == 'ps' else 'Cmd'}Probe" for n in PROBES if n in names]
    literals = verbatim_literals(decoded)
    for name in names:
        assert name in literals
        if PROBES[name].kind == "cmd":
            assert PROBES[name].command in literals  # each native command line is one literal argument
        else:  # the body is the probe's script, inside the call's script block
            body = PROBES[name].call(_compact(PROBES[name].command))
            assert body in decoded


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
    account = Account(dn, user_account_control=0x200 | 0x10000, lockout_time=0, account_expires=0x7FFFFFFFFFFFFFFF,
                      pwd_last_set=1, account_control_computed=UF_LOCKOUT)
    _, _, _, fixes = account_problems(account, DomainPolicy(None, 0, None), NOW, 30)
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


# --------------------------------------------------------------------------- remediation commands

# The other PowerShell ocscheck prints: the fixes of host.features, host.services and the AD levels.
# They are judged from a collector snapshot or a recorded RootDSE (no server), and the PowerShell part
# of each fix (after the "On <host>: " or ", or: " prose) must parse. Not PowerShell, so not parsed:
# the 2008 features fix (`ServerManagerCmd -install A & ServerManagerCmd -install B`, a cmd.exe line),
# the dsmod / dnscmd / wusa / lcscmd fixes, and the cmd probes' own command lines (each is parsed
# above as the literal collect.ps1 hands to cmd.exe).

def host_outcome(check_id: str, phase: str, directory: Path, site=None, **probes) -> Outcome:
    host = scenarios.variant("ready")
    host.update(probes)
    snapshot = directory / "snap.txt"
    snapshot.write_text(scenarios.snapshot_text(host), newline="")
    inputs = Inputs(host_snapshots={"server": snapshot})
    return judge(make_site(site or {}), [check_id], phase, inputs=inputs)[check_id]


def services_probe(stopped: Dict[str, str]) -> Dict[str, object]:
    """The ocs probe with ``stopped`` (name -> start mode) stopped, every other OCS service running."""
    ocs = scenarios.variant("ready")["ocs"]
    running = [line for line in ocs["service"] if line.split("|")[0] not in stopped]  # type: ignore[index]
    return {**ocs, "service": running + [f"{name}|Stopped|{mode}" for name, mode in stopped.items()]}


def test_features_fix_parses(tmp_path):
    outcome = host_outcome("host.features", "preflight", tmp_path,
                           features=scenarios._features("Desktop-Experience", "MSMQ-Server"))
    assert outcome.status == Status.FAIL
    assert outcome.remediation == "Import-Module ServerManager; Add-WindowsFeature 'MSMQ-Server','Desktop-Experience'"
    assert syntax_errors(outcome.remediation) == []


def test_services_fix_parses(tmp_path):
    outcome = host_outcome("host.services", "post", tmp_path,
                           ocs=services_probe({"RtcSrv": "Disabled", "RTCCAS": "Auto", "RTCIMMCU": "Disabled"}))
    assert outcome.status == Status.FAIL
    prose, _, command = outcome.remediation.partition(": ")
    assert prose == "On ocs.todorovic.adds"
    assert command == ("Set-Service 'RTCIMMCU' -StartupType Automatic ; Set-Service 'RtcSrv' -StartupType Automatic"
                       " ; Start-Service 'RTCCAS','RTCIMMCU','RtcSrv'")
    assert syntax_errors(command) == []


# The services and features fixes quote each name with ps_quote. The names come from the site file
# ([host] ocs_services, required_features) and, for services, also from the host: a name holding $
# (SQL Server's instance services are MSSQL$<instance>), a quote, a space or a ; stays one literal.
@pytest.mark.parametrize("name", ["MSSQL$RTC", "O'Brien Svc", "Rtc;calc"])
def test_services_fix_keeps_a_service_name_one_literal(tmp_path, name):
    outcome = host_outcome("host.services", "post", tmp_path, site={"host": {"ocs_services": [name]}},
                           ocs=services_probe({name: "Auto"}))
    assert outcome.status == Status.FAIL
    command = outcome.remediation.partition(": ")[2]
    assert syntax_errors(command) == [] and name in verbatim_literals(command)


@pytest.mark.parametrize("check_id, level_key, expected", [
    ("ad.forest-level", "forestFunctionality",
     "Import-Module ActiveDirectory; Set-ADForestMode -Identity todorovic.adds -ForestMode Windows2003Forest"),
    ("ad.domain-level", "domainFunctionality",
     "Import-Module ActiveDirectory; Set-ADDomainMode -Identity todorovic.adds -DomainMode Windows2003Domain"),
])
def test_functional_level_fixes_parse(check_id, level_key, expected):
    # The names in these fixes are site-file FQDNs, validated to letters, digits, - and _ per label.
    url, base = "ldaps://dc.todorovic.adds", "DC=todorovic,DC=adds"
    rootdse = RootDse(2, 2, 4, base, f"CN=Configuration,{base}", f"CN=Schema,CN=Configuration,{base}", base,
                      (base,), "dc.todorovic.adds", "2026-11-27T12:00:00Z").to_json()
    rootdse[level_key] = 0
    outcome = judge(make_site({"ldap": {"url": url, "user": "reader@todorovic.adds"}}), [check_id], "preflight",
                    env={"OCSCHECK_LDAP_PASSWORD": "x"},
                    replay={ldap_key(url, "rootdse"): {"value": rootdse}})[check_id]
    assert outcome.status == Status.FAIL
    command = outcome.remediation.rpartition(", or: ")[2]
    assert command == expected
    assert syntax_errors(command) == []
