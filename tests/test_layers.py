"""The package's layering, read from the source (every import, at any depth, TYPE_CHECKING included):

- values import nothing of ocscheck but other values;
- parsers import only parsers and values;
- checks import values and the facts' interface (``ocscheck.facts``, ``ocscheck.facts.store``), never a
  fetcher module, the runner, the run API, the CLI or a report, and nothing under TYPE_CHECKING;
- reports import only the model, the atomic writer and other reports;
- no module is over 400 lines.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

import pytest

import ocscheck

PACKAGE = Path(ocscheck.__file__).parent
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, name: str = "") -> Set[str]:
    """Every ocscheck module ``path`` (the module ``name``) imports; ``from ocscheck.x import y`` counts
    as x and x.y."""
    found: Set[str] = set()
    name = name or module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "ocscheck" or name.startswith("ocscheck.")}


MODULES: Dict[str, Path] = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
KNOWN = set(MODULES)


def real_modules(names: Set[str]) -> Set[str]:
    """The names that are modules (``from ocscheck.facts import Facts`` names the module ocscheck.facts)."""
    return {n for n in names if n in KNOWN}


def under(name: str, *prefixes: str) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


FETCHERS = [m for m in KNOWN if under(m, "ocscheck.facts") and m not in ("ocscheck.facts", "ocscheck.facts.store")]


def violations(layer: str, allowed) -> List[str]:
    bad = []
    for name, path in MODULES.items():
        if under(name, layer):
            bad += [f"{name} imports {imported}" for imported in sorted(real_modules(imports_of(path)))
                    if not allowed(imported)]
    return bad


def test_the_import_reader_sees_fetchers_and_relative_imports(tmp_path):
    """The rule can fail: a check that imports a fetcher, directly or relatively, is seen."""
    sample = PACKAGE / "checks" / "__init__.py"
    assert module_name(sample) == "ocscheck.checks"
    assert "ocscheck.facts.ldap" in FETCHERS and "ocscheck.facts.winrm.transport" in FETCHERS
    fake = tmp_path / "probe.py"
    fake.write_text("def f():\n    from ocscheck.facts.ldap import LdapFacts\n")
    assert "ocscheck.facts.ldap" in imports_of(fake, "ocscheck.checks.probe")
    fake.write_text("from ..facts import winrm\n")
    assert "ocscheck.facts.winrm" in imports_of(fake, "ocscheck.checks.probe")


def test_values_import_only_values():
    assert violations("ocscheck.values", lambda m: under(m, "ocscheck.values")) == []


def test_parsers_import_only_parsers_and_values():
    assert violations("ocscheck.parsers", lambda m: under(m, "ocscheck.parsers", "ocscheck.values")) == []


def test_checks_never_import_a_fetcher_the_runner_the_cli_or_a_report():
    forbidden = (*FETCHERS, "ocscheck.runner", "ocscheck.api", "ocscheck.cli", "ocscheck.reports")
    assert violations("ocscheck.checks", lambda m: not under(m, *forbidden)) == []


def test_no_type_checking_imports_in_checks():
    offenders = [name for name, path in MODULES.items()
                 if under(name, "ocscheck.checks") and "TYPE_CHECKING" in path.read_text(encoding="utf-8")]
    assert offenders == []


def test_reports_import_only_the_model():
    assert violations("ocscheck.reports",
                      lambda m: under(m, "ocscheck.reports", "ocscheck.model", "ocscheck.atomic")) == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_over_400_lines(name):
    lines = MODULES[name].read_text(encoding="utf-8").count("\n")
    assert lines <= MAX_LINES, f"{name} has {lines} lines: split it along its sections"
