"""Reading a site file: TOML parsed with bounds, every key converted and validated against the schema in
``sections``; errors name the file, the line when it can be found, and the dotted key."""
from __future__ import annotations

import dataclasses
import difflib
import math
import re
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python < 3.11 only
    import tomli as tomllib

from ocscheck.config.sections import (MAX_NAMED_FILE_BYTES, MAX_SITE_FILE_BYTES, SECTIONS, ConfigError, Endpoint,
                                      Site, WinrmHost)
from ocscheck.values.names import control_characters


_TABLE_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-\" ")
_KEY = re.compile(r"\s*([A-Za-z0-9_.\-]+)\s*=")


class _Locator:
    """Finds the line of a dotted key in TOML text (best effort: tables and simple keys).

    Table headers are cut with str methods: the former single pattern ('\\[\\s*([... ]+?)\\s*\\]', a
    blank allowed both in the name and around it) backtracked cubically on a long line of blanks.
    """

    def __init__(self, text: str):
        self.lines: Dict[str, int] = {}
        self.keys: Dict[int, str] = {}   # line -> the dotted key it sets (or table it opens)
        table = ""
        for number, line in enumerate(text.splitlines(), 1):
            header = _table_header(line)
            if header is not None:
                table = header
                self.lines.setdefault(table, number)
                self.keys[number] = table
                continue
            key = _KEY.match(line)
            if key:
                dotted = f"{table}.{key.group(1)}" if table else key.group(1)
                self.lines.setdefault(dotted, number)
                self.keys[number] = dotted

    def line(self, dotted: str) -> Optional[int]:
        """The line setting ``dotted``, or the first line setting a key below it (a dotted key such as
        ``dns.internal = …`` inside [deployment] reports deployment.dns), else its table's line."""
        while dotted:
            if dotted in self.lines:
                return self.lines[dotted]
            below = [number for key, number in self.lines.items() if key.startswith(dotted + ".")]
            if below:
                return min(below)
            dotted = dotted.rpartition(".")[0]
        return None


def _table_header(line: str) -> Optional[str]:
    """``[winrm."server"]  # comment`` -> ``winrm.server``; None when the line is no table header."""
    stripped = line.strip()
    if not stripped.startswith("["):
        return None
    close = stripped.find("]")
    name = stripped[1:close].strip() if close > 0 else ""
    after = stripped[close + 1:].lstrip() if close > 0 else ""
    if not name or not set(name) <= _TABLE_CHARS or (after and not after.startswith("#")):
        return None
    return name.replace('"', "").replace(" ", "")


def load_site(path: Path) -> Site:
    from ocscheck.atomic import read_bytes_capped

    path = Path(path)
    try:
        # Not regular_only: `-c <(generate-site)` is a pipe the user chose; the cap still bounds it.
        # utf-8-sig: Notepad saves UTF-8 with a byte-order mark, which TOML would refuse.
        text = read_bytes_capped(path, MAX_SITE_FILE_BYTES, regular_only=False).decode("utf-8-sig")
    except OSError as exc:
        raise ConfigError(path, "", f"cannot read the site file: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(path, "", "the site file is not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise ConfigError(path, "", f"not valid TOML: {exc}", int(line.group(1)) if line else None) from None
    except ValueError as exc:  # tomllib lets int()'s own error through: an integer of more than 4,300 digits
        raise ConfigError(path, "", f"not valid TOML: {exc}") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables by recursion
        locator = _Locator(text)
        line = _most_nested_line(text)
        raise ConfigError(path, locator.keys.get(line, ""), "arrays or inline tables nested too deeply",
                          line) from None
    return site_from_dict(data, path, _Locator(text))


def _most_nested_line(text: str) -> int:
    """The line opening the most brackets: where a too-deep nesting most likely is (1-based)."""
    counts = [line.count("[") + line.count("{") for line in text.splitlines()] or [0]
    return counts.index(max(counts)) + 1


def site_from_dict(data: Dict[str, Any], path: Path, locator: Optional[_Locator] = None) -> Site:
    """The validated Site; every problem found is reported at once (ConfigError.problems), each with its
    file, line and key."""
    locator = locator or _Locator("")
    found: List[ConfigError] = []

    def error(key: str, message: str) -> ConfigError:
        return ConfigError(path, key, message, locator.line(key))

    try:
        site = _site(data, path, error, found)
    except ConfigError as exc:  # a problem after which nothing more can be judged
        found.append(exc)
    if found or site is None:
        raise ConfigError.of_all(sorted(found, key=lambda e: (e.line or 0, e.key)))
    return site


def _site(data: Dict[str, Any], path: Path, error, found: List[ConfigError]) -> Optional[Site]:
    """The Site, or None with the problems added to ``found``; raises for a problem that stops the rest."""
    known_tables = {name.split(".")[0] for name, *_ in SECTIONS}
    for key in data:
        if key not in known_tables:
            raise error(key, f"unknown section{_did_you_mean(key, known_tables)} "
                             f"(known: {', '.join(sorted(known_tables))})")
    winrm = data.get("winrm", {})
    if not isinstance(winrm, dict):
        raise error("winrm", "must be a table with [winrm.server] and/or [winrm.dc]")
    for key in winrm:
        if key not in ("server", "dc"):
            raise error(f"winrm.{key}", "unknown WinRM role (known: server, dc)")

    values: Dict[str, Any] = {"source": path}
    for table, attribute, cls, optional in SECTIONS:
        raw = data.get(table) if "." not in table else winrm.get(table.split(".")[1])
        if raw is None:
            if table.startswith("winrm."):
                values[attribute] = None
                continue
            if not optional:
                raise error(table, "this section is required")
            raw = {}
        if not isinstance(raw, dict):
            found.append(error(table, "must be a table"))
            continue
        try:
            values[attribute] = _section(cls, table, raw, path, error)
        except ConfigError as exc:  # the section's own problems: the other sections are still judged
            found.extend(exc.problems)
    if found:
        return None
    for table, attribute in (("winrm.server", "winrm_server"), ("winrm.dc", "winrm_dc")):
        problem = _insecure_basic(values[attribute])
        if problem:
            found.append(error(f"{table}.{problem[0]}", problem[1]))
    if found:
        return None
    site = Site(**values)
    if not site.deployment.forest:
        site = dataclasses.replace(site, deployment=dataclasses.replace(
            site.deployment, forest=site.deployment.ad_domain))
    return site


def _section(cls: type, table: str, raw: Dict[str, Any], path: Path, error) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    found: List[ConfigError] = []
    for key in raw:
        if key not in fields:
            found.append(error(f"{table}.{key}", f"unknown key{_did_you_mean(key, fields)} "
                                                 f"(known: {', '.join(fields)})"))
    kwargs = {}
    for name, spec in fields.items():
        dotted = f"{table}.{name}"
        if name not in raw:
            if spec.default is dataclasses.MISSING and spec.default_factory is dataclasses.MISSING:
                found.append(error(dotted, "this key is required"))
            continue
        try:
            value = _convert(spec.metadata, raw[name], path, dotted, error)
        except ConfigError as exc:
            found.append(exc)
            continue
        check = spec.metadata.get("check")
        problems = check(value) if check else []
        if problems:
            found.append(error(dotted, "; ".join(problems)))
            continue
        kwargs[name] = value
    if found:
        raise ConfigError.of_all(found)
    section = cls(**kwargs)
    problems = [error(f"{table}.{key}", problem) for key, problem in getattr(section, "conflicts", lambda: [])()]
    if problems:
        raise ConfigError.of_all(problems)
    return section


def _did_you_mean(key: str, known) -> str:
    close = difflib.get_close_matches(str(key), list(known), n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def _insecure_basic(host: Optional[WinrmHost]) -> Optional[Tuple[str, str]]:
    """(key, why) when a WinRM host would send Basic credentials where they can be read or stolen."""
    if host is None or host.transport != "basic":
        return None
    if host.scheme != "https":
        # pywinrm encrypts messages for ntlm, kerberos and credssp only: Basic over http is the password
        # in clear. The WinRM fetcher refuses it too; saying so when the file loads is earlier and clearer.
        return "scheme", "transport = basic needs scheme = https (over http the password travels in clear)"
    if not host.verify_tls and not host.allow_insecure_basic:
        return "verify_tls", ("transport = basic with verify_tls = false sends the password to any server that "
                              "answers; verify the certificate (tls.ca_bundle), use ntlm or kerberos, or set "
                              "allow_insecure_basic = true in a lab")
    return None


def _convert(meta: Dict[str, Any], value: Any, path: Path, dotted: str, error) -> Any:
    kind = meta["kind"]
    expected = {"str": str, "int": int, "float": (int, float), "bool": bool, "path": str}
    if kind in expected:
        if isinstance(value, bool) and kind != "bool" or not isinstance(value, expected[kind]):
            raise error(dotted, f"must be {_kind_name(kind)}, not {_toml_type(value)}")
        if isinstance(value, str) and control_characters(value):
            raise error(dotted, f"must not contain control characters ({control_characters(value)})")
        if kind == "float":
            if not math.isfinite(value):
                raise error(dotted, f"must be a finite number, not {value}")
            return float(value)
        if kind == "path":
            return _readable_path(value, path, dotted, error)
        return value
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise error(dotted, f"must be {_kind_name(kind)}, not {_toml_type(value)}")
    for item in value:
        if control_characters(item):
            raise error(dotted, f"must not contain control characters ({control_characters(item)})")
    if kind == "strlist":
        return tuple(value)
    try:
        return tuple(Endpoint.parse(v, meta["port"]) for v in value)
    except ValueError as exc:
        raise error(dotted, str(exc)) from None


def _readable_path(value: str, site_path: Path, dotted: str, error) -> Path:
    from ocscheck.atomic import read_bytes_capped

    resolved = (site_path.parent / value).resolve() if not Path(value).is_absolute() else Path(value)
    try:
        # A regular file only: a FIFO would hang the load, /dev/zero would exhaust memory.
        content = read_bytes_capped(resolved, MAX_NAMED_FILE_BYTES)
    except OSError as exc:
        raise error(dotted, f"cannot read {resolved}: {exc.strerror or exc}") from None
    if dotted == "tls.ca_bundle":
        from cryptography import x509

        try:
            x509.load_pem_x509_certificates(content)
        except ValueError:
            raise error(dotted, f"{resolved} holds no PEM certificate") from None
    return resolved


def _kind_name(kind: str) -> str:
    return {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false",
            "path": "a file path (string)", "strlist": "a list of strings",
            "endpoints": 'a list of "IP[:PORT]" strings'}[kind]


def _toml_type(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "a table"}.get(type(value), type(value).__name__)
