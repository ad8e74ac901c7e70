"""Every parser is linear in its input: adversarial inputs up to 1 MB, time growing at most ~15x per 10x.

Times are the thread's CPU time (other processes on a shared CI runner do not count), best of a few
runs, with small absolute floors so that microsecond-scale figures do not decide. A super-linear parser
fails early: a 1 KB input must already parse within a budget a linear parser meets by 100 times, and
each size is only tried after the smaller one scaled linearly (the old netsh pattern took 40 s on 5 KB).
"""
from __future__ import annotations

import gc
import time

import pytest

from ocscheck.config.loader import _Locator
from tests.adversarial import ADVERSARIAL, PARSERS

SIZES = (1_000, 10_000, 100_000, 1_000_000)
GROWTH = 15.0            # 10x the input may cost at most 15x the time ...
FLOOR_S = 0.002          # ... of at least this much (timer granularity, cache effects) ...
SLACK_S = 0.05           # ... plus this (a scheduler hiccup or a GC pass)
FIRST_BUDGET_S = 0.05    # 1 KB: linear parsers take ~0.5 ms


def cpu_time(parse, text: str, runs: int) -> float:
    best = float("inf")
    # No gc.collect() here: in a process holding the whole suite's objects each one costs ~40 ms, which
    # added up to most of this file's time; disabling the collector keeps its pauses out of the figures.
    gc.disable()
    try:
        for _ in range(runs):
            started = time.thread_time()
            parse(text)
            best = min(best, time.thread_time() - started)
    finally:
        gc.enable()
    return best


def assert_linear(parse, make) -> None:
    previous = None
    for size in SIZES:
        text = make(size)
        took = cpu_time(parse, text, runs=3 if size < 1_000_000 else 1)
        if previous is None:
            assert took < FIRST_BUDGET_S, f"{len(text)} chars took {took:.3f} s"
        else:
            bound = GROWTH * max(previous, FLOOR_S) + SLACK_S
            if took > bound:  # measure both once more before calling it super-linear
                previous = cpu_time(parse, make(size // 10), runs=3)
                took = cpu_time(parse, text, runs=2)
                bound = GROWTH * max(previous, FLOOR_S) + SLACK_S
            assert took <= bound, f"{size // 10} -> {size} chars: {previous:.4f} s -> {took:.4f} s (bound {bound:.3f})"
        previous = took


@pytest.mark.parametrize("parser", sorted(PARSERS))
def test_parser_is_linear_on_adversarial_inputs(parser):
    for shape, make in ADVERSARIAL.items():
        try:
            assert_linear(PARSERS[parser], make)
        except AssertionError as exc:
            raise AssertionError(f"{parser} on {shape!r}: {exc}") from None


def test_site_file_line_locator_is_linear():
    for shape in ("spaces", "spaces-x", "site-header", "equals", "colons"):
        assert_linear(_Locator, ADVERSARIAL[shape])
