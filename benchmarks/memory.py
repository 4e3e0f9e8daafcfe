"""Whole-tree resident memory: RSS, USS and PSS per process, after warm-up and after a while.

Runs ``quantfund up`` in a temporary directory, first the default tree (shadow), then a paper
tree trading constantly (``tests/support/venue.py`` PAPER), one after the other so that neither
shares pages with the other. Every process of the tree is measured: the supervisor, the zygote,
its warm spare and the six actors (psutil ``memory_full_info``). The actors share the zygote's
preloaded pages copy-on-write, so the sum of RSS counts those pages once per process; the sum of
PSS (each shared page divided among the processes mapping it) is the honest total. The shared
libraries are also mapped by other Python processes on the machine, which lowers PSS a little.

    uv run python benchmarks/memory.py --seconds 300
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.tree import TreeRun
from tests.support.venue import PAPER

MB = 1024 * 1024
Sample = dict[str, tuple[int, float, float, float]]  # label -> pid, rss, uss, pss (MB)


def sample(tree: TreeRun) -> Sample:
    """Memory of every process of the tree, labelled."""
    names = {a.pid: a.name for a in tree.status().actors if a.pid is not None}
    zygote = tree.wait_for("supervisor_started")["zygote_pid"]
    names[tree.pid] = "supervisor"
    names[zygote] = "zygote"
    out: Sample = {}
    root = psutil.Process(tree.pid)
    for proc in [root, *root.children(recursive=True)]:
        try:
            info = proc.memory_full_info()
        except psutil.NoSuchProcess:
            continue
        label = names.get(proc.pid, "spare (warm, idle)")
        if label in out:
            label = f"{label} {proc.pid}"
        out[label] = (proc.pid, info.rss / MB, info.uss / MB, info.pss / MB)
    return out


def totals(s: Sample) -> tuple[float, float, float]:
    """Sums of RSS, USS and PSS."""
    return (sum(v[1] for v in s.values()), sum(v[2] for v in s.values()),
            sum(v[3] for v in s.values()))


def measure(title: str, config: str, warmup: float, seconds: float) -> None:
    """Run one tree, sample after ``warmup`` and after ``seconds`` more, print the table."""
    with tempfile.TemporaryDirectory(prefix="qfm") as tmp:
        tree = TreeRun(Path(tmp), config)
        try:
            tree.wait_started()
            time.sleep(warmup)
            first = sample(tree)
            trend = [totals(first)[2]]
            end = time.monotonic() + seconds
            while end - time.monotonic() > 60.0:
                time.sleep(60.0)
                trend.append(totals(sample(tree))[2])
            time.sleep(max(0.0, end - time.monotonic()))
            last = sample(tree)
            restarts = sum(a.restarts for a in tree.status().actors)
        finally:
            tree.stop()
    print(f"\n{title}: after {warmup:g} s warm-up -> after {seconds:g} s more "
          f"(restarts meanwhile: {restarts}); MB")
    print(f"{'process':<22}{'RSS':>8}{'USS':>8}{'PSS':>8}   {'RSS':>8}{'USS':>8}{'PSS':>8}")
    for label, (_pid, rss, uss, pss) in first.items():
        _p, rss2, uss2, pss2 = last.get(label, (0, 0.0, 0.0, 0.0))
        print(f"{label:<22}{rss:>8.1f}{uss:>8.1f}{pss:>8.1f}   "
              f"{rss2:>8.1f}{uss2:>8.1f}{pss2:>8.1f}")
    (r1, u1, p1), (r2, u2, p2) = totals(first), totals(last)
    print(f"{'sum':<22}{r1:>8.1f}{u1:>8.1f}{p1:>8.1f}   {r2:>8.1f}{u2:>8.1f}{p2:>8.1f}")
    print("PSS sum every minute: " + ", ".join(f"{x:.1f}" for x in trend) + f", {p2:.1f}")


def main() -> int:
    """Measure both trees."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=300.0, help="running time after warm-up")
    ap.add_argument("--warmup", type=float, default=10.0)
    args = ap.parse_args()
    print(f"whole-tree memory; {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    measure("default tree (shadow)", "", args.warmup, args.seconds)
    measure("paper tree (EveryN every 0.02 s, orders fill after 0.05 s)", PAPER, args.warmup,
            args.seconds)
    print(f"load average at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
