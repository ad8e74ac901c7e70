"""Memoised, thread-safe fact fetching with record and replay.

Every fact has a string key (``dns:internal:_sip._tls.todorovic.fr:SRV``) and a JSON-compatible
value. The first caller of a key fetches it; concurrent callers of the same key wait for that one
fetch (single flight); later callers get the memoised value or the memoised ``FactUnavailable``.
A recording is the set of all keys fetched in a run; replaying it answers from the file only.
"""
from __future__ import annotations

import enum
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from contextlib import nullcontext
from typing import Any, Callable, ContextManager, Dict, Optional

from ocscheck import __version__
from ocscheck.secrets import Redactor

RECORDING_SCHEMA_VERSION = 1
RECORDING_MODE = 0o600
# A recording of a large forest (users.sip pages every enabled user) is tens of MB at most.
MAX_RECORDING_BYTES = 256 << 20


class Reason(str, enum.Enum):
    """Why a fact could not be had. The first makes a check skip (the site does not ask for the source);
    the others make it error, including a source the site configures but that cannot be used."""

    NOT_CONFIGURED = "not configured"
    MISCONFIGURED = "not usable as configured"
    SECRET_MISSING = "secret not available"
    UNREADABLE = "unreadable"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timed out"
    REFUSED = "refused"
    AUTH_FAILED = "authentication failed"
    PROTOCOL = "protocol error"
    NOT_RECORDED = "not in the recording"

    def __str__(self) -> str:
        return self.value

    @property
    def skips(self) -> bool:
        return self is Reason.NOT_CONFIGURED


class FactUnavailable(Exception):
    """A fact that could not be fetched; the runner turns it into skip or error with the reason.

    ``detail`` is one short sentence in the user's terms (what, where, why); ``raw`` is what the library
    or the server said, kept for the evidence (shown with -v), never for the summary.
    """

    def __init__(self, reason: Reason, detail: str, raw: str = ""):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.raw = raw

    def to_json(self) -> Dict[str, str]:
        return {"reason": self.reason.name, "detail": self.detail, **({"raw": self.raw} if self.raw else {})}

    @classmethod
    def from_json(cls, data: Dict[str, str]) -> "FactUnavailable":
        return cls(Reason[data["reason"]], data["detail"], data.get("raw", ""))


@dataclass
class _Entry:
    done: threading.Event
    value: Any = None
    error: Optional[FactUnavailable] = None
    seconds: float = 0.0


class FactStore:
    """One run's facts. ``replay`` (a recording's facts) makes it answer without any network."""

    def __init__(self, redactor: Redactor, default_timeout: float = 10.0,
                 replay: Optional[Dict[str, Any]] = None):
        self._redactor = redactor
        self.default_timeout = default_timeout
        self._replay = replay
        self._entries: Dict[str, _Entry] = {}
        self._lock = threading.Lock()
        # Entered around every network wait (a fetch, or waiting for another thread's fetch of the same
        # key): the runner sets it so that a check waiting on the network gives its worker slot back.
        self.waiting: Callable[[], ContextManager[Any]] = nullcontext
        self._reading = threading.local()  # the key each check thread read last: named when a check crashes

    def last_key(self) -> Optional[str]:
        """The key the calling thread read last (which fact a crashing check was judging)."""
        return getattr(self._reading, "key", None)

    @property
    def replaying(self) -> bool:
        return self._replay is not None

    def get(self, key: str, fetch: Callable[[], Any]) -> Any:
        """The value of ``key``, fetching it at most once per run.

        ``fetch`` must honour its own protocol timeouts. A second caller waits for the fetch under
        way as long as a check may run (three fact timeouts, when the runner abandons it): a slow
        but working source (connect, StartTLS, bind, then search) must not time its waiters out.
        """
        self._reading.key = key
        with self._lock:
            entry = self._entries.get(key)
            owner = entry is None
            if owner:
                entry = self._entries[key] = _Entry(threading.Event())
        if owner and self._replay is not None:
            self._fill(key, entry, fetch)  # a dictionary look-up: no wait to announce
        elif owner:
            with self.waiting():
                self._fill(key, entry, fetch)
        elif not entry.done.is_set():
            wait = self.default_timeout * 3 + 1.0
            with self.waiting():
                finished = entry.done.wait(wait)
            if not finished:
                raise FactUnavailable(Reason.TIMEOUT, f"{key} still being fetched after {wait:.0f} s")
        if entry.error is not None:
            raise entry.error
        return entry.value

    def _fill(self, key: str, entry: _Entry, fetch: Callable[[], Any]) -> None:
        started = time.monotonic()
        try:
            if self._replay is not None:
                self._from_recording(key, entry)
            else:
                value = fetch()
                json.dumps(value)  # a fact must be recordable; fail loudly in development
                entry.value = value
        except FactUnavailable as exc:
            entry.error = FactUnavailable(exc.reason, self._redactor.redact(exc.detail),
                                          self._redactor.redact(exc.raw))
        except BaseException as exc:
            # A fetcher bug: forget the entry so that a later caller retries (and reports its own crash);
            # callers already waiting get an error, never an empty value.
            with self._lock:
                self._entries.pop(key, None)
            entry.error = FactUnavailable(Reason.PROTOCOL, f"fetching {key} crashed: {type(exc).__name__}")
            entry.done.set()
            raise
        entry.seconds = time.monotonic() - started
        entry.done.set()

    def _from_recording(self, key: str, entry: _Entry) -> None:
        assert self._replay is not None
        if key not in self._replay:
            raise FactUnavailable(Reason.NOT_RECORDED, f"{key} was not fetched in the recorded run")
        recorded = self._replay[key]
        if "error" in recorded:
            raise FactUnavailable.from_json(recorded["error"])
        entry.value = recorded["value"]

    def recording(self) -> Dict[str, Any]:
        """Every fact fetched so far, secrets redacted, in key order."""
        facts: Dict[str, Any] = {}
        with self._lock:
            items = sorted(self._entries.items())
        for key, entry in items:
            if not entry.done.is_set():
                continue
            if entry.error is not None:
                facts[key] = {"error": entry.error.to_json()}
            else:
                facts[key] = {"value": entry.value}
        return self._redactor.redact_json(facts)


def save_recording(facts: Dict[str, Any], path: Path, phase: str) -> None:
    """Write a run's facts (``FactStore.recording()``, secrets masked) as a recording file."""
    from ocscheck.atomic import write_text_atomic

    document = {"schema_version": RECORDING_SCHEMA_VERSION, "tool_version": __version__,
                "phase": phase, "facts": facts}
    # 0600: a recording holds the forest's internal names, addresses and accounts.
    write_text_atomic(path, json.dumps(document, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                      mode=RECORDING_MODE)


class RecordingError(ValueError):
    pass


def load_recording(path: Path) -> Dict[str, Any]:
    from ocscheck.atomic import read_bytes_capped

    try:
        document = json.loads(read_bytes_capped(Path(path), MAX_RECORDING_BYTES).decode("utf-8"))
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read the recording: {exc.strerror or exc}") from None
    except ValueError as exc:  # also UnicodeDecodeError
        raise RecordingError(f"{path}: not a JSON recording: {exc}") from None
    except RecursionError:  # json nests by recursion: [[[[...]]]] 100,000 deep
        raise RecordingError(f"{path}: not an ocscheck recording: values nested too deeply") from None
    if not isinstance(document, dict) or document.get("schema_version") != RECORDING_SCHEMA_VERSION \
            or not isinstance(document.get("facts"), dict):
        raise RecordingError(f"{path}: not an ocscheck recording (schema_version {RECORDING_SCHEMA_VERSION})")
    for key, recorded in document["facts"].items():
        if not isinstance(recorded, dict) or not ("value" in recorded or "error" in recorded):
            raise RecordingError(f"{path}: fact {key!r} has neither a value nor an error")
        if _depth(recorded) > MAX_RECORDING_DEPTH:
            raise RecordingError(f"{path}: fact {key!r} is nested deeper than {MAX_RECORDING_DEPTH} levels")
    return document["facts"]


# Facts nest a few levels (an LDAP entry's attributes' values); json.loads accepts up to ~1,000, deep
# enough for the recursive code that reads the values later (redaction, checks) to overflow the stack.
MAX_RECORDING_DEPTH = 64


def _depth(value: Any) -> int:
    """How deeply lists and dicts nest in ``value`` (iterative: the input decides the depth)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            if depth <= MAX_RECORDING_DEPTH:
                stack.extend((child, depth + 1) for child in item)
    return deepest
