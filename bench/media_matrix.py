"""The whole media conformance matrix, end to end, as a table.

Run: ``.venv/bin/python bench/media_matrix.py [--only NAME ...]``. For every case of
:data:`xmem_tui.media.conformance.CASES` (tiny generated files) it runs what ``tests/e2e`` checks --
info, 5 random frames against a sequential decode, import, weight-free propagation of a few frames,
every export kind with its self-check -- and prints:

    case | frames | random access ms | export frames/s | self-check

``random access ms`` is the mean of the 5 random reads; ``export frames/s`` counts the frames of every
export of the case over their total time (self-checks included). ``pytest -m media_matrix`` runs the same
cases as tests.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/e2e/conformance.py runs each case

from tests.e2e.conformance import run_case
from xmem_tui.media.conformance import CASES


def main(only: list[str]) -> int:
    logging.basicConfig(level=logging.ERROR)
    cases = [c for c in CASES if not only or c.name in only]
    print("| case | frames | random access ms | export frames/s | self-check |")
    print("|---|---|---|---|---|")
    failed = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            result = run_case(case, Path(tmp) / case.name)
            verdict = "passed" if result.ok else "FAILED: " + "; ".join(result.problems)[:200]
            failed += not result.ok
            print(f"| {case.name} | {result.frames} | {result.random_ms:.1f} | {result.export_fps:.1f} | {verdict} |",
                  flush=True)
    print(f"\n{len(cases) - failed}/{len(cases)} cases passed in {time.perf_counter() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Run every media conformance case end to end; print a table.")
    parser.add_argument("--only", nargs="*", default=[], help="case names to run (default: all)")
    sys.exit(main(parser.parse_args().only))
