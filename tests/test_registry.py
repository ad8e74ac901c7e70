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


def test_builtin_needs_use_the_vocabulary():
    from ocscheck.needs import unknown

    assert {c.id: unknown(c) for c in load_all().specs() if c.origin == "builtin" and unknown(c)} == {}


def test_list_with_a_site_says_what_would_skip(tmp_path):
    from click.testing import CliRunner

    from ocscheck.cli import main

    site = tmp_path / "ocscheck.toml"
    site.write_text('[deployment]\nserver_fqdn = "ocs.todorovic.adds"\nsip_domains = ["todorovic.fr"]\n'
                    'ad_domain = "todorovic.adds"\n[dns]\ninternal = ["127.0.0.53"]\n')
    listing = CliRunner().invoke(main, ["list", "-c", str(site)]).output
    lines = {line.split()[0]: line for line in listing.splitlines()[2:]}
    assert "post skips: needs [ldap] url or [winrm.dc]" in lines["ad.replication"]
    assert "preflight skips: needs --certificate FILE or [tls] certificate (preflight)" in lines["cert.key"]
    assert "post skips" not in lines["cert.key"]
    assert "post skips: needs [dns] external" in lines["dns.split"]
    assert "skips" not in lines["dns.sip-tls-srv"] and "skips" not in lines["sip.tls"]
    assert "needs [winrm.server] or --host-snapshot server=FILE" in lines["host.os"]
