"""Files: written so that readers see the old content or the new, never a half-written one; read bounded.

Paths reach ocscheck from site files, options and recordings; reading one must neither hang (a FIFO),
nor exhaust memory (``/dev/zero``, a 10 GB log picked by mistake).
"""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Optional


def write_text_atomic(path: Path, text: str, mode: Optional[int] = None) -> None:
    """Write ``text`` to ``path`` atomically; ``mode`` (e.g. 0o600) instead of 0666 less the umask."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes 0600; a report should get the usual mode, a sensitive file keeps the one asked for.
        os.chmod(tmp, 0o666 & ~_umask() if mode is None else mode)
        # errors="replace": a lone surrogate (from badly decoded remote output) must not cost the report.
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class FileRefused(OSError):
    """A path that is not a readable regular file within the size cap; ``str()`` says why."""

    def __init__(self, message: str):
        super().__init__(message)
        self.strerror = message  # callers format OSError.strerror: they get the reason


def read_bytes_capped(path: Path, cap: int, regular_only: bool = True) -> bytes:
    """The bytes of ``path``, refusing more than ``cap`` bytes, and anything but a regular file when
    ``regular_only``.

    The file is opened non-blocking and checked with fstat on the open descriptor (no race with a
    rename between check and open): opening a FIFO for reading would otherwise wait for a writer.
    Raises OSError (FileRefused for the refusals above); a path with a NUL byte raises FileRefused too.
    """
    if "\x00" in os.fspath(path):
        raise FileRefused("the path contains a NUL character")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if regular_only and not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"not a regular file ({_kind(info.st_mode)})")
        if stat.S_ISREG(info.st_mode) and info.st_size > cap:
            raise FileRefused(f"larger than the {_size(cap)} limit ({_size(info.st_size)})")
        if getattr(os, "O_NONBLOCK", 0):
            os.set_blocking(fd, True)  # the open must not wait for a FIFO's writer; reading it may
        chunks = []
        left = cap + 1  # one byte more than allowed tells a file that grew (or a device) past the cap
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > cap:
            raise FileRefused(f"larger than the {_size(cap)} limit")
        return data
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def _size(count: int) -> str:
    return f"{count / (1 << 20):g} MiB" if count >= 1 << 20 else f"{count} bytes"
