"""`ocscheck init`: write a commented site file from the schema in config.py."""
from __future__ import annotations

import dataclasses
import json
from typing import Any, Dict, List

from ocscheck.config import SECTIONS


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a valid TOML basic string


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return value


def render_site(values: Dict[str, Dict[str, Any]]) -> str:
    """A site file holding ``values`` ({table: {key: value}}), every key of the schema documented.

    Keys not in ``values`` are written with their default, or commented out with an example when the
    default is empty, so the file loads back to exactly the same Site.
    """
    out: List[str] = ["# ocscheck site file: describes one OCS 2007 R2 Standard Edition deployment.",
                      "# Secrets are never written here: name the environment variables that hold them.",
                      "# Reference: `ocscheck explain <check id>` and the README's 'Site file' section.", ""]
    for table, _attr, cls, _optional in SECTIONS:
        given = values.get(table, {})
        if table.startswith("winrm.") and not given:
            out.append(f"# {cls.__doc__.strip()} Uncomment to use WinRM for the {table.split('.')[1]} role.")
            out.append(f"# [{table}]")
            out.append('# host = "host.example"')
            out.append("")
            continue
        out.append(f"# {cls.__doc__.strip()}")
        out.append(f"[{table}]")
        for spec in dataclasses.fields(cls):
            meta = spec.metadata
            out.append(f"# {meta['doc']}")
            if spec.name in given:
                out.append(f"{spec.name} = {toml_value(_plain(given[spec.name]))}")
                continue
            default = spec.default if spec.default is not dataclasses.MISSING else (
                spec.default_factory() if spec.default_factory is not dataclasses.MISSING else None)
            if default in (None, "", ()) or default is dataclasses.MISSING:
                example = meta.get("example")
                shown = toml_value(example) if example is not None else ('""' if meta["kind"] in ("str", "path")
                                                                          else "[]")
                out.append(f"# {spec.name} = {shown}")
            else:
                out.append(f"{spec.name} = {toml_value(_plain(default))}")
        out.append("")
    return "\n".join(out)
