"""Secrets come from environment variables named in the site file, or from a prompt.

Every secret resolved in a run is registered with the run's Redactor, which scrubs it from
fact details, recordings and report text: a password never leaves the process.
"""
from __future__ import annotations

import os
import threading
from typing import Any, Callable, Dict, Optional, Set


class Redactor:
    MASK = "********"

    def __init__(self) -> None:
        self._secrets: Set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        if secret:
            with self._lock:
                self._secrets.add(secret)

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, self.MASK)
        return text

    def redact_json(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list):
            return [self.redact_json(item) for item in value]
        if isinstance(value, dict):
            return {self.redact(str(k)): self.redact_json(v) for k, v in value.items()}
        return value


class SecretMissing(LookupError):
    pass


class Secrets:
    """Resolves secrets by environment-variable name, prompting once when allowed."""

    def __init__(self, redactor: Redactor, environ: Optional[Dict[str, str]] = None,
                 prompt: Optional[Callable[[str], str]] = None):
        self.redactor = redactor
        self._environ = os.environ if environ is None else environ
        self._prompt = prompt
        self._cache: Dict[str, str] = {}
        self._lock = threading.Lock()

    def get(self, env_name: str, purpose: str) -> str:
        """The secret in ``env_name``; prompts for it when allowed; raises SecretMissing otherwise."""
        with self._lock:
            if env_name in self._cache:
                return self._cache[env_name]
            value = self._environ.get(env_name)
            if value is None and self._prompt is not None:
                value = self._prompt(f"{purpose} (environment variable {env_name} is not set)")
            if value is None:
                raise SecretMissing(f"environment variable {env_name} ({purpose}) is not set")
            self._cache[env_name] = value
            self.redactor.add(value)
            return value
