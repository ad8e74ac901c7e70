"""dcdiag output, English and French, full or ``/q``.

English verdicts: ``......................... DC01 passed test Connectivity`` (``failed test``); a long
test name wraps onto the next line (``... ForestDnsZones passed test`` / ``CrossRefValidation``).
French verdicts are split over two lines: ``......................... Le test Connectivity`` /
``de DC01 a réussi`` (``a échoué``). ``dcdiag /q`` prints only failures: empty output = all passed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

HEADERS = ("directory server diagnosis", "diagnostic du serveur d'annuaire", "domain controller diagnosis")
_DOTS = re.compile(r"^\s*\.{5,}\s*(.*)$")
_STARTING = re.compile(r"^\s*(?:Starting test|D\S*marrage du test)\s*:\s*(\S+)", re.IGNORECASE)
_EN = re.compile(r"^(?P<dc>\S+) (?P<verdict>passed|failed) test (?P<test>\S+)$", re.IGNORECASE)
# "réussi"/"échoué" matched loosely: a capture decoded with the wrong code page mangles the accents.
_FR = re.compile(r"^Le test (?P<test>\S+) de (?P<dc>\S+) a (?P<verdict>r\S{0,2}ussi|\S{0,2}chou\S{1,2})$",
                 re.IGNORECASE)
_MAX_CONTINUATION = 3


@dataclass(frozen=True)
class DcdiagTest:
    dc: str          # the DC, partition or domain the test ran on, as dcdiag names it
    test: str
    passed: bool
    detail: Tuple[str, ...] = ()   # first lines dcdiag printed for a failed test


@dataclass(frozen=True)
class DcdiagReport:
    tests: Tuple[DcdiagTest, ...]
    quiet: bool                    # no header: output of dcdiag /q
    language: str                  # "en", "fr" or "" when nothing tells
    error: Optional[str] = None    # set when the text is not dcdiag output
    unreadable: Tuple[str, ...] = ()   # verdict lines that matched no known language

    @property
    def failed(self) -> Tuple[DcdiagTest, ...]:
        return tuple(t for t in self.tests if not t.passed)


def parse_dcdiag(text: str) -> DcdiagReport:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lowered = text.lower()
    has_header = any(h in lowered for h in HEADERS)
    language = "fr" if "diagnostic du serveur" in lowered or "marrage du test" in lowered else \
        "en" if has_header or "starting test" in lowered else ""
    tests: List[DcdiagTest] = []
    unreadable: List[str] = []
    detail: List[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if _STARTING.match(line):
            detail = []
            i += 1
            continue
        dots = _DOTS.match(line)
        if not dots:
            if line.strip() and len(detail) < 3:
                detail.append(line.strip())
            i += 1
            continue
        joined = dots.group(1).strip()
        found = _verdict(joined)
        used = 0
        j = i + 1
        while found is None and used < _MAX_CONTINUATION and j < len(lines):
            nxt = lines[j].strip()
            j += 1
            if not nxt:
                continue
            if _DOTS.match(lines[j - 1]) or _STARTING.match(lines[j - 1]):
                j -= 1
                break
            used += 1
            joined = f"{joined} {nxt}"
            found = _verdict(joined)
        if found is None:
            unreadable.append(dots.group(1).strip()[:120])
            i += 1
            continue
        dc, test, passed = found
        tests.append(DcdiagTest(dc, test, passed, () if passed else tuple(detail)))
        if not language:
            language = "fr" if joined.lower().startswith("le test") else "en"
        detail = []
        i = j
    if not tests:
        if not text.strip():
            return DcdiagReport((), quiet=True, language=language)
        if has_header and not unreadable:
            return DcdiagReport((), quiet=False, language=language,
                                error="dcdiag output without any test verdict (truncated?)")
        what = "verdict lines in an unknown language" if unreadable else "not dcdiag output"
        return DcdiagReport((), quiet=not has_header, language=language, error=what,
                            unreadable=tuple(unreadable))
    return DcdiagReport(tuple(tests), quiet=not has_header, language=language, unreadable=tuple(unreadable))


def _verdict(joined: str) -> Optional[Tuple[str, str, bool]]:
    joined = " ".join(joined.split())
    match = _EN.match(joined)
    if match:
        return match.group("dc"), match.group("test"), match.group("verdict").lower() == "passed"
    match = _FR.match(joined)
    if match:
        return match.group("dc"), match.group("test"), match.group("verdict").lower().startswith("r")
    return None
