"""The command line: preflight and post (cli.run), list, explain, init, collect.

Exit codes: 0 nothing failed; 1 at least one check failed (or warned, with --fail-on warn; or skipped, with
--fail-on skip); 2 usage or configuration error; 3 nothing failed but at least one check could not run
(error), or nothing was checked; 130/143 interrupted by SIGINT/SIGTERM (the reports are still written).
"""
from __future__ import annotations

import atexit
import difflib
import gc
import json
from pathlib import Path
from typing import Dict, Optional, Tuple

import click

from ocscheck import __version__
from ocscheck.cli.common import EXAMPLE_DIR, EXIT_HELP, UsageProblem, load_site_or_exit, warn_plugins
from ocscheck.cli.run import post, preflight

__all__ = ["main", "EXAMPLE_DIR"]

# At exit, the interpreter's last garbage collections walk every object a run made (60,000 after a full post:
# ldap3, requests, dnspython, cryptography): ~50 ms of a command's time for nothing, since the process ends.
# Frozen objects are left out of those collections; the atexit handlers registered later (a library's own,
# weakref.finalize) still run first.
atexit.register(gc.freeze)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_HELP)
@click.version_option(__version__, prog_name="ocscheck")
def main() -> None:
    """Checks an OCS 2007 R2 Standard Edition deployment: before installing (preflight) and after (post)."""


main.add_command(preflight)
main.add_command(post)


@main.command("list")
@click.option("--phase", type=click.Choice(["preflight", "post"]), help="Only the checks of this phase.")
@click.option("-c", "--config", type=click.Path(dir_okay=False, path_type=Path),
              help="A site file: say which checks would skip there, and what they lack.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="json: one object per check, for tooling.")
def list_checks(phase: Optional[str], config: Optional[Path], output_format: str) -> None:
    """List the checks: id, phases, severity, title, the facts each needs (and, with -c, what a site lacks)."""

    from ocscheck.facts import Inputs
    from ocscheck.model import Phase
    from ocscheck.needs import missing
    from ocscheck.registry import load_all, select
    from ocscheck.reports.text import fit_table, terminal_width

    site = load_site_or_exit(config) if config else None
    warn_plugins()
    specs = select(load_all().specs(), Phase(phase) if phase else None)
    rows, listing = [], []
    for spec in specs:
        notes = [] if spec.origin == "builtin" else [spec.origin]
        skips: Dict[str, list] = {}
        if site is not None:
            for check_phase in ([Phase(phase)] if phase else spec.phases):
                lacking = missing(spec, site, Inputs(), check_phase)
                if lacking:
                    skips[check_phase.value] = lacking
                    notes.append(f"{check_phase} skips: needs {'; '.join(lacking)}")
        rows.append((spec.id, ", ".join(p.value for p in spec.phases), spec.severity.value, spec.title,
                     ", ".join(spec.needs), "; ".join(notes)))
        listing.append({"id": spec.id, "area": spec.area, "title": spec.title,
                        "phases": [p.value for p in spec.phases], "severity": spec.severity.value,
                        "needs": list(spec.needs), "origin": spec.origin,
                        **({"would_skip": skips} if site is not None else {})})
    if output_format == "json":
        click.echo(json.dumps({"schema_version": 1, "checks": listing}, indent=2, ensure_ascii=False))
        return
    click.echo(fit_table(rows, ("id", "phases", "severity", "title", "needs", "note"), terminal_width(),
                         fixed=(0, 2)))


@main.command()
@click.argument("check_id")
def explain(check_id: str) -> None:
    """What a check verifies, why, how to fix it, and the source."""
    from ocscheck.registry import load_all

    registry = load_all()
    warn_plugins()
    spec = registry.get(check_id)
    if spec is None:
        close = difflib.get_close_matches(check_id, [s.id for s in registry.specs()], n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UsageProblem(f"no check {check_id!r}{hint}")
    click.echo(f"{spec.id} — {spec.title}")
    click.echo(f"phases: {', '.join(p.value for p in spec.phases)}; area: {spec.area}; severity: "
               f"{spec.severity.value}; needs: {', '.join(spec.needs) or '-'}; from: {spec.origin}")
    click.echo("")
    click.echo(spec.doc or "(no description)")


@main.command()
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=Path("ocscheck.toml"),
              show_default=True, help="Where to write the site file.")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
@click.option("--server-fqdn", required=True, help="FQDN of the Standard Edition server.")
@click.option("--sip-domain", "sip_domains", multiple=True, required=True,
              help="SIP domain (repeatable; the first is the default).")
@click.option("--ad-domain", required=True, help="DNS name of the AD domain.")
@click.option("--forest", help="Forest root domain (default: the AD domain).")
@click.option("--ldap-url", help="ldaps://dc.example or ldap://dc.example (StartTLS).")
@click.option("--ldap-user", help="LDAP bind account.")
@click.option("--ldap-password-env", help="Environment variable with the LDAP password.")
@click.option("--dns-internal", multiple=True, metavar="IP[:PORT]", help="Internal resolver (repeatable).")
@click.option("--dns-external", multiple=True, metavar="IP[:PORT]", help="External resolver (repeatable).")
@click.option("--ca-bundle", type=click.Path(dir_okay=False, path_type=Path), help="PEM file of the internal CA(s).")
@click.option("--winrm-server", help="WinRM host of the OCS server.")
@click.option("--winrm-dc", help="WinRM host of a domain controller.")
@click.option("--winrm-user", help="WinRM account (DOMAIN\\user).")
@click.option("--winrm-password-env", help="Environment variable with the WinRM password.")
def init(output: Path, force: bool, server_fqdn: str, sip_domains: Tuple[str, ...], ad_domain: str,
         forest: Optional[str], ldap_url: Optional[str], ldap_user: Optional[str], ldap_password_env: Optional[str],
         dns_internal: Tuple[str, ...], dns_external: Tuple[str, ...], ca_bundle: Optional[Path],
         winrm_server: Optional[str], winrm_dc: Optional[str], winrm_user: Optional[str],
         winrm_password_env: Optional[str]) -> None:
    """Write a commented site file from a few options."""
    from ocscheck.config import ConfigError, site_from_dict
    from ocscheck.siteinit import render_site

    values: Dict[str, Dict[str, object]] = {
        "deployment": {"server_fqdn": server_fqdn, "sip_domains": list(sip_domains), "ad_domain": ad_domain,
                       **({"forest": forest} if forest else {})},
        "ldap": _given(url=ldap_url, user=ldap_user, password_env=ldap_password_env),
        "dns": _given(internal=list(dns_internal), external=list(dns_external)),
        "tls": _given(ca_bundle=str(ca_bundle.resolve()) if ca_bundle else None),
    }
    for role, host in (("server", winrm_server), ("dc", winrm_dc)):
        if host:
            values[f"winrm.{role}"] = _given(host=host, user=winrm_user, password_env=winrm_password_env)
    nested: Dict[str, object] = {k: v for k, v in values.items() if "." not in k}
    nested["winrm"] = {k.split(".")[1]: v for k, v in values.items() if k.startswith("winrm.")}
    # The CA bundle may not exist yet (the README's example names one): the key is written, with a warning.
    missing_bundle = ca_bundle is not None and not ca_bundle.is_file()
    if missing_bundle:
        nested["tls"] = {}
    try:
        site_from_dict(nested, output)
    except ConfigError as exc:
        raise UsageProblem("\n".join(f"{e.key}: {e.message}" for e in exc.problems)) from None
    if output.exists() and not force:
        raise UsageProblem(f"{output} exists (use --force to overwrite)")
    from ocscheck.atomic import output_problem, write_text_atomic

    output.parent.mkdir(parents=True, exist_ok=True)  # init makes a new site's folder; reports never do
    problem = output_problem(output)
    if problem:
        raise UsageProblem(problem)
    write_text_atomic(output, render_site(values))
    click.echo(f"wrote {output}")
    if missing_bundle:
        click.echo(f"ocscheck: warning: tls.ca_bundle names {ca_bundle.resolve()}, which does not exist yet: put the "
                   "internal root (and intermediate) CA certificates there, in PEM, before running a check",
                   err=True)


def _given(**values) -> Dict[str, object]:
    return {k: v for k, v in values.items() if v not in (None, [], "")}


@main.command()
def collect() -> None:
    """Print collect.ps1, the PowerShell 2.0 script that gathers the Windows host facts offline.

    Save it (ocscheck collect > collect.ps1), run it as administrator on the OCS server, and on a
    domain controller for dcdiag/repadmin: powershell -NoProfile -ExecutionPolicy Bypass -File
    collect.ps1. Judge the file it writes with --host-snapshot server=FILE (or dc=FILE).
    """
    from ocscheck.collector import script_text

    click.echo(script_text(), nl=False)


if __name__ == "__main__":  # pragma: no cover
    main()
