"""A/B on a shared, noisy machine: run a benchmark alternately in two checkouts, back to back.

Absolute figures here move 2x (median) and 10x (p99) with the other work on the host, so a
before/after is only worth something within one stretch of time: this runs ``A B A B ...``
with the same arguments, prints every run's output with the load average around it, so that
the two sides share whatever the machine was doing.

    uv run python benchmarks/ab.py --a /tmp/base --rounds 2 -- tick_to_order.py --seconds 20

``--a`` is a checkout of the "before" (e.g. ``git archive <commit> | tar -x -C /tmp/base``);
``--b`` defaults to this checkout. Both run with this interpreter (the same dependencies).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    """Run the rounds and print what each printed."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--a", type=Path, required=True, help="checkout of the 'before'")
    ap.add_argument("--b", type=Path, default=HERE, help="checkout of the 'after'")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("bench", nargs=argparse.REMAINDER,
                    help="-- script (under benchmarks/) and its arguments")
    args = ap.parse_args()
    bench = [a for a in args.bench if a != "--"]
    if not bench:
        ap.error("name the benchmark after --")
    for n in range(args.rounds):
        for side, root in (("A", args.a), ("B", args.b)):
            before = _load()
            out = subprocess.run(
                [sys.executable, str(root / "benchmarks" / bench[0]), *bench[1:]],
                cwd=root, capture_output=True, text=True, check=False,
            )
            print(f"=== round {n + 1} {side} ({root}) load {before} -> {_load()}")
            print(out.stdout.rstrip() or out.stderr[-2000:])
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
