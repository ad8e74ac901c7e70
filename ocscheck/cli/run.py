"""`ocscheck preflight` and `ocscheck post`: the options, what is refused before anything runs, the run
through the library API (ocscheck.api.run), the reports, the exit code, and Ctrl-C / SIGTERM."""
from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import click
from click.core import ParameterSource

from ocscheck.cli.common import (EXAMPLE_DIR, EXIT_ERROR, EXIT_FAIL, EXIT_HELP, EXIT_OK, EXIT_USAGE, UsageProblem,
                                 load_site_or_exit, warn_plugins)

SIGNAL_EXIT = {"SIGINT": 130, "SIGTERM": 143}


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
                     default=Path("ocscheck.toml"), show_default=True, envvar="OCSCHECK_CONFIG",
                     help="Site file (TOML); also from OCSCHECK_CONFIG."),
        click.option("--example", type=click.Choice(["tutorial", "failing"]), is_flag=False, flag_value="tutorial",
                     default=None, metavar="[tutorial|failing]",
                     help="Judge a bundled example, recorded from the lab: no network needed. tutorial (the "
                          "default): the tutorial's deployment, all green; failing: the same with the mistakes "
                          "people meet, to see what a failure and its fix look like."),
        click.option("--only", multiple=True, metavar="PATTERN", help="Run only these check ids or globs (dns.*)."),
        click.option("--skip", multiple=True, metavar="PATTERN", help="Skip these check ids or globs."),
        click.option("--report", "reports", multiple=True, metavar="FORMAT:PATH",
                     help="Also write a report: text, json, junit, junit-jenkins, html or markdown (repeatable); "
                          "PATH - is standard output (the table then goes to standard error)."),
        click.option("--fail-on", type=click.Choice(["fail", "warn", "skip"]), default="fail", show_default=True,
                     help="Lowest status that makes the run fail (exit 1): warn also fails on warnings, skip on "
                          "warnings and skips (strict CI)."),
        click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path), metavar="PREVIOUS.json",
                     help="A JSON report of an earlier run: every report says first what changed since."),
        click.option("--timeout", type=click.FloatRange(0.1, 600), default=None,
                     help="Seconds for each network fact (default: the site's run.timeout); a check is "
                          "abandoned after three times that."),
        click.option("--record", type=click.Path(dir_okay=False, path_type=Path),
                     help="Save every fact of this run to a JSON file (no secrets; mode 0600)."),
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
        click.option("-q", "--quiet", is_flag=True, help="No terminal report."),
        click.option("-v", "--verbose", is_flag=True, help="Evidence, fixes and tracebacks in the reports."),
        click.option("--color", "color", type=click.Choice(["auto", "always", "never"]), default="auto",
                     show_default=True, help="Colour the terminal report; auto: on a terminal, unless NO_COLOR "
                                             "is set."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@click.command(epilog=EXIT_HELP)
@run_options
@click.pass_context
def preflight(ctx: click.Context, **options) -> None:
    """Is the environment ready to install OCS 2007 R2?"""
    sys.exit(_run(ctx, "preflight", **options))


@click.command(epilog=EXIT_HELP)
@run_options
@click.pass_context
def post(ctx: click.Context, **options) -> None:
    """Did the OCS 2007 R2 installation come up right?"""
    sys.exit(_run(ctx, "post", **options))


def _run(ctx: click.Context, phase: str, config: Path, example: Optional[str], only: Tuple[str, ...],
         skip: Tuple[str, ...], reports: Tuple[str, ...], fail_on: str, baseline: Optional[Path],
         timeout: Optional[float], record: Optional[Path], replay: Optional[Path], certificate: Optional[Path],
         dcdiag: Optional[Path], repadmin: Optional[Path], host_snapshot: Dict[str, Path], quiet: bool,
         verbose: bool, color: str) -> int:
    from ocscheck.api import (BaselineError, RecordingError, SelectionError, load_baseline, load_recording, run,
                              save_recording)
    from ocscheck.facts import Inputs
    from ocscheck.model import Interrupted
    from ocscheck.reports import write_reports

    # Everything a typo can get wrong is refused here, before a single check runs (exit 2).
    if example:
        given = [f"--{name}" if name != "config" else "-c/--config" for name in ("config", "record")
                 if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE]
        if given:
            raise UsageProblem(f"--example judges the bundled site and recording: it cannot be combined with "
                               f"{' or '.join(given)}")
        folder = EXAMPLE_DIR if example == "tutorial" else EXAMPLE_DIR / example
        config = folder / "site.toml"
        replay = replay or folder / f"{phase}.facts.json"
    site = load_site_or_exit(config)
    targets = _output_targets(reports, record)
    for path in (certificate, dcdiag, repadmin, baseline, *host_snapshot.values()):
        if path is not None and not path.is_file():
            raise UsageProblem(f"{path}: no such file")
    try:
        recorded = load_recording(replay) if replay is not None else None
        previous = load_baseline(baseline) if baseline is not None else None
    except (RecordingError, BaselineError) as exc:
        raise UsageProblem(str(exc)) from None

    interactive = recorded is None and sys.stdin.isatty()
    progress = _progress_printer() if sys.stderr.isatty() and not quiet else None
    inputs = Inputs(certificate=certificate, dcdiag=dcdiag, repadmin=repadmin, host_snapshots=host_snapshot)
    try:
        with _stop_on_signals():
            report = run(site, phase, only=only, skip=skip, timeout=timeout, replay=recorded, inputs=inputs,
                         prompt=_prompt if interactive else None, progress=progress, fail_on=fail_on,
                         site_label=_shown(config, example), replayed_from=_shown(replay, example) if replay else "",
                         baseline=previous,
                         baseline_label=str(baseline) if baseline else "")
            if progress:
                click.echo("\r\x1b[K", err=True, nl=False)
            warn_plugins()  # after the run, which loads the checks only once its WinRM dials are out
            problems = write_reports(report, targets, verbose, stdout=sys.stdout)
            if record is not None and recorded is None:
                try:
                    save_recording(report.recording, record, phase)
                except OSError as exc:
                    problems.append(f"cannot write the recording to {record}: {exc.strerror or exc}")
    except SelectionError as exc:  # raised before any check ran: nothing to report
        warn_plugins()  # a plugin that did not load may be why
        raise UsageProblem(str(exc)) from None
    except Interrupted as stop:  # a second signal while the reports were being written
        click.echo(f"ocscheck: interrupted ({stop.signal_name}) while writing the reports", err=True)
        return stop.exit_code
    if not quiet:
        # Imported only here: with -q the table (and tabulate) is not loaded at all.
        from ocscheck.reports.text import render as render_text
        from ocscheck.reports.text import terminal_width, use_colour

        # A report on standard output pushes the terminal table to standard error.
        to_stderr = any(t.path is None for t in targets)
        colour = use_colour(color, isatty=(sys.stderr if to_stderr else sys.stdout).isatty())
        click.echo(render_text(report, verbose, colour=colour, width=terminal_width()), nl=False, color=colour,
                   err=to_stderr)
    for problem in problems:
        click.echo(f"ocscheck: error: {problem}", err=True)
    return _exit_code(report, problems)


def _shown(path: Path, example: Optional[str]) -> str:
    """How reports name a file: the bundled example's by its place in the package, not by where the package
    happens to be installed (a long site-packages path says nothing to the reader)."""
    if example and Path(path).resolve().is_relative_to(EXAMPLE_DIR):
        return f"<bundled example>/{Path(path).resolve().relative_to(EXAMPLE_DIR)}"
    return str(path)


def _prompt(what: str) -> Optional[str]:
    """Ask for a secret on the terminal; an empty answer leaves it missing (its checks are errors)."""
    return click.prompt(what, hide_input=True, err=True, default="", show_default=False) or None


def _output_targets(reports: Sequence[str], record: Optional[Path]) -> List:
    """The --report targets, refused before anything runs when two outputs share a path, more than one
    goes to standard output, a directory is missing, or a path is a directory (ocscheck.atomic)."""
    from ocscheck.atomic import output_problem
    from ocscheck.reports import ReportTarget

    try:
        targets = [ReportTarget.parse(spec) for spec in reports]
    except ValueError as exc:
        raise UsageProblem(f"--report: {exc}") from None
    if sum(t.path is None for t in targets) > 1:
        raise UsageProblem("--report: only one report can go to standard output (-)")
    outputs = [(f"--report {t.format}", t.path) for t in targets if t.path is not None]
    outputs += [("--record", record)] if record is not None else []
    seen: Dict[str, str] = {}
    for option, path in outputs:
        problem = output_problem(path)
        if problem:
            raise UsageProblem(f"{option}: {problem}")
        real = os.path.realpath(path)
        if real in seen and not Path(real).is_char_device():  # two reports to /dev/null are fine
            raise UsageProblem(f"{option} and {seen[real]} both write {path}")
        seen[real] = option
    return targets


def _exit_code(report, problems: Sequence[str]) -> int:
    if report.interrupted:
        click.echo(f"ocscheck: interrupted ({report.interrupted}): the checks still running are reported as "
                   "errors", err=True)
        return SIGNAL_EXIT.get(report.interrupted, 130)
    if problems:
        return EXIT_USAGE
    if any(report.is_failure(o) for o in report.outcomes):
        return EXIT_FAIL
    counts = report.counts()
    if counts["error"]:
        return EXIT_ERROR
    if not (counts["pass"] or counts["warn"] or counts["fail"]):
        click.echo("ocscheck: nothing was checked: every selected check was skipped (the reasons are in the "
                   "report; `ocscheck list -c FILE` says what each check needs)", err=True)
        return EXIT_ERROR
    return EXIT_OK


@contextlib.contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Ctrl-C and SIGTERM end the run cleanly: the runner reports the unfinished checks as errors and the
    reports are still written (a temporary file is removed by the writer's own cleanup)."""
    from ocscheck.model import Interrupted

    def stop(signum, frame):
        name = signal.Signals(signum).name
        raise Interrupted(name, SIGNAL_EXIT.get(name, 130))

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _progress_printer():
    width = max(40, terminal_width_or(80))

    def show(outcome, done: int, total: int, running: Sequence[str]) -> None:
        line = f"[{done}/{total}] " + (f"running: {', '.join(running)}" if running else f"{outcome.id} done")
        click.echo(f"\r\x1b[K{line[:width - 1]}", err=True, nl=False)

    return show


def terminal_width_or(default: int) -> int:
    from ocscheck.reports.text import terminal_width

    return terminal_width() or default
