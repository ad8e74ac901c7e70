"""Network clients imported when a fetcher first uses them, not when its module is imported.

A replay (``--replay``, ``--example``) goes through the fetchers — they own the recording keys and turn
recorded JSON into values — but never dials anything: importing ldap3, requests, dnspython and
pyOpenSSL for it cost a third of a second. ``ldap3 = lazy("ldap3")`` gives a stand-in that imports
the real module on its first attribute access (``ldap3.BASE``, ``lx.LDAPStartTLSError``).

Thread-safe: ``importlib.import_module`` holds the import machinery's per-module lock, so two checks
touching the stand-in at once get the same, fully initialised module.
"""
from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any, Tuple


class LazyModule:
    """Stands for module ``name`` (and imports ``submodules`` of it with it, for ``dns.resolver``-style use)."""

    def __init__(self, name: str, submodules: Tuple[str, ...] = ()) -> None:
        self.__dict__["_lazy_name"] = name
        self.__dict__["_lazy_submodules"] = submodules

    def _load(self) -> ModuleType:
        module = importlib.import_module(self._lazy_name)
        for sub in self._lazy_submodules:
            importlib.import_module(f"{self._lazy_name}.{sub}")
        return module

    def __getattr__(self, attr: str) -> Any:
        # Only called for names not in __dict__: the first access of each attribute, which is then cached.
        value = getattr(self._load(), attr)
        self.__dict__[attr] = value
        return value

    def __repr__(self) -> str:
        return f"<lazy module {self._lazy_name}>"


def lazy(name: str, *submodules: str) -> Any:
    """A stand-in for ``import name`` (plus ``import name.sub`` for each of ``submodules``)."""
    return LazyModule(name, tuple(submodules))
