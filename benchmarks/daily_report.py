"""What building the daily report costs as a day's journal grows (the alerter's worker thread).

A journal day of ``--entries`` entries (half fills, half equity marks, the shape of a trading
day) is written with the real writer; then ``--runs`` times: the day file read with every hash
checked and folded into the report (``actors/journal/daily.py``), and the chart drawn
(``daily_chart.render_png``). This runs once a day, on a worker thread of the alerter, never on
the journal's writer path.

    uv run python benchmarks/daily_report.py --entries 100000 --runs 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.journal import daily
from actors.journal.daily_chart import render_png
from actors.journal.layout import day_path, list_days
from actors.journal.writer import FsyncPolicy, JournalWriter

START = 1_795_392_000.0
"""2026-11-23 00:00 UTC."""


def _write(root: Path, entries: int) -> str:
    spacing = 80_000.0 / entries
    with JournalWriter(root, fsync=FsyncPolicy.NONE) as journal:
        for i in range(entries):
            at = START + i * spacing
            if i % 2:
                journal.append("EquityUpdated", {
                    "sender": "execution", "msg_id": f"{i:032x}", "equity": 100_000.0 + i % 500,
                    "cash": 1.0, "realized_pnl": 0.0, "ts": at}, at=at)
            else:
                journal.append("OrderFilled", {
                    "sender": "execution", "msg_id": f"{i:032x}", "client_order_id": f"c{i}",
                    "instrument": "BTC/USDT", "side": "BUY", "quantity": 0.1, "price": 50_000.0,
                    "position_after": 0.1, "realized_pnl": 1.0}, at=at)
    return list_days(root)[0]


def main() -> int:
    """Write the day, time the report's two steps, print medians and the worst."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="qfdr") as tmp:
        root = Path(tmp)
        day = _write(root, args.entries)
        size = day_path(root, day).stat().st_size / 1e6
        build, chart = [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            report = daily.report_for(root, day)
            t1 = time.perf_counter()
            render_png(report)
            build.append(t1 - t0)
            chart.append(time.perf_counter() - t1)
        print(f"daily report over {args.entries:,} entries ({size:.1f} MB), {args.runs} runs")
        print(f"{'step':<44}{'median s':>10}{'max s':>10}")
        for name, xs in (("read (hashes checked) + fold", build), ("chart (PNG)", chart)):
            print(f"{name:<44}{statistics.median(xs):>10.3f}{max(xs):>10.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
