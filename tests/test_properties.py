"""Property tests (hypothesis, bounded): odd input gives a value or the documented error, never a crash.

- the site-file loader: mutated example site files and random values -> Site or ConfigError;
- every Windows parser: random text built from the tokens the parsers look for, and random bytes ->
  a parsed value (the parsers report what they cannot read in their result, they never raise);
- the snapshot reader: mutated snapshots -> Snapshot or SnapshotError;
- recordings: mutated recordings -> facts or RecordingError, and a replay of a structurally mutated
  recording ends with an exit code of the CLI's contract, never a traceback.
"""
from __future__ import annotations

import copy
import json
import shutil
import tempfile
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings, strategies as st

from ocscheck.cli import main
from ocscheck.collector import Snapshot, SnapshotError, read_snapshot
from ocscheck.config import ConfigError, Site, load_site, site_from_dict
from ocscheck.facts.store import RecordingError, load_recording
from ocscheck.parsers.decode import decode_output
from ocscheck.parsers.repadmin import parse_showrepl_csv
from tests.adversarial import PARSERS
from tests.winrm_endpoint import scenarios

EXAMPLE = Path(__file__).resolve().parents[1] / "ocscheck" / "example"
SITE_TEXT = (EXAMPLE / "site.toml").read_text(encoding="utf-8")
RECORDING_TEXT = (EXAMPLE / "post.facts.json").read_text(encoding="utf-8")


def bounded(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# A scratch copy of the example directory: mutated site files resolve ca.pem and the certificate there.
_SCRATCH = Path(tempfile.mkdtemp(prefix="ocscheck-props-"))
shutil.copytree(EXAMPLE, _SCRATCH / "example")
SCRATCH = _SCRATCH / "example"

# Characters that matter to TOML and to our checks, control characters and a few non-ASCII ones.
TOML_NOISE = st.text(alphabet=st.sampled_from(list('[]{}="\'.,#\n\r\t :\\-_0123456789aeinfstu') +
                                              ["\x00", "\x1b", "\x07", "\u202e", "\u2028", "é", "\ufeff"]),
                     max_size=40)


def mutate(text: str, edits) -> str:
    for position, delete, insert in edits:
        position %= len(text) + 1
        text = text[:position] + insert + text[position + delete:]
    return text


def mutated_file(name: str, text: str, edits) -> Path:
    """``text`` with ``edits`` made, written to the scratch file ``name`` (lone surrogates kept as they are)."""
    path = SCRATCH / name
    path.write_text(mutate(text, edits), encoding="utf-8", errors="surrogatepass")
    return path


# Values that once crashed or hung the loader, inserted anywhere (often inside a value).
ODD_VALUES = st.sampled_from(["[" * 2000, "{a=" * 1500, '"x\\u0000y"', '"/dev/zero"', '"."', "nan", "inf",
                              "1e999", "9" * 5000, '"ocs\\n.x"', '"\\u001b]0;t\\u0007"', " " * 3000])
EDITS = st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, 20), TOML_NOISE | ODD_VALUES),
                 min_size=1, max_size=4)


@bounded(400)
@given(edits=EDITS)
def test_mutated_site_file_loads_or_is_a_config_error(edits):
    path = mutated_file("mutated.toml", SITE_TEXT, edits)
    try:
        assert isinstance(load_site(path), Site)
    except ConfigError as exc:
        assert "\x1b" not in str(exc) and "\x07" not in str(exc)


KEY_LINES = [i for i, line in enumerate(SITE_TEXT.splitlines()) if " = " in line and not line.startswith("#")]


@bounded(300)
@given(changes=st.lists(st.tuples(st.sampled_from(KEY_LINES), TOML_NOISE | ODD_VALUES), min_size=1, max_size=3))
def test_site_file_with_odd_values_loads_or_is_a_config_error(changes):
    lines = SITE_TEXT.splitlines()
    for index, value in changes:
        lines[index] = lines[index].split(" = ")[0] + " = " + value
    path = SCRATCH / "odd.toml"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    try:
        assert isinstance(load_site(path), Site)
    except ConfigError as exc:
        assert "\x1b" not in str(exc) and "\x07" not in str(exc)


TOML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2 ** 63), max_value=2 ** 63 - 1) | st.floats()
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)
SECTION_KEYS = {
    "deployment": ["server_fqdn", "sip_domains", "ad_domain", "forest", "extra_sans", "other_ocs_servers"],
    "ldap": ["url", "user", "auth", "page_size", "replication_dcs"],
    "dns": ["internal", "external"],
    "tls": ["ca_bundle", "sip_port", "https_port", "certificate", "server_address", "web_paths"],
    "thresholds": ["cert_expiry_days", "password_expiry_days", "replication_max_age_hours"],
    "run": ["timeout", "workers", "skip"],
    "winrm": ["server", "dc"],
}
BASE = {"deployment": {"server_fqdn": "ocs.todorovic.adds", "sip_domains": ["todorovic.fr"],
                       "ad_domain": "todorovic.adds"},
        "winrm": {"server": {"host": "ocs.todorovic.adds", "scheme": "https", "transport": "basic"}}}


@st.composite
def site_dicts(draw):
    data = copy.deepcopy(BASE)
    server = data["winrm"]["server"]
    server["scheme"] = draw(st.sampled_from(["http", "https"]) | TOML_VALUES)
    server["transport"] = draw(st.sampled_from(["basic", "ntlm"]))
    for key in ("verify_tls", "allow_insecure_basic"):
        if draw(st.booleans()):
            server[key] = draw(st.booleans() | TOML_VALUES)
    for _ in range(draw(st.integers(1, 4))):
        section = draw(st.sampled_from(sorted(SECTION_KEYS)))
        key = draw(st.sampled_from(SECTION_KEYS[section]) | st.text(max_size=6))
        table = data.setdefault(section, {})
        if section == "winrm" and key in ("server", "dc"):
            table = table.setdefault(key, {})
            key = draw(st.sampled_from(["host", "port", "scheme", "transport", "verify_tls", "allow_insecure_basic",
                                        "client_cert"]))
        if isinstance(table, dict):
            table[key] = draw(st.booleans() | st.sampled_from(["http", "https", "basic", "ntlm", "/dev/zero"]) |
                              TOML_VALUES)
    return data


@bounded(400)
@given(data=site_dicts())
def test_random_site_values_give_a_site_or_a_config_error(data):
    try:
        site = site_from_dict(data, SCRATCH / "site.toml")
    except ConfigError:
        return
    for host in (site.winrm_server, site.winrm_dc):  # what the site promises the WinRM fetcher
        assert host is None or host.transport != "basic" or (
            host.scheme == "https" and (host.verify_tls or host.allow_insecure_basic))


# Fragments every parser looks for: random text made of them reaches deep into each parser.
FRAGMENTS = st.sampled_from([
    "\n", "\r\n", " ", "  ", "\t", ":", " : ", "=", "|", ",", '"', "(", ")", ".....", "......................... ",
    "0.0.0.0:443", "[::1]:443", "0123456789abcdef0123456789abcdef01234567", "IP:port", "Certificate Hash",
    'SITE "Default Web Site" (id:1,bindings:', "http/*:80:", ",state:", "Started", "id:", "9" * 12,
    "Starting test: ", "Démarrage du test : ", "DC01 passed test ", "failed test ", "Le test ", " de DC1 a ",
    "réussi", "échoué", "Directory Server Diagnosis", "showrepl_COLUMNS,", "showrepl_INFO,", "showrepl_ERROR,",
    "Win32 Err", "2026-11-27 06:00:00", "0001-01-01 00:00:00", "9999-12-31 23:59:59", "0x2000", "inf", "nan",
    "caption=", "version=", "utc_offset_minutes=", "hotfix=", "product=", "source=", "ServerManagerCmd",
    "Get-WindowsFeature", "feature=", "xml=", "PFNlcnZlck1hbmFnZXJDb25maWd1cmF0aW9uUXVlcnk+", "service=",
    "dbfile=", "event=", "System|7024|", "<ServerManagerConfigurationQuery>", "<Role Id='x' Installed='true'/>",
    "<!DOCTYPE x [<!ENTITY a 'aaaa'>]>", "&a;", "\x00", "\ufffd", "\u202e",
])
PARSER_TEXT = st.lists(FRAGMENTS | st.text(max_size=12), max_size=60).map("".join)


@bounded(300)
@given(text=PARSER_TEXT, parser=st.sampled_from(sorted(PARSERS)))
def test_parsers_never_raise_on_fragment_soup(text, parser):
    PARSERS[parser](text)


@bounded(200)
@given(data=st.binary(max_size=4096), parser=st.sampled_from(sorted(PARSERS)))
def test_parsers_never_raise_on_random_bytes(data, parser):
    PARSERS[parser](decode_output(data).text)


@bounded(150)
@given(text=PARSER_TEXT, offset=st.one_of(st.none(), st.integers(-(10 ** 15), 10 ** 15)))
def test_repadmin_with_any_offset(text, offset):
    parse_showrepl_csv(text, utc_offset_minutes=offset)


SNAPSHOT_TEXT = scenarios.snapshot_text(scenarios.variant("ready"))


@bounded(200)
@given(edits=st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, 30),
                                FRAGMENTS | st.sampled_from(["[probe ", "exit=", "]", "-", "9" * 5000, "host="])),
                      min_size=1, max_size=4))
def test_mutated_snapshot_reads_or_is_a_snapshot_error(edits):
    path = mutated_file("host.snapshot", SNAPSHOT_TEXT, edits)
    try:
        assert isinstance(read_snapshot(path), Snapshot)
    except SnapshotError:
        pass


@bounded(250)
@given(edits=st.lists(st.tuples(st.integers(0, 10 ** 6), st.integers(0, 20),
                                st.text(alphabet='[]{}":,0123456789.-etrufalsn \\\x00', max_size=20) |
                                st.sampled_from(["[" * 2000, "{\"a\":" * 500])),
                      min_size=1, max_size=3))
def test_mutated_recording_loads_or_is_a_recording_error(edits):
    path = mutated_file("mutated.facts.json", RECORDING_TEXT, edits)
    try:
        assert isinstance(load_recording(path), dict)
    except RecordingError:
        pass


JSON_VALUES = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) |
                           st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                         max_size=3),
                           max_leaves=8)
RECORDED = json.loads(RECORDING_TEXT)
FACT_KEYS = sorted(RECORDED["facts"])


@st.composite
def mutated_recordings(draw):
    document = copy.deepcopy(RECORDED)
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(FACT_KEYS))
        node = document["facts"][key]
        path = ["value"] if "value" in node else ["error"]
        target = node
        while True:  # walk down a random branch, replace what is there
            inner = target[path[-1]] if isinstance(target, dict) else target[path[-1]]
            children = list(inner) if isinstance(inner, dict) else list(range(len(inner))) \
                if isinstance(inner, list) else []
            if not children or draw(st.booleans()):
                break
            target, path = inner, path + [draw(st.sampled_from(children))]
        target[path[-1]] = draw(JSON_VALUES)
    return document


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=mutated_recordings())
def test_replay_of_a_mutated_recording_never_crashes(document):
    path = SCRATCH / "replay.facts.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = CliRunner().invoke(main, ["post", "--example", "--replay", str(path), "-q"])
    assert result.exit_code in (0, 1, 2, 3), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
