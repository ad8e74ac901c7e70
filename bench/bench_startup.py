"""Start-up and replay (issue 11, B3): `ocscheck --help`, `python -c "import click"`, `post --example -q`.

    .venv/bin/python bench/bench_startup.py [--runs 7] [--code DIR]

Median wall times of each, in one run, with the byte code cached as a user's install has it (this
environment sets PYTHONDONTWRITEBYTECODE: unset here, cache kept outside the tree), the ratio of the
replay to --help, and, from `python -X importtime`, the slowest top-level imports of the replay and
which network clients it loaded. --code DIR runs the package from another tree (before/after).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.lab import bench_env, code_env  # noqa: E402
from bench.timing import timed  # noqa: E402

CLIENTS = ("ldap3", "requests", "urllib3", "dns", "OpenSSL", "winrm", "jinja2", "tabulate", "cryptography")


def timed_env(argv: List[str], runs: int, env: Dict[str, str], cwd: Optional[Path]) -> float:
    saved, saved_cwd = dict(os.environ), os.getcwd()
    os.environ.clear()
    os.environ.update(env)
    try:
        if cwd:
            os.chdir(cwd)
        return timed(argv, runs)
    finally:
        os.environ.clear()
        os.environ.update(saved)
        os.chdir(saved_cwd)


def import_profile(argv: List[str], env: Dict[str, str], cwd: Optional[Path]) -> tuple:
    """(top-level imports by cumulative µs, network clients loaded) of one run."""
    err = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], env=env, cwd=cwd, capture_output=True,
                         text=True).stderr
    top, loaded = [], set()
    for line in err.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if not match:
            continue
        name, depth = match.group(4), len(match.group(3))
        loaded.add(name.split(".")[0])
        if depth <= 1:
            top.append((int(match.group(2)), name))
    return sorted(top, reverse=True), [c for c in CLIENTS if c in loaded]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--code", type=Path, help="run the package from this tree instead of the installed one")
    args = parser.parse_args()
    py = sys.executable
    with tempfile.TemporaryDirectory(prefix="ocscheck-bench-startup-") as tmp:
        env, cwd = bench_env(dict(os.environ), Path(tmp) / "pycache"), None
        if args.code:
            env, cwd = code_env(env, args.code.resolve()), args.code.resolve()
        replay = [py, "-m", "ocscheck", "post", "--example", "-q"]
        timed_env(replay, 1, env, cwd)  # fill the byte-code cache
        click = timed_env([py, "-c", "import click"], args.runs, env, cwd)
        helps = timed_env([py, "-m", "ocscheck", "--help"], args.runs, env, cwd)
        post = timed_env(replay, args.runs, env, cwd)
        top, clients = import_profile(replay, env, cwd)
    print(f"median of {args.runs} runs each, same run{' (code: ' + str(args.code) + ')' if args.code else ''}")
    print(f'python -c "import click"            {click * 1000:7.1f} ms')
    print(f"ocscheck --help                      {helps * 1000:7.1f} ms")
    print(f"ocscheck post --example -q           {post * 1000:7.1f} ms  ({post / helps:.1f}x --help)")
    print(f"network/report clients the replay imports: {', '.join(clients) or 'none'}")
    print("slowest top-level imports of the replay (cumulative):")
    for micros, name in top[:8]:
        print(f"  {micros / 1000:7.1f} ms  {name}")


if __name__ == "__main__":
    main()
