"""The terminal report: one table per area, totals, evidence and remediation with -v.

Fitted to a width (COLUMNS, or the terminal's; 100 columns in a pipe or a file): long cells wrap inside their column, long unbroken
values (DNs, URLs) break where they must. Colour only when asked (see use_colour: NO_COLOR, --color).
Text from servers goes through reveal(): ANSI escapes and control characters removed, invisible format
characters (bidi overrides, zero-width spaces) shown as \\uXXXX instead of acting on the line.
"""
from __future__ import annotations

import os
import re
import shutil
import sys
import textwrap
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from tabulate import tabulate

from ocscheck.model import Outcome, Status
from ocscheck.reports import RunReport, reveal

_COLOURS = {Status.PASS: "32", Status.WARN: "33", Status.FAIL: "31", Status.ERROR: "35", Status.SKIP: "2"}
FILE_WIDTH = 100    # a text report written to a file
MIN_COLUMN = 10     # a wrapped column is never squeezed below this (or its header)
_GAP = 2            # tabulate's "simple" format: two spaces between columns
_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def use_colour(choice: str = "auto", isatty: Optional[bool] = None,
               environ: Optional[Mapping[str, str]] = None) -> bool:
    """--color: "always" and "never" are obeyed; "auto" colours a terminal unless NO_COLOR is set to a
    non-empty value (https://no-color.org: a command-line option overrides it)."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    environ = os.environ if environ is None else environ
    if environ.get("NO_COLOR", ""):
        return False
    return sys.stdout.isatty() if isatty is None else isatty


def terminal_width() -> Optional[int]:
    """The width to fit: COLUMNS when set, else the terminal's when stdout is one; None for a pipe or a
    file (so that `ocscheck list | grep` sees whole rows)."""
    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return max(40, int(columns))
    if sys.stdout.isatty():
        return max(40, shutil.get_terminal_size((FILE_WIDTH, 24)).columns)
    return None


def _visible_len(text: str) -> int:
    return len(_ESCAPE.sub("", text))


def _wrap(text: str, width: int) -> List[str]:
    lines: List[str] = []
    for paragraph in text.splitlines() or [""]:
        lines += textwrap.wrap(paragraph, width, break_on_hyphens=False) or [""]
    return lines


def fit_table(rows: Sequence[Sequence[str]], headers: Sequence[str], width: Optional[int],
              fixed: Sequence[int] = ()) -> str:
    """A tabulate "simple" table no wider than `width` (None: as wide as it comes): the columns not listed in `fixed` are narrowed
    in proportion to their natural width (down to MIN_COLUMN or their header) and their cells wrapped. When even that
    is too wide, one block per row instead: the first cell, then "header: value" lines, indented."""
    count = len(headers)
    # tabulate gives a header two columns more than its text ("note" -> "------").
    natural = [max([_visible_len(str(h)) + 2] + [_visible_len(line) for r in rows
                                                 for line in str(r[i]).splitlines()])
               for i, h in enumerate(headers)]
    widths = list(natural)
    width = width if width is not None else sum(natural) + _GAP * (count - 1)
    floor = [max(MIN_COLUMN, len(str(h)) + 2) for h in headers]
    while sum(widths) + _GAP * (count - 1) > width:
        candidates = [i for i in range(count) if i not in fixed and widths[i] > floor[i]]
        if not candidates:
            return _stacked(rows, headers, width)
        # The column that kept the most of its natural width gives up one: long columns shrink most.
        widest = max(candidates, key=lambda i: (widths[i] / natural[i], widths[i]))
        widths[widest] -= 1
    fitted = [[cell if i in fixed or widths[i] >= natural[i] else "\n".join(_wrap(str(cell), widths[i]))
               for i, cell in enumerate(row)] for row in rows]
    return tabulate(fitted, headers=list(headers), tablefmt="simple", disable_numparse=True)


def _stacked(rows: Sequence[Sequence[str]], headers: Sequence[str], width: int) -> str:
    out: List[str] = []
    for row in rows:
        out.append(str(row[0]))
        for header, cell in zip(headers[1:], row[1:]):
            if str(cell).strip():
                label = f"  {header}: "
                for index, line in enumerate(_wrap(str(cell), max(10, width - len(label)))):
                    out.append((label if index == 0 else " " * len(label)) + line)
    return "\n".join(out)


def _status(status: Status, colour: bool) -> str:
    text = status.value.upper()
    return f"\x1b[{_COLOURS[status]}m{text}\x1b[0m" if colour else text


def _details(outcome: Outcome, width: Optional[int]) -> List[str]:
    """Evidence wrapped to a terminal's width (whole lines in a pipe or a file, where people grep them); the fix
    never wrapped: it is a command to paste, one line of it per line."""
    lines: List[str] = []

    def add(label: str, text: str, wrap: bool) -> None:
        first, rest = f"    {label}", " " * (4 + len(label))
        shown = _wrap(reveal(text), max(20, width - len(rest))) if wrap and width else reveal(text).splitlines()
        for index, line in enumerate(shown or [""]):
            lines.append((first if index == 0 else rest) + line)

    for item in outcome.evidence:
        add("evidence: ", item, wrap=True)
    if outcome.remediation:
        add("fix: ", outcome.remediation, wrap=False)
    if outcome.detail:
        lines += [f"    {line}" for line in reveal(outcome.detail).splitlines()]
    return lines


def _said_once(outcomes: Sequence[Outcome]) -> List[Tuple[Outcome, str]]:
    """Each outcome with the summary to show: an error whose reason an earlier row of the area already
    gave (one DC down errors every AD check the same way) says so instead of repeating it."""
    first: Dict[str, str] = {}
    shown = []
    for outcome in outcomes:
        if outcome.status is Status.ERROR and outcome.summary in first:
            shown.append((outcome, f"same as {first[outcome.summary]}"))
            continue
        if outcome.status is Status.ERROR:
            first[outcome.summary] = outcome.id
        shown.append((outcome, outcome.summary))
    return shown


def render(report: RunReport, verbose: bool, colour: bool = False, width: Optional[int] = None) -> str:
    terminal, width = width, width or FILE_WIDTH
    header = reveal(f"ocscheck {report.tool_version} — {report.phase} — {report.site}"
                    + (f" (replayed from {report.replayed_from})" if report.replayed_from else ""))
    out = _wrap(header, width) + [""]
    if report.interrupted:
        out += _wrap(f"Interrupted ({report.interrupted}): the checks still running are errors.", width) + [""]
    if report.changes:
        out += [wrapped for line in report.changes.lines() for wrapped in _wrap(reveal(line), width)] + [""]
    for area, outcomes in report.by_area():
        rows = [(reveal(o.id), _status(o.status, colour), reveal(summary)) for o, summary in _said_once(outcomes)]
        out.append(f"[{reveal(area)}]")
        out.append(fit_table(rows, ("check", "status", "summary"), width, fixed=(0, 1)))
        if verbose:
            for outcome in outcomes:
                details = _details(outcome, terminal)
                if details:
                    out.append(f"  {reveal(outcome.id)}:")
                    out += details
        out.append("")
    counts = report.counts()
    totals = ", ".join(f"{counts[s.value]} {s.value}" for s in Status)
    out += _wrap(f"{len(report.outcomes)} checks in {report.duration_s:.1f} s: {totals}", width)
    if not verbose and any(o.remediation for o in report.outcomes if o.status is not Status.PASS):
        out.append("Run with -v for evidence and the exact fixes.")
    return "\n".join(out) + "\n"
