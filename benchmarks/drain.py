"""Drain time under load: SIGTERM at a random moment of a trading paper tree -> supervisor exit 0.

Each trial starts a fresh paper tree (``tests/support/venue.py`` PAPER: EveryN sends an order per
instrument every 0.02 s) whose orders rest at the venue ``--latency`` seconds, lets it trade a
random 1-3 s, reads how many orders rest at the venue, sends SIGTERM to the supervisor and times
until it exits (status 0 required). The drain goes right to left: orchestrator, execution (which
cancels what rests, per its shutdown policy), breaker, heartbeat, alerter, journal. After the
exit the venue's book and execution's store must show no order still open.

    uv run python benchmarks/drain.py --trials 30
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors.execution.actor import FINAL
from benchmarks.restart import pct
from tests.support.tree import TreeRun
from tests.support.venue import PAPER, execution_orders, venue_counts

OPEN = "SUBMITTED"  # the venue's status of a resting order
ORDER = ["orchestrator", "execution", "breaker", "heartbeat", "alerter", "journal"]


def _ts(line: dict) -> float:
    return dt.datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00")).timestamp()


def trial(config: str, rng: random.Random) -> dict[str, Any]:
    """One tree, one SIGTERM; the figures of the trial."""
    with tempfile.TemporaryDirectory(prefix="qfd") as tmp:
        tree = TreeRun(Path(tmp), config)
        try:
            tree.wait_started()
            time.sleep(rng.uniform(1.0, 3.0))
            open_before = venue_counts(tree.state_dir).get(OPEN, 0)
            t_wall, t0 = time.time(), time.monotonic()
            tree.signal(signal.SIGTERM)
            code = tree.wait_exit(timeout=60)
            total = (time.monotonic() - t0) * 1000
            problems = [f"{ln.get('event')}: {ln.get('child', '')} {ln.get('reason', '')}"
                        for ln in tree.lines if ln.get("level") in ("error", "critical")]
            ended = {ln["child"]: _ts(ln) for ln in tree.events("child_terminated")}
            ended["supervisor_exit"] = _ts(tree.events("supervisor_exit")[-1])
            after = venue_counts(tree.state_dir)
            _book, orders = execution_orders(tree.state_dir)
        finally:
            tree.stop()
    return {
        **{n: (ended[n] - t_wall) * 1000 if n in ended else float("nan")
           for n in [*ORDER, "supervisor_exit"]},
        "total": total,
        "code": code,
        "problems": problems,
        "open_before": open_before,
        "open_after_venue": after.get(OPEN, 0),
        "open_after_execution": sum(1 for o in orders if o.status not in FINAL),
    }


def main() -> int:
    """Run the trials and print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=30)
    ap.add_argument("--latency", type=float, default=1.0, help="how long an order rests (s)")
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    config = PAPER.replace("paper_latency_s = 0.05", f"paper_latency_s = {args.latency}")
    rng = random.Random(args.seed)
    load = os.getloadavg()
    runs = [trial(config, rng) for _ in range(args.trials)]
    print(f"drain under load, {args.trials} trials, orders rest {args.latency:g} s; "
          f"{os.cpu_count()} CPUs, load average {load[0]:.2f} at the start, "
          f"{os.getloadavg()[0]:.2f} at the end")
    print(f"{'measure':<44}{'median':>9}{'p99':>9}{'max':>9}")
    rows = [(n, f"SIGTERM -> {n} exited (ms)") for n in ORDER]
    rows += [("supervisor_exit", "SIGTERM -> supervisor_exit logged (ms)"),
             ("total", "SIGTERM -> supervisor process exit 0 (ms)"),
             ("open_before", "orders resting at the venue at SIGTERM")]
    for key, label in rows:
        vals = [r[key] for r in runs if r[key] == r[key]]  # nan: not logged
        print(f"{label:<44}{statistics.median(vals):>9.1f}{pct(vals, 99):>9.1f}{max(vals):>9.1f}")
    failed = [r for r in runs if r["code"] != 0]
    print(f"exit status 0 in {len(runs) - len(failed)}/{len(runs)} trials")
    for r in failed:
        print(f"  exit {r['code']}: {'; '.join(r['problems']) or 'no error logged'}")
    print(f"orders still open after the exit: at the venue "
          f"{sum(r['open_after_venue'] for r in runs):g}, in execution's store "
          f"{sum(r['open_after_execution'] for r in runs):g} (all trials)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
