"""Issue 12: hostile server output and odd inputs never hang, crash or leak (one test per defect).

Each test here failed on the code before the fix it names.
"""
from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from ocscheck.cli import main
from ocscheck.collector import SnapshotError, read_snapshot
from ocscheck.config import ConfigError, load_site
from ocscheck.facts.store import FactStore, RecordingError, load_recording, save_recording
from ocscheck.values.names import fqdn_problems
from ocscheck.parsers.appcmd import parse_site_list
from ocscheck.parsers.hostinfo import parse_system
from ocscheck.parsers.netsh import parse_sslcert
from ocscheck.parsers.repadmin import parse_showrepl_csv
from ocscheck.secrets import Redactor
from tests.helpers_pki import self_signed_pem
from tests.winrm_endpoint import scenarios
from tests.helpers import site_error, write_site

GOOD = """\
[deployment]
server_fqdn = "ocs.todorovic.adds"
sip_domains = ["todorovic.fr"]
ad_domain = "todorovic.adds"
"""
EXAMPLE_RECORDING = Path(__file__).resolve().parents[1] / "ocscheck" / "example" / "post.facts.json"


def cpu_seconds(function, *args) -> float:
    started = time.thread_time()
    function(*args)
    return time.thread_time() - started


# ---- 1. parsers linear, reads bounded ----

def test_netsh_line_of_blanks_is_fast():
    # 2,000 blanks took 8.6 s, 5,000 took 40 s (cubic backtracking).
    assert cpu_seconds(parse_sslcert, " " * 5000) < 0.5
    assert cpu_seconds(parse_sslcert, "IP:port : 0.0.0.0:443" + " " * 5000 + "x\n" + " " * 5000 + ":") < 0.5


def test_netsh_values_still_read_by_shape():
    text = ("\r\n    IP:port                 : 0.0.0.0:443 \r\n    Certificate Hash        : "
            "0123456789abcdef0123456789ABCDEF01234567\r\n  Hachage du certificat :  x\r\n")
    assert parse_sslcert(text).hashes == {"0.0.0.0:443": "0123456789ABCDEF0123456789ABCDEF01234567"}


def test_appcmd_repeated_state_is_fast():
    line = 'SITE "x" (id:1,bindings:' + ",state:" * 20000
    assert cpu_seconds(parse_site_list, line) < 0.5  # 9.5 s before (29 s in the run)
    assert cpu_seconds(parse_site_list, line + ")x") < 0.5


def test_appcmd_bindings_run_to_the_last_state():
    sites = parse_site_list('SITE "Default Web Site" (id:1,bindings:http/*:80:,https/*:443:,net.tcp/808:*,'
                            'state:x,state:Started)\r\nSITE "b" (id:2,bindings:http/*:81:,state:a)b)\n').sites
    assert [(s.name, s.bindings, s.state) for s in sites] == [
        ("Default Web Site", ("http/*:80:", "https/*:443:", "net.tcp/808:*,state:x"), "Started")]


def test_appcmd_huge_site_id_is_not_a_site():
    result = parse_site_list('SITE "x" (id:' + "9" * 5000 + ",bindings:http/*:80:,state:Started)")
    assert result.sites == () and result.error  # int() of 5,000 digits raised ValueError


def test_repadmin_win32_code_after_blanks_and_huge_code():
    row = "showrepl_ERROR,x,DC2,Win32 Err" + " " * 20000 + "x"
    assert cpu_seconds(parse_showrepl_csv, row) < 0.5
    report = parse_showrepl_csv("showrepl_ERROR,x,DC2,Win32 Error " + "9" * 5000)
    assert report.links[0].last_result == 1  # not a 32-bit code: the generic failure


def test_repadmin_date_at_the_edge_with_an_offset_is_a_note():
    row = "showrepl_INFO,S,DC1,DC=x,S,DC2,RPC,0,0,0001-01-01 00:00:00,0"
    report = parse_showrepl_csv(row, utc_offset_minutes=60)  # OverflowError before
    assert report.links[0].last_success is None and any("out of range" in n for n in report.notes)
    report = parse_showrepl_csv(row.replace("0001-01-01", "2026-11-27"), utc_offset_minutes=10 ** 12)
    assert report.links[0].last_success == "2026-11-27T00:00:00Z"
    assert any("not a time zone" in n for n in report.notes)


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e308", "9" * 5000, "100000"])
def test_system_probe_absurd_utc_offset_is_a_note(value):
    info = parse_system(f"caption=Windows\nversion=6.1.7601\nutc_offset_minutes={value}\n")
    assert info.error is None and info.utc_offset_minutes is None and info.notes


@pytest.mark.parametrize("value, minutes", [("60", 60), ("-210", -210), ("345.0", 345), ("", None)])
def test_system_probe_real_utc_offsets(value, minutes):
    info = parse_system(f"caption=Windows\nversion=6.1.7601\nutc_offset_minutes={value}\n")
    assert info.utc_offset_minutes == minutes and info.notes == ()


def snapshot(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "host.snapshot"
    path.write_text(text)
    return path


def test_snapshot_exit_code_with_5000_digits_is_a_snapshot_error(tmp_path):
    text = scenarios.snapshot_text(scenarios.variant("ready")).replace("exit=0]", "exit=" + "9" * 5000 + "]", 1)
    with pytest.raises(SnapshotError, match="damaged probe header"):
        read_snapshot(snapshot(tmp_path, text))


def test_snapshot_size_cap_is_named(tmp_path, monkeypatch):
    import ocscheck.collector as collector

    path = snapshot(tmp_path, scenarios.snapshot_text(scenarios.variant("ready")))
    monkeypatch.setattr(collector, "MAX_SNAPSHOT_BYTES", 1000)
    with pytest.raises(SnapshotError, match="larger than the 1000 bytes limit"):
        read_snapshot(path)
    with pytest.raises(SnapshotError, match="not a regular file"):
        read_snapshot(Path("/dev/zero"))


def test_snapshot_fifo_does_not_hang(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    failure = run_bounded(lambda: read_snapshot(fifo))
    assert isinstance(failure, SnapshotError) and "a FIFO" in str(failure)


def run_bounded(function, seconds: float = 5.0):
    """What ``function`` raised (None if it returned); fails the test if it does not finish in time."""
    outcome = {}

    def target() -> None:
        try:
            function()
            outcome["error"] = None
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert "error" in outcome, f"still running after {seconds} s"
    if thread.is_alive():  # pragma: no cover
        pytest.fail("hung")
    return outcome["error"]


# ---- 4. odd site files and recordings ----

write = write_site
error_of = site_error


def test_deeply_nested_skip_is_a_config_error(tmp_path):
    err = error_of(tmp_path, GOOD + "[run]\nskip = " + "[" * 2000 + "]" * 2000 + "\n")
    assert err.key == "run.skip" and err.line == 6 and "nested too deeply" in err.message


def test_integer_of_5000_digits_is_a_config_error(tmp_path):
    err = error_of(tmp_path, GOOD + "[run]\nworkers = " + "9" * 5000 + "\n")
    assert "not valid TOML" in err.message  # tomllib's int() raised a bare ValueError


def test_nul_in_a_path_is_a_config_error(tmp_path):
    err = error_of(tmp_path, GOOD + '[tls]\nca_bundle = "x\\u0000y"\n')
    assert err.key == "tls.ca_bundle" and err.line == 6 and "control characters" in err.message


@pytest.mark.parametrize("special", ["/dev/zero", "fifo", "."])
def test_only_regular_files_are_read_for_site_paths(tmp_path, special):
    if special == "fifo":
        os.mkfifo(tmp_path / "fifo")
    failure = run_bounded(lambda: load_site(write(tmp_path, GOOD + f'[tls]\nca_bundle = "{special}"\n')))
    assert isinstance(failure, ConfigError) and failure.key == "tls.ca_bundle"
    assert "not a regular file" in failure.message


def test_named_file_size_cap(tmp_path, monkeypatch):
    import ocscheck.config.loader as config

    (tmp_path / "ca.pem").write_text(self_signed_pem())
    monkeypatch.setattr(config, "MAX_NAMED_FILE_BYTES", 100)
    err = error_of(tmp_path, GOOD + '[tls]\nca_bundle = "ca.pem"\n')
    assert err.key == "tls.ca_bundle" and "larger than the 100 bytes limit" in err.message


def test_site_file_itself_is_capped(tmp_path):
    err = run_bounded(lambda: load_site(Path("/dev/zero")))
    assert isinstance(err, ConfigError) and "limit" in str(err)


@pytest.mark.parametrize("name", ["ocs\n.todorovic.adds", "ocs.todorovic.adds\n", "ocs\x1b.todorovic.adds"])
def test_fqdn_with_control_characters_is_refused(tmp_path, name):
    assert fqdn_problems(name)
    err = error_of(tmp_path, GOOD.replace('"ocs.todorovic.adds"', json.dumps(name)))
    assert err.key == "deployment.server_fqdn"


def test_config_errors_never_echo_terminal_controls(tmp_path):
    path = write(tmp_path, GOOD + '[run]\n"\\u001b]0;pwned\\u0007" = 1\n')
    with pytest.raises(ConfigError) as info:
        load_site(path)
    assert "\x1b" not in str(info.value) and "\x07" not in str(info.value)
    assert "\\x1b]0;pwned\\x07" in str(info.value)
    result = CliRunner().invoke(main, ["post", "-c", str(path)])
    assert result.exit_code == 2 and "\x1b" not in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("line, key", [
    ("[thresholds]\nreplication_max_age_hours = nan", "thresholds.replication_max_age_hours"),
    ("[thresholds]\ncert_expiry_days = 99999999999", "thresholds.cert_expiry_days"),
    ("[tls]\nsip_port = 70000", "tls.sip_port"),
    ('[ldap]\nurl = "ldaps://dc.todorovic.adds\\n"', "ldap.url"),
])
def test_absurd_values_are_config_errors(tmp_path, line, key):
    assert error_of(tmp_path, GOOD + line + "\n").key == key


def test_long_blank_header_line_is_located_fast(tmp_path):
    started = time.thread_time()
    # A line of a multi-line string that looks like the start of a table header: 3,000 blanks took 7.9 s.
    err = error_of(tmp_path, GOOD + '[run]\nskip = """\n[' + " " * 5000 + '\n"""\n')
    assert time.thread_time() - started < 1.0 and (err.key, err.line) == ("run.skip", 6)


# ---- 5. Basic credentials only to a verified server ----

WINRM = GOOD + '[winrm.server]\nhost = "ocs.todorovic.adds"\nscheme = "https"\ntransport = "basic"\n'


def test_basic_without_tls_verification_is_refused(tmp_path):
    err = error_of(tmp_path, WINRM + "verify_tls = false\n")
    assert (err.key, err.line) == ("winrm.server.verify_tls", 9) and "allow_insecure_basic" in err.message
    site = load_site(write(tmp_path, WINRM + "verify_tls = false\nallow_insecure_basic = true\n"))
    assert site.winrm_server.allow_insecure_basic and not site.winrm_server.verify_tls
    assert load_site(write(tmp_path, WINRM)).winrm_server.verify_tls


def test_basic_over_http_is_refused(tmp_path):
    err = error_of(tmp_path, WINRM.replace('"https"', '"http"'))
    assert (err.key, err.line) == ("winrm.server.scheme", 7)
    result = CliRunner().invoke(main, ["post", "-c", str(write(tmp_path, WINRM.replace('"https"', '"http"')))])
    assert result.exit_code == 2 and "winrm.server.scheme" in result.output


# ---- recordings ----

def test_recording_is_written_0600(tmp_path):
    store = FactStore(Redactor())
    store.get("clock:now", lambda: "2026-01-01T00:00:00+00:00")
    old = os.umask(0o022)
    try:
        save_recording(store.recording(), tmp_path / "facts.json", "post")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "facts.json").stat().st_mode) == 0o600


@pytest.mark.parametrize("depth", [100_000, 70])
def test_deeply_nested_recording_is_a_recording_error(tmp_path, depth):
    path = tmp_path / "deep.json"
    path.write_text('{"schema_version": 1, "facts": {"k": {"value": ' + "[" * depth + "]" * depth + "}}}")
    with pytest.raises(RecordingError, match="nested"):
        load_recording(path)


def test_recording_special_files_are_refused(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    for path in (Path("/dev/zero"), tmp_path / "fifo"):
        err = run_bounded(lambda: load_recording(path))
        assert isinstance(err, RecordingError) and "not a regular file" in str(err)


# ---- 3. masking ----

def test_short_secret_is_masked_as_a_whole_token_only():
    redactor = Redactor()
    redactor.add("a")
    assert redactor.redact("Max retries exceeded: ldaps://dc") == "Max retries exceeded: ldaps://dc"
    assert redactor.redact("password a was refused (a)") == "password ******** was refused (********)"


def test_recording_keys_and_certificates_survive_a_short_secret(tmp_path):
    pem = self_signed_pem()
    redactor = Redactor()
    for secret in ("a", "MIIB", "CERT"):  # one letter; the start of every certificate's base64
        redactor.add(secret)
    store = FactStore(redactor)
    store.get("cabundle:ca.pem", lambda: {"pem": pem})
    store.get("ldap:ldaps://a:rootdse", lambda: {"a": ["a", "MIIB"]})
    save_recording(store.recording(), tmp_path / "facts.json", "post")
    facts = load_recording(tmp_path / "facts.json")
    assert facts["cabundle:ca.pem"]["value"]["pem"] == pem
    assert facts["ldap:ldaps://a:rootdse"]["value"] == {"a": ["********", "********"]}


def test_base64_data_is_intact_unless_it_holds_the_secret():
    import base64

    redactor = Redactor()
    redactor.add("Zm9v")  # "foo" in base64: a 4-character secret that occurs in base64 text
    blob = base64.b64encode(b"foo" * 40).decode()
    assert redactor.redact(blob) == blob
    leaking = base64.b64encode(b"x" * 60 + b"Zm9v" + b"y" * 10).decode()
    assert redactor.redact(leaking) == Redactor.MASK
