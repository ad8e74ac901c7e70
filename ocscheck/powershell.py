"""Quoting values for PowerShell: the one way a value enters a script we run or a fix we print."""
from __future__ import annotations

import re


def ps_quote(value: str) -> str:
    """``value`` as a PowerShell single-quoted literal.

    Inside single quotes PowerShell expands nothing; a quote is escaped by doubling it, and
    PowerShell also treats the typographic quotes U+2018..U+201B as single quotes.
    """
    return "'" + re.sub("(['\u2018\u2019\u201a\u201b])", r"\1\1", value) + "'"
