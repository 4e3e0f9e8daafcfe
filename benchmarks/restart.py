"""Restart latency: SIGKILL of an actor -> its replacement's Ready (state loaded), per actor.

Runs the default tree (six actors) in a subprocess with restart backoff disabled, kills each
actor N times, and takes the latency from the kill (this process's clock) to the supervisor's
``child_started`` log line for the replacement (same host, same wall clock).

    uv run python benchmarks/restart.py --kills 100
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.tree import TreeRun

CONFIG = """
[supervisor]
intensity = 1000000
period_s = 1.0
backoff_reset_s = 0.0
"""
SIX = ["journal", "alerter", "heartbeat", "breaker", "execution", "orchestrator"]


def _ts(line: dict) -> float:
    return dt.datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00")).timestamp()


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, round(q / 100 * len(s) + 0.5) - 1))]


def row(name: str, values: list[float], width: int = 44, digits: int = 2) -> str:
    """One line of a figures table: name, median, p99, max."""
    return (f"{name:<{width}}{statistics.median(values):>10.{digits}f}"
            f"{pct(values, 99):>10.{digits}f}{max(values):>10.{digits}f}")


def main() -> int:
    """Run the benchmark and print a table."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=100, help="kills per actor")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="qfb") as tmp:
        tree = TreeRun(Path(tmp), CONFIG)
        try:
            tree.wait_started()
            time.sleep(1.0)
            results: dict[str, list[float]] = {n: [] for n in SIX}
            for _ in range(args.kills):
                for name in SIX:
                    pid = tree.child_pid(name)
                    mark = tree.mark()
                    t_kill = time.time()
                    os.kill(pid, signal.SIGKILL)
                    line = tree.wait_for("child_started", lambda ln, n=name: ln["child"] == n,
                                         after=mark)
                    results[name].append((_ts(line) - t_kill) * 1000)
                    time.sleep(0.02)
        finally:
            tree.stop()
    print(f"SIGKILL -> replacement Ready (state loaded), {args.kills} kills per actor, "
          f"{os.cpu_count()} CPUs")
    print(f"{'actor':<14}{'median ms':>10}{'p99 ms':>10}{'max ms':>10}")
    everything: list[float] = []
    for name, values in results.items():
        everything += values
        print(f"{name:<14}{statistics.median(values):>10.1f}{pct(values, 99):>10.1f}"
              f"{max(values):>10.1f}")
    print(f"{'all':<14}{statistics.median(everything):>10.1f}{pct(everything, 99):>10.1f}"
          f"{max(everything):>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
