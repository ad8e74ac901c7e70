"""The check registry: built-in checks and plugins registered through entry points.

A check is a function of a CheckContext returning a Result, declared with ``@check``::

    @check("dns.sip-cname", title="sip.<domain> resolves to the server", phases=("post",),
           severity="high", needs=("dns.internal",))
    def sip_cname(ctx: CheckContext) -> Result:
        \"\"\"What it checks, why, how to fix it, and the source (printed by `ocscheck explain`).\"\"\"

Built-in checks are every module under ``ocscheck.checks``, found by walking the package: a new
``checks/foo.py`` (or ``checks/foo/bar.py``) is loaded without being listed anywhere. Modules are
imported in name order, a package before its modules (a package's ``__init__`` may import its modules
first to set their order, as ``checks.ad`` does). Third-party distributions register modules under the
entry-point group ``ocscheck.checks``; loading a module runs its ``@check`` decorators, so plugins are
indistinguishable from built-ins.

Order of the checks (reports, ``list``): areas in the deployment's order (AREA_ORDER; an area not
listed there comes after, by name), and within an area the order in which the checks registered.
"""
from __future__ import annotations

import fnmatch
import importlib
import inspect
import os
import pkgutil
import re
import threading
from dataclasses import replace
import sys
from typing import TYPE_CHECKING, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from ocscheck.model import CheckSpec, Phase, Severity

if TYPE_CHECKING:
    from importlib import metadata

ENTRY_POINT_GROUP = "ocscheck.checks"
BUILTIN_PACKAGE = "ocscheck.checks"
AREA_ORDER = ("ad", "host", "cert", "iis", "dns", "sip", "users")  # the order of the tutorial's steps
_ID_PATTERN = re.compile(r"^[a-z][a-z0-9]*\.[a-z0-9][a-z0-9.-]*$")


class RegistryError(ValueError):
    pass


class Registry:
    def __init__(self) -> None:
        self._specs: Dict[str, CheckSpec] = {}
        self._origin = "builtin"
        self._lock = threading.Lock()
        self.load_warnings: List[str] = []

    def add(self, spec: CheckSpec) -> None:
        if not _ID_PATTERN.match(spec.id):
            raise RegistryError(f"check id {spec.id!r} is not of the form area.name")
        spec = replace(spec, origin=self._origin)
        with self._lock:
            existing = self._specs.get(spec.id)
            if existing is not None:
                raise RegistryError(f"check id {spec.id!r} is already registered by {existing.origin}")
            self._specs[spec.id] = spec

    def specs(self) -> List[CheckSpec]:
        """Every check: areas in AREA_ORDER (others after, by name), registration order within an area."""
        def area_rank(spec: CheckSpec) -> Tuple[int, str]:
            return (AREA_ORDER.index(spec.area), "") if spec.area in AREA_ORDER else (len(AREA_ORDER), spec.area)

        return sorted(self._specs.values(), key=area_rank)  # sorted() is stable: registration order within an area

    def get(self, check_id: str) -> Optional[CheckSpec]:
        return self._specs.get(check_id)

    def load_plugins(self) -> None:
        for dist, entry_point in _entry_points(ENTRY_POINT_GROUP):
            self._origin = f"plugin {dist}"
            try:
                entry_point.load()
            except Exception as exc:  # a broken plugin must not take the built-in checks down
                self.load_warnings.append(f"plugin {entry_point.name!r} ({entry_point.value}) failed to load: "
                                          f"{type(exc).__name__}: {exc}")
            finally:
                self._origin = "builtin"


def _entry_points(group: str) -> List[Tuple[str, "metadata.EntryPoint"]]:
    """(distribution name, entry point) of ``group``; per distribution because 3.9's entry points lack .dist."""
    if not _may_declare(group):
        return []
    from importlib import metadata

    found: Dict[Tuple[str, str], Tuple[str, metadata.EntryPoint]] = {}
    for dist in metadata.distributions():
        matching = [entry_point for entry_point in dist.entry_points if entry_point.group == group]
        if not matching:
            continue  # reading a distribution's METADATA is the slow part: only for those with a plugin
        name = dist.metadata["Name"] or "unknown"
        for entry_point in matching:
            found.setdefault((name, entry_point.name), (name, entry_point))  # first on sys.path wins
    return list(found.values())


def _may_declare(group: str) -> bool:
    """Whether a distribution on sys.path may declare entry points of ``group``: a look at the
    entry_points.txt files before importing importlib.metadata, which costs 15-20 ms of every start
    (a tenth of a replay) when, as usual, no plugin is installed. Anything it cannot see through —
    a zip or an egg on sys.path, a finder of distributions other than the standard one — says yes."""
    from importlib.machinery import PathFinder

    if any(hasattr(finder, "find_distributions") and finder is not PathFinder for finder in sys.meta_path):
        return True
    header = f"[{group}]"
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except NotADirectoryError:
            return True
        except OSError:
            continue
        for name in names:
            if name.endswith(".egg"):
                return True
            if name.endswith((".dist-info", ".egg-info")):
                try:
                    with open(os.path.join(entry or ".", name, "entry_points.txt"), encoding="utf-8",
                              errors="replace") as text:
                        if header in text.read():
                            return True
                except OSError:
                    continue
    return False


REGISTRY = Registry()
_loaded = False
_load_lock = threading.Lock()


def _spec(check_id: str, title: str, phases: Sequence[str], severity: str, needs: Iterable[str],
          depends: Iterable[str], doc: str, func: Callable) -> CheckSpec:
    try:
        return CheckSpec(id=check_id, title=title, phases=tuple(Phase(p) for p in phases),
                         severity=Severity(severity), needs=tuple(needs), depends=tuple(depends),
                         doc=inspect.cleandoc(doc or ""), func=func)
    except ValueError as exc:
        raise RegistryError(f"check {check_id!r}: {exc}") from None


def check(check_id: str, *, title: str, phases: Sequence[str], severity: str = "high",
          needs: Iterable[str] = (), depends: Iterable[str] = ()):
    """Register the decorated function as the check ``check_id``; its docstring is its explanation."""

    def register(func: Callable) -> Callable:
        REGISTRY.add(_spec(check_id, title, phases, severity, needs, depends, func.__doc__ or "", func))
        return func

    return register


def import_package(name: str) -> List[str]:
    """Import package ``name`` and every module beneath it, in name order, a package before its
    modules; returns the names of the modules imported."""
    package = importlib.import_module(name)
    imported = [name]
    for info in sorted(pkgutil.iter_modules(package.__path__, f"{name}."), key=lambda i: i.name):
        if info.ispkg:
            imported += import_package(info.name)
        else:
            importlib.import_module(info.name)
            imported.append(info.name)
    return imported


def load_all() -> Registry:
    """Import the built-in check modules, then the plugins (once per process).

    A plugin that fails to load does not stop the others: its reason is in ``load_warnings`` for
    the caller to show (the library prints nothing).
    """
    global _loaded
    with _load_lock:
        if not _loaded:
            import_package(BUILTIN_PACKAGE)
            REGISTRY.load_plugins()
            _loaded = True
    return REGISTRY


def select(specs: Sequence[CheckSpec], phase: Optional[Phase], only: Sequence[str] = (),
           skip: Sequence[str] = ()) -> List[CheckSpec]:
    """The checks of ``phase`` whose id matches an ``only`` pattern (all if none) and no ``skip`` pattern."""

    def matches(check_id: str, patterns: Sequence[str]) -> bool:
        return any(fnmatch.fnmatchcase(check_id, pattern) for pattern in patterns)

    return [spec for spec in specs
            if (phase is None or phase in spec.phases)
            and (not only or matches(spec.id, only))
            and not matches(spec.id, skip)]


def unknown_patterns(specs: Sequence[CheckSpec], patterns: Sequence[str]) -> List[str]:
    """Patterns that match no registered id (a typo in --only/--skip should not pass silently)."""
    return [p for p in patterns if not any(fnmatch.fnmatchcase(s.id, p) for s in specs)]
