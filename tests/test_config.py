"""The site file: clear errors naming file, line and key; init writes a file that loads back unchanged."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from ocscheck.cli import main
from ocscheck.config import ConfigError, Endpoint, load_site
from tests.helpers import site_error, write_site

GOOD = """\
[deployment]
server_fqdn = "ocs.todorovic.adds"
sip_domains = ["todorovic.fr"]
ad_domain = "todorovic.adds"

[dns]
internal = ["127.0.0.53:5353", "[::1]:53", "10.0.0.1"]
"""


def write(tmp_path: Path, text: str) -> Path:
    return write_site(tmp_path, textwrap.dedent(text))


def error_of(tmp_path: Path, text: str) -> ConfigError:
    return site_error(tmp_path, textwrap.dedent(text))


def test_good_file_loads_with_defaults(tmp_path):
    site = load_site(write(tmp_path, GOOD))
    assert site.deployment.forest == "todorovic.adds"
    assert site.deployment.default_sip_domain == "todorovic.fr"
    assert site.dns.internal == (Endpoint("127.0.0.53", 5353), Endpoint("::1", 53), Endpoint("10.0.0.1", 53))
    assert site.run.timeout == 10.0 and site.thresholds.cert_expiry_days == 30
    assert site.winrm_server is None


def test_unknown_key_names_file_line_and_key(tmp_path):
    err = error_of(tmp_path, GOOD + "\n[run]\ntimeout = 5\nworkerz = 3\n")
    assert err.line == 11 and err.key == "run.workerz"
    assert str(err).startswith(f"{tmp_path / 'ocscheck.toml'}:11: run.workerz: unknown key")


def test_wrong_type_names_the_key(tmp_path):
    err = error_of(tmp_path, GOOD.replace('sip_domains = ["todorovic.fr"]', 'sip_domains = "todorovic.fr"'))
    assert (err.key, err.line) == ("deployment.sip_domains", 3)
    assert "must be a list of strings, not a string" in str(err)


def test_bool_is_not_an_integer(tmp_path):
    err = error_of(tmp_path, GOOD + "[tls]\nsip_port = true\n")
    assert err.key == "tls.sip_port" and "must be an integer" in err.message


@pytest.mark.parametrize("name, problem", [("ocs", "single-label"), ("ocs.todorovic.1fr", "starts with a digit"),
                                           ("ocs..fr", "not a valid DNS label")])
def test_bad_fqdn_is_an_error(tmp_path, name, problem):
    err = error_of(tmp_path, GOOD.replace("ocs.todorovic.adds", name))
    assert err.key == "deployment.server_fqdn" and err.line == 2 and problem in err.message


def test_missing_required_key(tmp_path):
    err = error_of(tmp_path, GOOD.replace('ad_domain = "todorovic.adds"\n', ""))
    assert err.key == "deployment.ad_domain" and "required" in err.message


def test_unreadable_or_empty_ca_bundle(tmp_path):
    err = error_of(tmp_path, GOOD + '[tls]\nca_bundle = "missing.pem"\n')
    assert err.key == "tls.ca_bundle" and "cannot read" in err.message and err.line == 9
    (tmp_path / "empty.pem").write_text("not a certificate\n")
    err = error_of(tmp_path, GOOD + '[tls]\nca_bundle = "empty.pem"\n')
    assert "holds no PEM certificate" in err.message


def test_bad_endpoint_and_unknown_section(tmp_path):
    err = error_of(tmp_path, GOOD.replace('"10.0.0.1"', '"10.0.0.1:99999"'))
    assert err.key == "dns.internal" and "out of range" in err.message
    err = error_of(tmp_path, GOOD + "[ldpa]\nurl = 'x'\n")
    assert err.key == "ldpa" and "unknown section" in err.message
    err = error_of(tmp_path, GOOD + "[winrm.exchange]\nhost = 'x'\n")
    assert err.key == "winrm.exchange"


def test_toml_syntax_error_has_line(tmp_path):
    err = error_of(tmp_path, GOOD + "[run\n")
    assert err.line == 8 and "not valid TOML" in err.message


def test_cli_reports_config_error_with_exit_2_and_no_traceback(tmp_path):
    path = write(tmp_path, GOOD + "\n[run]\nworkers = 'many'\n")
    result = CliRunner().invoke(main, ["post", "-c", str(path)])
    assert result.exit_code == 2
    assert f"{path}:10: run.workers: must be an integer, not a string" in result.output
    assert "Traceback" not in result.output


def test_init_writes_a_documented_file_that_loads_back(tmp_path):
    ca = tmp_path / "ca.pem"
    from tests.helpers_pki import self_signed_pem

    ca.write_text(self_signed_pem())
    out = tmp_path / "site" / "ocscheck.toml"
    args = ["init", "-o", str(out), "--server-fqdn", "ocs.todorovic.adds", "--sip-domain", "todorovic.fr",
            "--sip-domain", "todorovic.com", "--ad-domain", "todorovic.adds", "--ldap-url", "ldaps://ocsdc1.todorovic.adds",
            "--ldap-user", "TODOROVIC\\ocscheck", "--ldap-password-env", "LDAP_PW", "--dns-internal", "127.0.0.53:5353",
            "--dns-external", "127.0.0.54", "--ca-bundle", str(ca), "--winrm-server", "ocs.todorovic.adds",
            "--winrm-dc", "ocsdc1.todorovic.adds", "--winrm-user", "TODOROVIC\\admin", "--winrm-password-env", "WINRM_PW"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    text = out.read_text()
    site = load_site(out)
    assert site.deployment.sip_domains == ("todorovic.fr", "todorovic.com")
    assert site.deployment.forest == "todorovic.adds"
    assert site.ldap.user == "TODOROVIC\\ocscheck" and site.ldap.password_env == "LDAP_PW"
    assert site.dns.internal == (Endpoint("127.0.0.53", 5353),) and site.dns.external == (Endpoint("127.0.0.54", 53),)
    assert site.tls.ca_bundle == ca.resolve()
    assert site.winrm_server.host == "ocs.todorovic.adds" and site.winrm_dc.user == "TODOROVIC\\admin"
    assert site.winrm_dc.password_env == "WINRM_PW"
    # Every key of the schema is documented in the file.
    import dataclasses

    from ocscheck.config import SECTIONS
    for table, _attr, cls, _optional in SECTIONS:
        for spec in dataclasses.fields(cls):
            assert spec.metadata["doc"] in text, (table, spec.name)
    # A second init refuses to overwrite.
    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2 and "exists" in again.output


def test_init_rejects_bad_values_without_writing(tmp_path):
    out = tmp_path / "ocscheck.toml"
    result = CliRunner().invoke(main, ["init", "-o", str(out), "--server-fqdn", "ocs", "--sip-domain", "todorovic.fr",
                                       "--ad-domain", "todorovic.adds"])
    assert result.exit_code == 2 and "single-label" in result.output
    assert not out.exists()


def test_readme_documents_every_site_key():
    import dataclasses

    from ocscheck.config import SECTIONS
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for table, _attr, cls, _optional in SECTIONS:
        for spec in dataclasses.fields(cls):
            assert f"| `{table}.{spec.name}` |" in readme, f"README's site-file table lacks {table}.{spec.name}"


# ------------------------------------------------------------------ what a demanding user expects

def test_every_problem_is_reported_at_once_each_with_its_line(tmp_path):
    err = error_of(tmp_path, '[deployment]\nserver_fqdn = "ocs.todorovic.adds"\nsip_domains = ["todorovic.fr"]\n'
                             'ad_domain = "todorovic.adds"\nserver_ip = "banana"\ndns.internal = ["x"]\n'
                             '[run]\ntimeout = 0\ntmeout = 3\n[dns]\ninternal = ["10.0.0.300"]\n'
                             '[ldap]\nreplication_dcs = ["http://dc2"]\n')
    lines = str(err).splitlines()
    assert [(e.key, e.line) for e in err.problems] == [
        ("deployment.server_ip", 5), ("deployment.dns", 6), ("run.timeout", 8), ("run.tmeout", 9),
        ("dns.internal", 11), ("ldap.replication_dcs", 13)]
    assert len(lines) == 6
    assert "'banana' is not an IPv4 address" in lines[0]
    assert "must be between 0.1 and 600 seconds" in lines[2]
    assert "unknown key (did you mean timeout?)" in lines[3]
    assert "'10.0.0.300' is not an IPv4 or IPv6 address" in lines[4]
    assert "'http://dc2' must look like ldaps://host[:port]" in lines[5]


def test_a_utf8_bom_is_accepted(tmp_path):
    path = tmp_path / "site.toml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert load_site(path).deployment.server_fqdn == "ocs.todorovic.adds"


def test_init_as_in_the_readme_writes_the_ca_key_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, [
        "init", "-o", "ocscheck.toml", "--server-fqdn", "ocs.todorovic.adds", "--sip-domain", "todorovic.fr",
        "--ad-domain", "todorovic.adds", "--dns-internal", "10.0.0.10", "--dns-external", "9.9.9.9",
        "--ldap-url", "ldaps://dc1.todorovic.adds", "--ldap-user", "TODOROVIC\\ocscheck",
        "--ldap-password-env", "OCS_LDAP_PW", "--ca-bundle", "internal-ca.pem"])
    assert result.exit_code == 0, result.output
    assert "internal-ca.pem, which does not exist yet" in result.output
    assert f'ca_bundle = "{tmp_path / "internal-ca.pem"}"' in (tmp_path / "ocscheck.toml").read_text()


def test_external_access_defaults_to_none():
    from tests.helpers import make_site

    deployment = make_site().deployment
    assert (deployment.external_access, deployment.access_edge_fqdn, deployment.federation) == ("none", "", False)


@pytest.mark.parametrize("extra, key, line, words", [
    ('external_access = "dmz"\n', "deployment.external_access", 5, 'must be "none" or "edge"'),
    ('external_access = "edge"\n', "deployment.access_edge_fqdn", 1, 'required when external_access = "edge"'),
    ('external_access = "edge"\naccess_edge_fqdn = "edge"\n', "deployment.access_edge_fqdn", 6, "single-label"),
    ("federation = true\n", "deployment.federation", 5, 'needs an Access Edge: set external_access = "edge"'),
    ("federation = 1\n", "deployment.federation", 5, "must be true or false"),
])
def test_external_access_settings_are_validated_with_file_line_and_key(tmp_path, extra, key, line, words):
    text = GOOD.replace('ad_domain = "todorovic.adds"\n', 'ad_domain = "todorovic.adds"\n' + extra)
    err = error_of(tmp_path, text)
    assert (err.key, err.line) == (key, line) and words in err.message, str(err)
    assert str(err).startswith(f"{tmp_path / 'ocscheck.toml'}:{line}: {key}: ")


def test_edge_with_federation_loads():
    from tests.helpers import make_site

    site = make_site({"deployment": {"external_access": "edge", "access_edge_fqdn": "sip.todorovic.fr",
                                     "federation": True}})
    assert site.deployment.access_edge_fqdn == "sip.todorovic.fr" and site.deployment.federation is True
