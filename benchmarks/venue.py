"""Real venues against the local exchange (tests/support/exchange): quote -> order, halt -> last
cancel acknowledged, and the tree's CPU by the number of symbols streamed.

Every headline figure is from a whole tree (``quantfund up``: ``feed.kind = "venue"``,
``broker = "venue"`` or ``"shadow"``, unmodified ccxt over loopback) and the exchange's own
stamps (``GET /_control/stamps``: ``time.time()`` when it sent a ticker, received an order,
received and answered a cancel; the tree's bus stamps are on the same host's clock). Each part
then measures the same against the same exchange without the tree, in this process: bare ccxt
(``make_exchange``), ``VenueBroker.cancel_all``, ``VenueFeed``; that is ccxt's (and the
stand-in's) share, the rest is ours. Parts: ``venue_quote``, ``venue_halt``, ``venue_cpu``.

    uv run python -m benchmarks.venue                       # all three, ~4 minutes
    uv run python -m benchmarks.venue --only quote --quotes 1000 --interval 0.002
    uv run python -m benchmarks.venue --only halt --halts 500
    uv run python -m benchmarks.venue --only cpu --symbols 50 --symbols 100 --seconds 60
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.venue_cpu import run_cpu
from benchmarks.venue_halt import run_halt
from benchmarks.venue_quote import run_quote

PARTS = ("quote", "halt", "cpu")


def main() -> int:
    """Run the parts asked for and print their figures."""
    ap = argparse.ArgumentParser(prog="python -m benchmarks.venue")
    ap.add_argument("--only", choices=PARTS, action="append",
                    help="run only this part (repeatable); default: all")
    ap.add_argument("--quotes", type=int, default=300, help="quotes timed to an order")
    ap.add_argument("--interval", type=float, action="append",
                    help="orchestrator interval_s for the quote part (repeatable; "
                         "default 0.005 and the embedded default 0.1)")
    ap.add_argument("--bare", type=int, default=300, help="bare ccxt calls timed apart")
    ap.add_argument("--halts", type=int, default=60, help="halts timed (and direct cancels)")
    ap.add_argument("--resting", type=int, default=20, help="orders resting at each halt")
    ap.add_argument("--symbols", type=int, action="append",
                    help="symbols streamed in the CPU part (repeatable; default 1, 10, 50)")
    ap.add_argument("--seconds", type=float, default=10.0, help="CPU window per symbol count")
    ap.add_argument("--tick-ms", type=int, default=50, help="exchange update period per symbol")
    ap.add_argument("--exchange-sync", default="OFF",
                    help="the local exchange's SQLite synchronous (FULL: an fsync per answer, "
                         "the stand-in's own cost, on the halt path)")
    args = ap.parse_args()
    parts = args.only or list(PARTS)
    sync = ["--synchronous", args.exchange_sync]
    started = time.monotonic()
    print(f"load average {os.getloadavg()[0]:.1f}; the local exchange's SQLite synchronous="
          f"{args.exchange_sync}")
    with tempfile.TemporaryDirectory(prefix="qfv") as tmp_s:
        tmp = Path(tmp_s)
        if "quote" in parts:
            for i, interval in enumerate(args.interval or [0.005, 0.1]):
                run_quote(tmp / f"quote{i}", sync, quotes=args.quotes, interval=interval,
                          bare=args.bare if i == 0 else 0)
            for interval in args.interval or [0.1]:  # the embedded default pace, woken
                run_quote(tmp / f"quote-wake{interval}", sync, quotes=args.quotes,
                          interval=interval, bare=0, wake=True)
        if "halt" in parts:
            run_halt(tmp / "halt", sync, halts=args.halts, resting=args.resting)
        if "cpu" in parts:
            for n in args.symbols or [1, 10, 50]:
                run_cpu(tmp / f"cpu{n}", sync, symbols=n, seconds=args.seconds,
                        tick_ms=args.tick_ms)
    print(f"\n{time.monotonic() - started:.0f} s; load average {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
