"""What the start check (``supervisor.state_check``) costs as execution's history grows.

A state directory left by a real tree (``quantfund up --duration 3``, the embedded default),
whose execution file is then replaced by one holding ``--orders`` final orders (the layout this
version writes, as ``start_history.py`` builds it). Timed over ``--runs`` checks: the start's
check (``quick_check`` per store, the halts store against the journal) and the offline
``quantfund state check`` (``integrity_check`` and every value decoded). The start check runs
once per supervisor start, before any child.

    uv run python benchmarks/state_check.py --orders 100000 --runs 20
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.start_history import _write
from supervisor import state_check

STORES = ["journal", "alerter", "heartbeat", "breaker", "execution", "orchestrator"]


def _tree_dir(root: Path) -> Path:
    """Run the default tree for 3 s; its state directory."""
    state = root / "state"
    subprocess.run(
        [sys.executable, "-m", "supervisor.cli", "up", "--duration", "3", "--state-dir",
         str(state), "--run-dir", str(root / "run")],
        cwd=Path(__file__).resolve().parents[1], capture_output=True, timeout=120, check=True)
    return state


def _p99(xs: list[float]) -> float:
    return sorted(xs)[min(len(xs) - 1, int(len(xs) * 0.99))]


def main() -> int:
    """Build the directory, time both checks, print median and p99."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="qfsc") as tmp:
        state = _tree_dir(Path(tmp))
        for side in ("", "-wal", "-shm"):
            (state / f"execution.sqlite{side}").unlink(missing_ok=True)
        asyncio.run(_write(state / "execution.sqlite", args.orders, cold=True))
        size = (state / "execution.sqlite").stat().st_size / 1e6
        print(f"state check with {args.orders:,} final orders in execution.sqlite "
              f"({size:.1f} MB), {args.runs} runs each")
        print(f"{'check':<40}{'median ms':>10}{'p99 ms':>10}")
        for label, full in (("at start (quick_check)", False),
                            ("quantfund state check (integrity, rows)", True)):
            times = []
            for _ in range(args.runs):
                t = time.perf_counter()
                report = state_check.check(state, STORES, full=full)
                times.append((time.perf_counter() - t) * 1000)
                assert report.ok, report
            print(f"{label:<40}{statistics.median(times):>10.1f}{_p99(times):>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
