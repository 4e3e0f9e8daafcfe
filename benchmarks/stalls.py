"""Stalls of the machine itself: how often, and for how long, nothing of ours could have run.

A probe process per CPU, pinned to it, at real-time priority (SCHED_FIFO: it preempts every
ordinary task, ours included) sleeps 1 ms at a time and records each wake-up that came at least
``--threshold-ms`` late. What delays it is not our processes, which it preempts, but the
machine: the hypervisor running something else on our virtual CPU (steal), interrupts, the
kernel. A latency window (a halt, an order) that overlaps such a stall cannot be shorter than
the stall, whatever our code does. Two caveats: the kernel here is built without preemption
(PREEMPT_NONE), so a long system call of ours on that CPU delays the probe too; and without the
right to real-time priority the probe runs at normal priority, says so, and then counts every
delay that our own processes cause as well.

    uv run python benchmarks/stalls.py --seconds 30   # the machine alone, nothing else running

``kill_switch.py --stalls`` and ``tick_to_order.py --stalls`` run it alongside and split their
figures into the windows that overlapped a stall and those that did not.
"""

from __future__ import annotations

import argparse
import bisect
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

_PERIOD_NS = 1_000_000
_RT_PRIORITY = 50


def _realtime() -> bool:
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(_RT_PRIORITY))
    except (PermissionError, OSError):
        return False
    return True


def _probe(out: Path, threshold_ms: float, cpu: int) -> None:
    """Sleep-and-measure on ``cpu`` until killed; append each late wake-up as
    ``start_ns end_ns``."""
    os.sched_setaffinity(0, {cpu})
    rt = _realtime()
    threshold_ns = int(threshold_ms * 1e6)
    with out.open("w") as f:
        f.write(f"# realtime {int(rt)}\n")
        f.flush()
        while True:
            t = time.monotonic_ns()
            time.sleep(_PERIOD_NS / 1e9)
            now = time.monotonic_ns()
            if now - t - _PERIOD_NS >= threshold_ns:
                f.write(f"{t + _PERIOD_NS} {now}\n")
                f.flush()


class StallProbe:
    """Runs the probe in its own process for the duration of a ``with`` block."""

    def __init__(self, threshold_ms: float = 2.0) -> None:
        """Stalls of at least ``threshold_ms`` are recorded."""
        self.threshold_ms = threshold_ms
        self.stalls: list[tuple[int, int]] = []
        self.realtime = False
        self._tmp = tempfile.TemporaryDirectory(prefix="qf-stalls")
        self._cpus = sorted(os.sched_getaffinity(0))
        self._outs = [Path(self._tmp.name) / f"cpu{c}.txt" for c in self._cpus]
        self._procs: list[subprocess.Popen[bytes]] = []

    def __enter__(self) -> StallProbe:
        """Start the probes; return once they run."""
        for cpu, out in zip(self._cpus, self._outs, strict=True):
            self._procs.append(subprocess.Popen(
                [sys.executable, __file__, "--probe", str(out), "--cpu", str(cpu),
                 "--threshold-ms", str(self.threshold_ms)],
            ))
        deadline = time.monotonic() + 10
        for proc, out in zip(self._procs, self._outs, strict=True):
            while not (out.exists() and out.read_text().startswith("# realtime")):
                if time.monotonic() > deadline or proc.poll() is not None:
                    self._stop()
                    raise RuntimeError("the stall probe did not start")
                time.sleep(0.01)
        return self

    def _stop(self) -> None:
        for proc in self._procs:
            proc.kill()
            proc.wait(timeout=10)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the probes and read what they recorded."""
        self._stop()
        self.realtime = True
        for out in self._outs:
            lines = out.read_text().splitlines()
            self.realtime &= lines[0].strip() == "# realtime 1"
            self.stalls += [(int(a), int(b)) for a, b in (ln.split() for ln in lines[1:] if ln)]
        self.stalls.sort()
        self._tmp.cleanup()

    def overlap_ms(self, start_ns: int, end_ns: int) -> float:
        """The longest recorded stall that overlaps ``[start_ns, end_ns]`` (0.0 if none)."""
        i = bisect.bisect_left(self.stalls, (start_ns - 10**9, 0))
        longest = 0
        for a, b in self.stalls[i:]:
            if a > end_ns:
                break
            if b >= start_ns:
                longest = max(longest, b - a)
        return longest / 1e6

    def describe(self) -> str:
        """One line: how the probe ran and what it saw."""
        how = "real-time priority" if self.realtime else "NORMAL priority (no right to SCHED_FIFO)"
        longest = max((b - a for a, b in self.stalls), default=0) / 1e6
        return (f"stalls >= {self.threshold_ms} ms seen by a probe on each of "
                f"{len(self._cpus)} CPUs at {how}: "
                f"{len(self.stalls)}, longest {longest:.1f} ms")


def report(
    probe: StallProbe, what: str, windows: list[tuple[int, int]], values: list[float],
    line: Callable[[str, list[float]], str], over_ms: float,
) -> list[str]:
    """Lines that split ``values`` (one per window, ms) by whether the window overlapped a
    stall; ``line`` formats one row of figures, as the benchmark's own table does."""
    clear, stalled = [], []
    for (a, b), v in zip(windows, values, strict=True):
        (stalled if probe.overlap_ms(a, b) else clear).append(v)
    out = [probe.describe(), f"{what}, by whether the window overlapped a machine stall "
           f"({len(stalled)} of {len(values)} did):"]
    out += [line(name, v) for name, v in (("  no stall", clear), ("  a stall", stalled)) if v]
    over = [w for w, v in zip(windows, values, strict=True) if v > over_ms]
    out.append(f"over {over_ms:g} ms: {len(over)}, of which overlapping a stall: "
               f"{sum(1 for w in over if probe.overlap_ms(*w))}")
    return out


def main() -> int:
    """Run the probe alone and print the machine's stall profile."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--threshold-ms", type=float, default=2.0)
    ap.add_argument("--probe", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--cpu", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.probe is not None:
        _probe(args.probe, args.threshold_ms, args.cpu)
        return 0
    with StallProbe(args.threshold_ms) as probe:
        time.sleep(args.seconds)
    lengths = sorted((b - a) / 1e6 for a, b in probe.stalls)
    print(probe.describe())
    print(f"over {args.seconds:.0f} s (load average {os.getloadavg()[0]:.2f}):")
    for ms in (2, 5, 10, 20):
        n = sum(1 for x in lengths if x >= ms)
        print(f"  stalls >= {ms:>2} ms, all CPUs: {n:>5}  ({n / args.seconds:.2f} per second)")
    stalled = sum(lengths) / 1e3 / len(probe._cpus)
    print(f"  time inside stalls, per CPU: {stalled:.3f} s ({100 * stalled / args.seconds:.2f} %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
