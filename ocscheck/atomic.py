"""Files: written so that readers see the old content or the new, never a half-written one; read bounded.

Paths reach ocscheck from site files, options and recordings; reading one must neither hang (a FIFO),
nor exhaust memory (``/dev/zero``, a 10 GB log picked by mistake).
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Optional


def output_problem(path: Path) -> Optional[str]:
    """Why ``path`` cannot take an output file (a report, a recording, a site file), or None.

    Checked before a run starts, so that a typo costs nothing: the parent directory must exist (it is
    never created silently), and the path must not be a directory, a socket or a block device.
    A symlink is judged by its target, which is what gets written.
    """
    target = Path(os.path.realpath(path))
    if not target.parent.is_dir():
        return f"{path}: the directory {target.parent} does not exist"
    try:
        mode = os.stat(target).st_mode
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{path}: {exc.strerror}"
    if stat.S_ISDIR(mode):
        return f"{path} is a directory"
    if not (stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
        return f"{path} is neither a regular file, a FIFO nor a character device"
    return None


def write_text_atomic(path: Path, text: str, mode: Optional[int] = None) -> None:
    """Write ``text`` to ``path``: readers see the old content or the new, never half of it.

    - A symlink is written through: its target is replaced (the link stays).
    - A FIFO or a character device (``/dev/null``, ``/dev/stdout``) is written directly: it is never
      replaced by a regular file.
    - A regular file being replaced keeps its mode and owner; a new file gets ``mode`` (e.g. 0o600 for
      a recording), else 0666 less the umask.
    The parent directory must exist (see ``output_problem``).
    """
    target = Path(os.path.realpath(path))
    try:
        existing = os.stat(target)
    except FileNotFoundError:
        existing = None
    if existing is not None and (stat.S_ISFIFO(existing.st_mode) or stat.S_ISCHR(existing.st_mode)):
        _write_stream(target, text)
        return
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        raise IsADirectoryError(21, "not a regular file", str(path))
    import tempfile  # only when a file is written: a run with no report file does without (2 ms)

    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        if existing is not None:
            os.chmod(tmp, stat.S_IMODE(existing.st_mode))
            if (existing.st_uid, existing.st_gid) != (os.getuid(), os.getgid()):
                try:
                    os.chown(tmp, existing.st_uid, existing.st_gid)
                except PermissionError:  # not root: the file becomes ours, as any editor's save would
                    pass
        else:
            # mkstemp makes 0600; a report should get the usual mode, a sensitive file keeps the one asked for.
            os.chmod(tmp, 0o666 & ~_umask() if mode is None else mode)
        # errors="replace": a lone surrogate (from badly decoded remote output) must not cost the report.
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _write_stream(target: Path, text: str) -> None:
    """Write to a FIFO or a character device as it is; a FIFO nobody reads is an error, not a hang."""
    flags = os.O_WRONLY | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(target, flags)
    except OSError as exc:
        if exc.errno == 6:  # ENXIO: a FIFO with no reader
            raise OSError(exc.errno, "nobody reads this FIFO", str(target)) from None
        raise
    os.set_blocking(fd, True)  # once a reader is there, write it all
    with os.fdopen(fd, "w", encoding="utf-8", errors="replace", newline="\n") as handle:
        handle.write(text)


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
