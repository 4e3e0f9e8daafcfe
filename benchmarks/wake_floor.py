"""The floor under a path of hops: what one wake-up costs here when the receiver was idle.

An order crosses three processes (orchestrator, execution, the venue's file) and, inside each,
the event loop and the pykka actor thread: about ten wake-ups of a thread that was asleep,
because between two orders (20 ms apart) everybody sleeps. This measures, in one run:

- a ZeroMQ round trip between two processes (PUSH/PULL each way, blocking sockets, 64 B),
  back to back (both stay hot: FLOORS.md's figure) and with an idle gap before each message;
- a hand-off to another thread in the same process and back (``queue.Queue`` each way, what
  pykka's mailbox and the loop's wake-up amount to), back to back and after a gap.

    uv run python benchmarks/wake_floor.py --n 2000 --gap-ms 20
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import queue
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import zmq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.restart import row


def _echo(there: str, back: str, n: int) -> None:
    ctx = zmq.Context()
    pull, push = ctx.socket(zmq.PULL), ctx.socket(zmq.PUSH)
    pull.bind(there)
    push.connect(back)
    for _ in range(n):
        push.send(pull.recv())
    push.close(linger=1000)
    pull.close(linger=0)
    ctx.term()


def _timed(n: int, gap_s: float, once: Callable[[], None]) -> list[float]:
    """``n`` timings (µs) of ``once``, each after ``gap_s`` of idleness."""
    out = []
    for _ in range(n):
        if gap_s:
            time.sleep(gap_s)
        start = time.perf_counter_ns()
        once()
        out.append((time.perf_counter_ns() - start) / 1e3)
    return out


def processes(n: int, gap_s: float, run_dir: Path) -> list[float]:
    """Round trips (µs) to an echo process, ``gap_s`` of idleness before each."""
    there, back = f"ipc://{run_dir}/there", f"ipc://{run_dir}/back"
    ctx = zmq.Context()
    push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
    pull.bind(back)
    echo = mp.get_context("fork").Process(target=_echo, args=(there, back, n + 1))
    echo.start()
    try:
        push.connect(there)
        push.send(b"warm")
        assert pull.poll(5000), "the echo process did not answer"
        pull.recv()

        def once() -> None:
            push.send(b"x" * 64)
            assert pull.poll(5000), "the echo process did not answer"
            pull.recv()

        return _timed(n, gap_s, once)
    finally:
        echo.join(timeout=5)
        if echo.is_alive():
            echo.kill()
            echo.join(timeout=5)
        push.close(linger=0)
        pull.close(linger=0)
        ctx.term()


def threads(n: int, gap_s: float) -> list[float]:
    """Hand-offs (µs) to another thread and back, ``gap_s`` of idleness before each."""
    there: queue.Queue[int] = queue.Queue()
    back: queue.Queue[int] = queue.Queue()

    def worker() -> None:
        for _ in range(n):
            back.put(there.get())

    t = threading.Thread(target=worker, daemon=True)
    t.start()

    def once() -> None:
        there.put(0)
        back.get(timeout=5)

    out = _timed(n, gap_s, once)
    t.join(timeout=5)
    return out


def main() -> int:
    """Run and print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--gap-ms", type=float, default=20.0)
    args = ap.parse_args()
    gap = args.gap_ms / 1000
    with tempfile.TemporaryDirectory(prefix="qfw") as tmp:
        rows = [
            ("process round trip, back to back", processes(args.n, 0.0, Path(tmp))),
            (f"process round trip, after {args.gap_ms:g} ms idle",
             processes(args.n, gap, Path(tmp))),
            ("thread hand-off and back, back to back", threads(args.n, 0.0)),
            (f"thread hand-off and back, after {args.gap_ms:g} ms idle", threads(args.n, gap)),
        ]
    print(f"{'measure (' + str(args.n) + ' each)':<50}{'median us':>10}{'p99 us':>10}"
          f"{'max us':>10}")
    for name, values in rows:
        print(row(name, values, width=50, digits=0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
