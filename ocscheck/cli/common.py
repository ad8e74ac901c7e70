"""What every command shares: exit codes, the usage error, reading the site file, plugin warnings."""
from __future__ import annotations

from pathlib import Path

import click

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_ERROR = 0, 1, 2, 3
EXIT_HELP = ("Exit codes: 0 nothing failed; 1 a check failed (or warned, with --fail-on warn; or skipped, with "
             "--fail-on skip); 2 usage or configuration error; 3 nothing failed but a check could not run (error), "
             "or nothing was checked; 130/143 interrupted (SIGINT/SIGTERM), reports still written.")
EXAMPLE_DIR = Path(__file__).resolve().parent.parent / "example"


class UsageProblem(click.ClickException):
    exit_code = EXIT_USAGE


def load_site_or_exit(path: Path):
    from ocscheck.config import ConfigError, load_site

    try:
        return load_site(path)
    except ConfigError as exc:
        raise UsageProblem(str(exc)) from None


def warn_plugins() -> None:
    """Say which plugins could not be loaded (the registry returns their reasons; the CLI shows them)."""
    from ocscheck.registry import load_all

    for warning in load_all().load_warnings:
        click.echo(f"ocscheck: warning: {warning}", err=True)
