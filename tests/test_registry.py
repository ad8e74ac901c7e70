"""The registry: id contract, duplicates refused, selection by phase and globs."""
from __future__ import annotations

import pytest

from ocscheck.model import Phase, Result
from ocscheck.registry import Registry, RegistryError, _spec, load_all, select, unknown_patterns


def spec(check_id, phases=("post",)):
    return _spec(check_id, "t", phases, "high", (), (), "doc", lambda ctx: Result.ok("x"))


def test_duplicate_and_malformed_ids_are_refused():
    registry = Registry()
    registry.add(spec("dns.demo"))
    with pytest.raises(RegistryError, match="already registered by builtin"):
        registry.add(spec("dns.demo"))
    for bad in ("nodot", "DNS.upper", ".x", "dns."):
        with pytest.raises(RegistryError, match="not of the form area.name"):
            registry.add(spec(bad))
    with pytest.raises(RegistryError, match="'nightly' is not a valid Phase"):
        spec("dns.x", phases=("nightly",))


def test_select_by_phase_only_and_skip():
    specs = [spec("dns.a"), spec("dns.b", ("preflight", "post")), spec("cert.c", ("preflight",))]
    assert [s.id for s in select(specs, Phase.PREFLIGHT)] == ["dns.b", "cert.c"]
    assert [s.id for s in select(specs, Phase.POST, only=["dns.*"], skip=["dns.b"])] == ["dns.a"]
    assert [s.id for s in select(specs, None, only=["cert.c", "dns.a"])] == ["dns.a", "cert.c"]
    assert unknown_patterns(specs, ["dns.*", "ad.*", "cert.c"]) == ["ad.*"]


def test_every_builtin_check_explains_what_why_fix_and_source():
    for check in load_all().specs():
        if check.origin != "builtin":
            continue
        assert check.title and len(check.doc) > 80, check.id
        assert "Fix" in check.doc or "fix" in check.doc, check.id
        assert "Source" in check.doc, check.id
