"""Secrets come from environment variables named in the site file, or from a prompt.

Every secret resolved in a run is registered with the run's Redactor, which scrubs it from
fact details, recordings and report text: a password never leaves the process.
"""
from __future__ import annotations

import base64
import binascii
import os
import re
import threading
import urllib.parse
from typing import Any, Callable, Dict, Iterator, Optional, Pattern, Set, Tuple


class Redactor:
    """Masks the run's secrets in text and in JSON-like values (fact values, recordings, reports).

    - A secret of 4 characters or more is masked wherever it occurs, and so are the forms it takes on
      the wire (URL-encoded, hex, UTF-16LE, base64 of its UTF-8 or UTF-16LE bytes at any alignment,
      for secrets long enough that those forms cannot occur by chance).
    - A shorter secret is masked only as a whole token (not next to a letter or digit): masking every
      "a" garbled the output ("ld********ps://") and the places of the masks told the password.
    - PEM blocks and whole base64 values (certificates, CRLs) are left intact, so a recording still
      replays; if the secret is inside their decoded bytes, the whole block is masked instead.
    - Dict keys (fact keys) are never changed: a recording keyed by masked names no longer replays.
    """

    MASK = "********"

    def __init__(self) -> None:
        self._secrets: Dict[str, _Secret] = {}
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        if secret:
            with self._lock:
                if secret not in self._secrets:
                    self._secrets[secret] = _Secret(secret)

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets.values(), key=lambda s: len(s.text), reverse=True)
        if not secrets or not text:
            return text
        if _is_base64_blob(text):
            return self._binary(text, _b64decode(text), secrets)
        out = []
        for segment, is_pem in _pem_segments(text):
            body = _pem_body(segment) if is_pem else b""
            if body:
                out.append(self._binary(segment, body, secrets))
                continue
            for secret in secrets:
                segment = secret.mask(segment, self.MASK)
            out.append(segment)
        return "".join(out)

    def _binary(self, text: str, decoded: bytes, secrets: "list[_Secret]") -> str:
        """Base64 data: whole if no secret is in it (decoded or as text), masked whole if one is."""
        if any(secret.in_bytes(decoded) for secret in secrets):
            return self.MASK
        for secret in secrets:
            text = secret.mask(text, self.MASK, binary=True)
        return text

    def redact_json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list):
            return [self.redact_json(item) for item in value]
        if isinstance(value, dict):
            return {k: self.redact_json(v) for k, v in value.items()}
        return value


# Below this length a secret is masked as a whole token only; from it up, its encoded forms are masked
# too when they are at least FORM_MIN_LENGTH long (shorter forms would occur by chance in binary data).
TOKEN_ONLY_BELOW = 4
FORM_MIN_LENGTH = 8
# Inside certificates and other base64 data a secret shorter than this is looked for in the decoded
# bytes only: a 4-character password such as "MIIB" occurs in the base64 text of every certificate.
BINARY_SAFE_LENGTH = 8
_BASE64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_")
_BLOB_MIN_LENGTH = 64


class _Secret:
    """One secret with the forms it is masked in, computed once."""

    def __init__(self, text: str):
        self.text = text
        self.short = len(text) < TOKEN_ONLY_BELOW
        if self.short:
            self._token: Optional[Pattern[str]] = re.compile(
                r"(?<![A-Za-z0-9])" + re.escape(text) + r"(?![A-Za-z0-9])")
            self.forms: Tuple[str, ...] = ()
            self._bytes: Tuple[bytes, ...] = ()
        else:
            self._token = None
            self.forms = _forms(text)
            self._bytes = (text.encode("utf-8", "surrogatepass"), text.encode("utf-16-le", "surrogatepass"))

    def mask(self, text: str, mask: str, binary: bool = False) -> str:
        if self._token is not None:
            return text if binary else self._token.sub(mask, text)
        if binary and len(self.text) < BINARY_SAFE_LENGTH:
            return text
        for form in self.forms:
            if form in text:
                text = text.replace(form, mask)
        return text

    def in_bytes(self, data: bytes) -> bool:
        return any(form in data for form in self._bytes)


def _forms(secret: str) -> Tuple[str, ...]:
    """The secret and its encodings as they appear in text: URL, hex, UTF-16LE read as Latin-1, base64."""
    utf8 = secret.encode("utf-8", "surrogatepass")
    utf16 = secret.encode("utf-16-le", "surrogatepass")
    forms = {secret, urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret),
             utf16.decode("latin-1")}
    forms |= {re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), f) for f in list(forms) if "%" in f}
    for data in (utf8, utf16):
        forms |= {data.hex(), data.hex().upper()}
        for offset in range(3):
            encoded = base64.b64encode(bytes(offset) + data).decode("ascii")
            # The characters fully determined by the secret's bits, whatever surrounds it.
            core = encoded[-(-8 * offset // 6):(8 * (offset + len(data))) // 6]
            forms |= {core, core.replace("+", "-").replace("/", "_")}
        forms.add(base64.b64encode(data).decode("ascii"))
    kept = {f for f in forms if f == secret or len(f) >= FORM_MIN_LENGTH}
    return tuple(sorted(kept, key=len, reverse=True))


def _is_base64_blob(text: str) -> bool:
    """A whole value that is base64 data (a DER certificate or CRL in a fact), not prose."""
    return len(text) >= _BLOB_MIN_LENGTH and len(text) % 4 == 0 and set(text) <= _BASE64_CHARS \
        and _b64decode(text) != b""


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        return b""


def _pem_body(block: str) -> bytes:
    """The DER bytes of a PEM block; b"" when its body is not plain base64 (then it is masked as text)."""
    start = block.find("-----", len("-----BEGIN ")) + 5
    end = block.rfind("-----END ")
    return _b64decode("".join(block[start:end].split())) if 5 <= start <= end else b""


def _pem_segments(text: str) -> Iterator[Tuple[str, bool]]:
    """``text`` cut into (segment, is_pem_block) pieces; found with str.find, linear in the text."""
    pos = 0
    while True:
        start = text.find("-----BEGIN ", pos)
        end = text.find("-----END ", start) if start >= 0 else -1
        close = text.find("-----", end + 9) if end >= 0 else -1
        if close < 0:
            break
        close += 5
        yield text[pos:start], False
        yield text[start:close], True
        pos = close
    yield text[pos:], False


class SecretMissing(LookupError):
    pass


class Secrets:
    """Resolves secrets by environment-variable name, prompting once per variable when allowed."""

    def __init__(self, redactor: Redactor, environ: Optional[Dict[str, str]] = None,
                 prompt: Optional[Callable[[str], str]] = None):
        self.redactor = redactor
        self._environ = os.environ if environ is None else environ
        self._prompt = prompt
        self._cache: Dict[str, str] = {}
        self._asked: Set[str] = set()
        self._lock = threading.Lock()

    def stop_prompting(self) -> None:
        """No prompt from here on: the run's worker threads must never ask on the terminal."""
        with self._lock:
            self._prompt = None

    def get(self, env_name: str, purpose: str) -> str:
        """The secret in ``env_name``; prompts for it when allowed; raises SecretMissing otherwise."""
        with self._lock:
            if env_name in self._cache:
                return self._cache[env_name]
            value = self._environ.get(env_name)
            if value is None and self._prompt is not None and env_name not in self._asked:
                self._asked.add(env_name)  # an empty answer is not asked again
                value = self._prompt(f"{purpose} (environment variable {env_name} is not set)")
            if value is None:
                raise SecretMissing(f"environment variable {env_name} ({purpose}) is not set")
            self._cache[env_name] = value
            self.redactor.add(value)
            return value
