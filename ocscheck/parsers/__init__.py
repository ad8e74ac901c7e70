"""Pure parsers of Windows tool output (no I/O): bytes in, typed results out.

Each parser takes text already decoded by ``decode.decode_output`` and never raises on bad input:
what it cannot read it reports in the result's ``error`` field, which checks turn into ``error``.
"""
