"""Decoding of Windows tool output captured as bytes.

Windows writes a tool's output in one of a few encodings depending on how it was captured:
PowerShell redirection (``dcdiag > file``) writes UTF-16LE with a BOM, ``Out-File -Encoding UTF8``
writes UTF-8 with a BOM, cmd redirection and console pipes (WinRM's cmd shell) write the OEM
code page: 437 (US) or 850 (Western Europe, where French dcdiag's "réussi" has é = 0x82).
"""
from __future__ import annotations

import codecs
from dataclasses import dataclass

@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str


def decode_output(data: bytes, oem: str = "cp850") -> Decoded:
    """The text of ``data`` and the encoding it was read as (never raises).

    Bytes that are neither UTF-16 nor valid UTF-8 are read in ``oem``: cp850 and cp437 agree on the
    accented letters French output uses (é è à ç ê ô: 0x80-0x9F), so cp850 reads both correctly.
    """
    if data.startswith(codecs.BOM_UTF16_LE):
        return Decoded(data[2:].decode("utf-16-le", errors="replace"), "utf-16-le")
    if data.startswith(codecs.BOM_UTF16_BE):
        return Decoded(data[2:].decode("utf-16-be", errors="replace"), "utf-16-be")
    if data.startswith(codecs.BOM_UTF8):
        return Decoded(data[3:].decode("utf-8", errors="replace"), "utf-8")
    if _looks_utf16le(data):
        # A UTF-16 file whose BOM was cut off (a truncated or concatenated capture).
        return Decoded(data.decode("utf-16-le", errors="replace"), "utf-16-le")
    try:
        return Decoded(data.decode("utf-8"), "utf-8")
    except UnicodeDecodeError:
        pass
    return Decoded(data.decode(oem, errors="replace"), oem)


def _looks_utf16le(data: bytes) -> bool:
    """ASCII-heavy UTF-16LE text has a NUL in most odd positions and almost none in even ones."""
    if len(data) < 4:
        return False
    sample = data[:4096]
    odd = sample[1::2]
    even = sample[0::2]
    return odd.count(0) >= 0.7 * len(odd) and even.count(0) <= 0.1 * len(even)
