"""Print each Windows parser's time on adversarial inputs of growing size (figures only, no asserts).

    python bench/parsers_adversarial.py [MAX_BYTES]

The inputs are the shapes that made the old regular expressions backtrack (long runs of spaces, a
repeated ",state:", long runs of dots) plus generic ones (one huge line, many short lines).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.adversarial import ADVERSARIAL, PARSERS  # noqa: E402


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    worst = (0.0, "")
    for parser_name, parse in PARSERS.items():
        for shape, make in ADVERSARIAL.items():
            text = make(size)
            started = time.perf_counter()
            parse(text)
            took = time.perf_counter() - started
            print(f"{parser_name:10} {shape:18} {len(text):>9} chars {took:8.3f} s", flush=True)
            worst = max(worst, (took, f"{parser_name}/{shape}"))
    print(f"worst: {worst[1]} {worst[0]:.3f} s")


if __name__ == "__main__":
    main()
