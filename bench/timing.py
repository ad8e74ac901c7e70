"""Shared by the bench scripts: the median wall time of a command."""
from __future__ import annotations

import statistics
import subprocess
import time
from typing import Sequence


def timed(argv: Sequence[str], runs: int) -> float:
    """Median wall time in seconds of ``runs`` runs of ``argv`` (output discarded)."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)
