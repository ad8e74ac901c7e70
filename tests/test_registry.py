"""The registry: id contract, duplicates refused, selection by phase and globs."""
from __future__ import annotations

from pathlib import Path

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


def test_a_module_dropped_into_checks_is_discovered_in_a_documented_order(tmp_path):
    """A copy of the package with two new files: checks/zz.py (a new area) and checks/ad/zz_step.py.
    Both load without being listed anywhere; areas keep the deployment's order, a new area comes last,
    and a package's own import order comes before the modules it did not import."""
    import shutil
    import subprocess
    import sys

    import ocscheck

    copy = tmp_path / "ocscheck"
    shutil.copytree(Path(ocscheck.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    body = ('from ocscheck.model import Result\nfrom ocscheck.registry import check\n\n\n'
            '@check("{id}", title="dropped in", phases=("post",), needs=())\n'
            'def dropped(ctx):\n    """Fix: none. Source: a test."""\n    return Result.ok("x")\n')
    (copy / "checks" / "zz.py").write_text(body.format(id="zz.dropped"))
    (copy / "checks" / "ad" / "zz_step.py").write_text(body.format(id="ad.dropped"))
    listing = subprocess.run([sys.executable, "-c", "from ocscheck.registry import load_all\n"
                              "print('\\n'.join(s.id for s in load_all().specs()))"],
                             env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}, capture_output=True,
                             text=True, check=True, cwd=tmp_path).stdout.split()
    assert listing[-1] == "zz.dropped"
    assert listing.index("ad.dropped") == listing.index("ad.dc-health") + 1
    areas = list(dict.fromkeys(i.split(".")[0] for i in listing))
    assert areas == ["ad", "host", "cert", "iis", "dns", "sip", "users", "zz"]
    builtin = [s.id for s in load_all().specs() if s.origin == "builtin"]
    assert [i for i in listing if i not in ("zz.dropped", "ad.dropped")] == builtin


def test_a_broken_plugin_is_reported_to_the_caller_not_printed(monkeypatch, capsys):
    from ocscheck import registry

    class Broken:
        name, value = "broken", "nowhere.module:checks"

        def load(self):
            raise ImportError("No module named 'nowhere'")

    monkeypatch.setattr(registry, "_entry_points", lambda group: [("broken-dist", Broken())])
    fresh = Registry()
    fresh.load_plugins()
    assert fresh.load_warnings == ["plugin 'broken' (nowhere.module:checks) failed to load: ImportError: "
                                   "No module named 'nowhere'"]
    assert capsys.readouterr().err == ""


def test_an_installed_plugin_distribution_is_loaded_through_its_entry_point(tmp_path):
    """A real distribution on sys.path (dist-info + entry_points.txt), not a monkeypatched list: the look
    before importlib.metadata must find it."""
    import subprocess
    import sys

    (tmp_path / "zzplugin").mkdir()
    (tmp_path / "zzplugin" / "__init__.py").write_text(
        "from ocscheck.registry import check\nfrom ocscheck.model import Result\n\n"
        "@check('zz.plugin-check', title='A plugin check', phases=('post',), severity='low')\n"
        "def plugin_check(ctx):\n    '''Plugin. Fix: none. Source: test.'''\n    return Result.ok('fine')\n")
    info = tmp_path / "zzplugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zzplugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[ocscheck.checks]\nzz = zzplugin\n")
    code = ("from ocscheck.registry import load_all\n"
            "print([(s.id, s.origin) for s in load_all().specs() if s.id.startswith('zz.')])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**__import__("os").environ, "PYTHONPATH": str(tmp_path)})
    assert done.stdout.strip() == "[('zz.plugin-check', 'plugin zzplugin')]", done.stderr
