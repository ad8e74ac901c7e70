"""The command line: preflight, post, list, explain, init.

Exit codes: 0 nothing failed; 1 at least one check failed (or warned, with --fail-on warn);
2 usage or configuration error; 3 nothing failed but at least one check could not run (error).
"""
from __future__ import annotations

import difflib
import sys
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import click

from ocscheck import __version__

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_ERROR = 0, 1, 2, 3
EXAMPLE_DIR = Path(__file__).parent / "example"

EXIT_HELP = ("Exit codes: 0 nothing failed; 1 a check failed (or warned, with --fail-on warn); "
             "2 usage or configuration error; 3 nothing failed but a check could not run (error).")


class UsageProblem(click.ClickException):
    exit_code = EXIT_USAGE


def _host_snapshot(ctx, param, values: Sequence[str]) -> Dict[str, Path]:
    snapshots = {}
    for value in values:
        role, sep, path = value.partition("=")
        if not sep or role not in ("server", "dc") or not path:
            raise click.BadParameter(f"{value!r} is not ROLE=FILE with ROLE server or dc")
        snapshots[role] = Path(path)
    return snapshots


def run_options(func):
    options = [
        click.option("-c", "--config", "config", type=click.Path(dir_okay=False, path_type=Path),
                     default=Path("ocscheck.toml"), show_default=True, help="Site file (TOML)."),
        click.option("--example", is_flag=True,
                     help="Judge the bundled example (the tutorial's lab, recorded): no network needed."),
        click.option("--only", multiple=True, metavar="PATTERN", help="Run only these check ids or globs (dns.*)."),
        click.option("--skip", multiple=True, metavar="PATTERN", help="Skip these check ids or globs."),
        click.option("--report", "reports", multiple=True, metavar="FORMAT:PATH",
                     help="Also write a report: text, json, junit, junit-jenkins, html or markdown (repeatable)."),
        click.option("--fail-on", type=click.Choice(["fail", "warn"]), default="fail", show_default=True,
                     help="Lowest status that makes the run fail (exit 1)."),
        click.option("--timeout", type=click.FloatRange(0.1, 600), default=None,
                     help="Seconds for each network fact (default: the site's run.timeout); a check is "
                          "abandoned after three times that."),
        click.option("--record", type=click.Path(dir_okay=False, path_type=Path),
                     help="Save every fact of this run to a JSON file (no secrets)."),
        click.option("--replay", type=click.Path(dir_okay=False, path_type=Path),
                     help="Judge a recorded run: no network at all."),
        click.option("--certificate", type=click.Path(dir_okay=False, path_type=Path),
                     help="Certificate file (PEM, DER, PKCS#12) to judge instead of the one on 5061."),
        click.option("--dcdiag", type=click.Path(dir_okay=False, path_type=Path),
                     help="Saved dcdiag output to judge instead of running dcdiag over WinRM."),
        click.option("--repadmin", type=click.Path(dir_okay=False, path_type=Path),
                     help="Saved `repadmin /showrepl * /csv` output."),
        click.option("--host-snapshot", multiple=True, metavar="ROLE=FILE", callback=_host_snapshot,
                     help="Collector snapshot for ROLE server or dc, instead of WinRM (repeatable)."),
        click.option("-q", "--quiet", is_flag=True, help="No terminal report on stdout."),
        click.option("-v", "--verbose", is_flag=True, help="Evidence, fixes and tracebacks in the reports."),
        click.option("--color", "color", type=click.Choice(["auto", "always", "never"]), default="auto",
                     show_default=True, help="Colour the terminal report; auto: on a terminal, unless NO_COLOR "
                                             "is set."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_HELP)
@click.version_option(__version__, prog_name="ocscheck")
def main() -> None:
    """Checks an OCS 2007 R2 Standard Edition deployment: before installing (preflight) and after (post)."""


@main.command(epilog=EXIT_HELP)
@run_options
def preflight(**options) -> None:
    """Is the environment ready to install OCS 2007 R2?"""
    sys.exit(_run("preflight", **options))


@main.command(epilog=EXIT_HELP)
@run_options
def post(**options) -> None:
    """Did the OCS 2007 R2 installation come up right?"""
    sys.exit(_run("post", **options))


def _load_site(path: Path):
    from ocscheck.config import ConfigError, load_site

    try:
        return load_site(path)
    except ConfigError as exc:
        raise UsageProblem(str(exc)) from None


def _run(phase: str, config: Path, example: bool, only: Tuple[str, ...], skip: Tuple[str, ...],
         reports: Tuple[str, ...], fail_on: str, timeout: Optional[float], record: Optional[Path],
         replay: Optional[Path], certificate: Optional[Path], dcdiag: Optional[Path], repadmin: Optional[Path],
         host_snapshot: Dict[str, Path], quiet: bool, verbose: bool, color: str = "auto") -> int:
    from ocscheck.api import RecordingError, SelectionError, load_recording, run, save_recording, select_checks
    from ocscheck.facts import Inputs
    from ocscheck.model import Status
    from ocscheck.reports import ReportTarget, write_reports

    if example:
        config = EXAMPLE_DIR / "site.toml"
        replay = replay or EXAMPLE_DIR / f"{phase}.facts.json"
    site = _load_site(config)
    try:
        targets = [ReportTarget.parse(spec) for spec in reports]
    except ValueError as exc:
        raise UsageProblem(f"--report: {exc}") from None
    for path in (certificate, dcdiag, repadmin, *host_snapshot.values()):
        if path is not None and not path.is_file():
            raise UsageProblem(f"{path}: no such file")
    try:
        selected = select_checks(site, phase, only, skip)
    except SelectionError as exc:
        raise UsageProblem(str(exc)) from None
    _warn_plugins()
    recorded = None
    if replay is not None:
        try:
            recorded = load_recording(replay)
        except RecordingError as exc:
            raise UsageProblem(str(exc)) from None

    interactive = recorded is None and sys.stdin.isatty()
    progress = _progress_printer() if sys.stderr.isatty() and not quiet else None
    report = run(site, phase, checks=selected, timeout=timeout, replay=recorded,
                 inputs=Inputs(certificate=certificate, dcdiag=dcdiag, repadmin=repadmin, host_snapshots=host_snapshot),
                 prompt=(lambda what: click.prompt(what, hide_input=True, err=True)) if interactive else None,
                 progress=progress, fail_on_warn=fail_on == "warn", site_label=str(config),
                 replayed_from=str(replay) if replay else "")
    if progress:
        click.echo("\r\x1b[K", err=True, nl=False)
    problems = write_reports(report, targets, verbose)
    if record is not None and recorded is None:
        try:
            save_recording(report.recording, record, phase)
        except OSError as exc:
            problems.append(f"cannot write the recording to {record}: {exc.strerror or exc}")
    if not quiet:
        # reports: --color and the terminal's width (to move into the run API with the rest)
        # Imported only here: with -q the table (and tabulate) is not loaded at all.
        from ocscheck.reports.text import render as render_text, terminal_width, use_colour

        colour = use_colour(color)
        click.echo(render_text(report, verbose, colour=colour, width=terminal_width()), nl=False, color=colour)
    for problem in problems:
        click.echo(f"ocscheck: error: {problem}", err=True)
    statuses = {o.status for o in report.outcomes}
    if problems:
        return EXIT_USAGE
    if Status.FAIL in statuses or (fail_on == "warn" and Status.WARN in statuses):
        return EXIT_FAIL
    return EXIT_ERROR if Status.ERROR in statuses else EXIT_OK


def _warn_plugins() -> None:
    """Say which plugins could not be loaded (the registry returns their reasons; the CLI shows them)."""
    from ocscheck.registry import load_all

    for warning in load_all().load_warnings:
        click.echo(f"ocscheck: warning: {warning}", err=True)


def _progress_printer():
    def show(outcome, done: int, total: int) -> None:
        click.echo(f"\r\x1b[K[{done}/{total}] {outcome.id} {outcome.status.value}", err=True, nl=False)

    return show


@main.command("list")
@click.option("--phase", type=click.Choice(["preflight", "post"]), help="Only the checks of this phase.")
@click.option("-c", "--config", type=click.Path(dir_okay=False, path_type=Path),
              help="A site file: say which checks would skip there, and what they lack.")
def list_checks(phase: Optional[str], config: Optional[Path]) -> None:
    """List the checks: id, phases, severity, title, the facts each needs (and, with -c, what a site lacks)."""

    from ocscheck.facts import Inputs
    from ocscheck.model import Phase
    from ocscheck.needs import missing
    from ocscheck.registry import load_all, select
    from ocscheck.reports.text import fit_table, terminal_width

    site = _load_site(config) if config else None
    _warn_plugins()
    specs = select(load_all().specs(), Phase(phase) if phase else None)
    rows = []
    for spec in specs:
        notes = [] if spec.origin == "builtin" else [spec.origin]
        if site is not None:
            for check_phase in ([Phase(phase)] if phase else spec.phases):
                lacking = missing(spec, site, Inputs(), check_phase)
                if lacking:
                    notes.append(f"{check_phase} skips: needs {'; '.join(lacking)}")
        rows.append((spec.id, ", ".join(p.value for p in spec.phases), spec.severity.value, spec.title,
                     ", ".join(spec.needs), "; ".join(notes)))
    click.echo(fit_table(rows, ("id", "phases", "severity", "title", "needs", "note"), terminal_width(),
                         fixed=(0, 2)))


@main.command()
@click.argument("check_id")
def explain(check_id: str) -> None:
    """What a check verifies, why, how to fix it, and the source."""
    from ocscheck.registry import load_all

    registry = load_all()
    _warn_plugins()
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
    try:
        site_from_dict(nested, output)
    except ConfigError as exc:
        raise UsageProblem(f"{exc.key}: {exc.message}") from None
    if output.exists() and not force:
        raise UsageProblem(f"{output} exists (use --force to overwrite)")
    from ocscheck.atomic import write_text_atomic

    write_text_atomic(output, render_site(values))
    click.echo(f"wrote {output}")


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
