"""The lab's fixtures, registered once for the whole suite.

Registering (rather than importing fixtures into test modules) matters for the session-scoped
Samba DC: an imported session fixture is instantiated once per importing module, which would start
a second DC on the same address.
"""
from typing import Callable, List

import pytest

pytest_plugins = ["tests.lab.dnsmasq", "tests.lab.samba", "tests.lab.tls_lab", "tests.winrm_endpoint"]


@pytest.fixture
def undo():
    """Register (as a decorator) what puts a shared lab server back as it was; run after the test, last first,
    whether the test passed or not."""
    restores: List[Callable[[], object]] = []
    yield restores.append
    for restore in reversed(restores):
        restore()


LAB_MODULES = ("tests.lab", "tests.winrm_endpoint")


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    """Mark `lab` every test that uses a fixture of the lab (a real server), so that
    `pytest -m "not lab"` is the fast loop: pure, parser and replay tests, no root, no server."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        for name in info.names_closure:
            definitions = info.name2fixturedefs.get(name, ())
            if any(getattr(d.func, "__module__", "").startswith(LAB_MODULES) for d in definitions):
                item.add_marker(pytest.mark.lab)
                break


@pytest.fixture(autouse=True)
def no_bug_in_the_background():
    """A warm-up or a fact started ahead (ocscheck.facts.background) that raised something other than a
    fact's failure is a bug nobody would see — the checks still read their facts, only later: fail on it."""
    from ocscheck.facts import background

    background.unexpected.clear()
    yield
    found, background.unexpected[:] = list(background.unexpected), []
    assert not found, f"raised in the background: {found!r}"
