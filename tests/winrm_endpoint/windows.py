"""What the Windows host prints for a command line the endpoint receives, from the scenario's probe outputs.

The scenario holds what each probe's own logic produces on the host (``data_b64``: a PowerShell probe's
UTF-8 lines, a native tool's bytes; ``exit``; ``delay`` seconds it runs; ``throws``: the message of the
exception a PowerShell probe throws, which ends the script). What comes back depends on how ocscheck
asked, as on Windows:

- a native command line (``netsh http show sslcert 2>&1``): cmd.exe runs the tool, its bytes come back;
  a tool that does not exist is cmd's "is not recognized" and exit code 9009;
- ``powershell.exe ... -EncodedCommand B64``: the script is decoded (UTF-16LE) and parsed with a real
  PowerShell grammar (tree-sitter-powershell). A probe's own script (``# ocscheck-probe: NAME``) prints
  base64 of the probe's lines. A batch runs its top-level statements in order, as PowerShell would: the
  ``function`` statements define the collector's building blocks, and each ``Invoke-PsProbe 'name' {body}``
  / ``Invoke-CmdProbe 'name' 'line'`` call prints its section — the header with the name it was given, then
  the base64 of what the body (recognised as one of the probes' scripts) or the command line (a native
  tool, through cmd.exe) printed, in lines of 76 characters, then an empty line — each string ending with
  CRLF like every line PowerShell writes. The endpoint emulates only what it knows: a call to a function the script did not
  define is PowerShell's "is not recognized" error on stderr; a function that is not the collector's
  block, or a body that is not a probe's script, cannot be emulated and says so on stderr.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple, Union

import tree_sitter_powershell
from tree_sitter import Language, Parser

from ocscheck.collector import PROBES, _compact
from ocscheck.collector.batch import _blocks

PARSER = Parser(Language(tree_sitter_powershell.language()))
# What the probes' scripts are, to recognise a body: probe name by its compacted script.
BODIES = {_compact(probe.command): name for name, probe in PROBES.items() if probe.kind == "ps"}
EXIT_NOT_FOUND = 9009
TOOLS = (("netsh http show sslcert", "sslcert"), ("appcmd.exe list site", "sites"),
         ("repadmin /showrepl", "repadmin"), ("dcdiag", "dcdiag"))


@dataclass
class Printed:
    """A command's output: stdout pieces (seconds after its start, bytes), its exit code, its stderr, and
    which probes it ran (for the request log)."""
    pieces: List[Tuple[float, bytes]] = field(default_factory=list)
    exit_code: int = 0
    stderr: bytes = b""
    probes: List[str] = field(default_factory=list)


def run(command: str, arguments: str, outputs: Dict[str, dict]) -> Printed:
    line = f"{command} {arguments}".strip()
    match = re.search(r"-EncodedCommand\s+(\S+)", line, re.IGNORECASE)
    if match is None:
        return _cmd(line, outputs)
    script = base64.b64decode(match.group(1)).decode("utf-16-le")
    marker = re.match(r"# ocscheck-probe: (\S+)\n", script)
    if marker is None:
        return _script(script, outputs)
    found = outputs.get(marker.group(1))
    if found is None:  # a probe the scenario does not know: as if PowerShell were missing
        return _not_found(command)
    if found.get("throws"):  # the script ends there: nothing on stdout
        return Printed([], 1, f"{found['throws']}\r\n".encode("utf-8"), [marker.group(1)])
    data = base64.b64decode(found["data_b64"])  # a probe's own script prints base64 of its lines, one line
    return Printed([(found.get("delay", 0), base64.b64encode(data) + b"\r\n")], probes=[marker.group(1)])


def _cmd(line: str, outputs: Dict[str, dict]) -> Printed:
    """cmd.exe running ``line``: the tool's bytes, or cmd's answer for a program that does not exist."""
    lowered = line.lower()
    for needle, name in TOOLS:
        if needle in lowered and name in outputs:
            found = outputs[name]
            return Printed([(found.get("delay", 0), base64.b64decode(found["data_b64"]))], found.get("exit", 0),
                           probes=[name])
    return _not_found(line)


def _not_found(line: str) -> Printed:
    program = line.split()[0] if line.split() else "?"
    text = f"'{program}' is not recognized as an internal or external command,\r\noperable program or batch file.\r\n"
    return Printed([(0, text.encode("cp437"))], EXIT_NOT_FOUND)


def _script(script: str, outputs: Dict[str, dict]) -> Printed:
    """PowerShell running a batch: its statements in order; what each call prints, when."""
    known: Dict[str, str] = _blocks()
    defined: Dict[str, str] = {}
    printed, clock, errors = Printed(), 0.0, []
    statements = [child for node in PARSER.parse(script.encode("utf-8")).root_node.children
                  if node.type == "statement_list" for child in node.children]
    for statement in statements:
        if statement.type == "function_statement":
            defined[_first(statement, "function_name").text.decode()] = statement.text.decode()
            continue
        command = _first(statement, "command")
        verb = _first(command, "command_name").text.decode() if command else ""
        arguments = [n.text.decode() for n in _children(_first(command, "command_elements"), "array_literal_expression")]
        if verb not in defined:
            errors.append(f"The term '{verb or statement.text.decode()[:40]}' is not recognized as the name of a "
                          f"cmdlet, function, script file, or operable program.")
            continue
        if defined[verb] != known.get(verb):
            errors.append(f"endpoint: cannot emulate {verb}: not the collector's building block")
            continue
        section = _section(verb, arguments, outputs)
        if section is None:
            errors.append(f"endpoint: cannot emulate {statement.text.decode()[:60]!r}")
            continue
        name, delay, exit_code, data = section
        printed.probes.append(name)
        if isinstance(data, str):  # it threw: PowerShell ends the script
            errors.append(data)
            printed.exit_code = 1
            break
        clock += delay
        encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")  # 76 characters a line, as InsertLineBreaks
        printed.pieces.append((clock, f"[probe {name} exit={exit_code}]\r\n".encode() + (encoded or b"\r\n")
                               + b"\r\n"))  # Add-Section's last string: an empty line
    printed.stderr = "".join(f"{error}\r\n" for error in errors).encode("utf-8")
    return printed


def _section(verb: str, arguments: List[str], outputs: Dict[str, dict]
             ) -> Optional[Tuple[str, float, int, Union[bytes, str]]]:
    """What one call prints: (its name argument, how long it runs, exit code, bytes or the exception it
    throws), or None."""
    if len(arguments) != 2 or not _quoted(arguments[0]):
        return None
    name = _literal(arguments[0])
    if verb == "Invoke-PsProbe" and arguments[1].startswith("{"):
        probe = BODIES.get(arguments[1][1:-1].strip("\n"))
        found = outputs.get(probe or "")
        if found is None:
            return None
        return name, found.get("delay", 0), 0, found.get("throws") or base64.b64decode(found["data_b64"])
    if verb == "Invoke-CmdProbe" and _quoted(arguments[1]):
        ran = _cmd(_literal(arguments[1]), outputs)
        return name, ran.pieces[0][0], ran.exit_code, ran.pieces[0][1]
    return None


def _quoted(text: str) -> bool:
    return len(text) >= 2 and text[0] in "'\u2018\u2019\u201a\u201b" and text[-1] in "'\u2018\u2019\u201a\u201b"


def _literal(text: str) -> str:
    """A single-quoted PowerShell string's value: two quotes in a row (any of the five) are one."""
    return re.sub("(['\u2018\u2019\u201a\u201b])['\u2018\u2019\u201a\u201b]", r"\1", text[1:-1])


def _first(node, kind: str):
    return next(iter(_children(node, kind, deep=True)), None) if node is not None else None


def _children(node, kind: str, deep: bool = False) -> list:
    if node is None:
        return []
    found = []
    for child in node.children:
        if child.type == kind:
            found.append(child)
        elif deep:
            found += _children(child, kind, deep)
    return found
