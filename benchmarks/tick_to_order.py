"""Tick to order: a feed event -> the order accepted at the paper venue, across the processes.

The orchestrator stamps each ``PriceTick`` with the wall clock at the start of its iteration
(``ts``); the strategy (EveryN, one order per bar) answers that bar, the intent crosses to
execution over ZeroMQ, passes the gate, is written (PENDING_SUBMIT, committed), is checked
against the halts store, and then inserted into the paper venue's own SQLite file (in the same
call into execution's actor thread; the acknowledgement follows),
whose ``accepted_at`` is the venue's wall clock. Same host, same clock: the difference is the
whole path, with its three SQLite commits (orchestrator loop state, execution's order, the
venue's book; each store's ``synchronous`` as the embedded config has it unless ``--sync``).

Pairs are joined after the run: ``PriceTick`` from the bus (iteration -> ts; the journal leaves
ticks out), execution's orders (intent ``orchestrator-<iteration>-<k>`` -> client order id), the
venue's book (client order id -> accepted_at).

    uv run python benchmarks/tick_to_order.py --seconds 30
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

import zmq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors import wire
from actors._runtime import endpoints
from actors._runtime.store import connect_readonly
from actors.execution.messages import OrderAccepted, PriceTick
from benchmarks.restart import pct
from benchmarks.stalls import StallProbe, report
from tests.support.tree import TreeRun
from tests.support.venue import execution_orders

CONFIG = """
[execution]
broker = "paper"
paper_latency_s = {latency}
[orchestrator]
interval_s = {interval}
strategy = "actors.orchestrator.examples:EveryN"
[orchestrator.strategy_params]
every = 1
[orchestrator.feed]
instruments = ["BTC-USD"]
{runtime}"""

SYNC = """[runtime]
sqlite_synchronous = "{sync}"
[runtime.sqlite_synchronous_by_actor]
orchestrator = "{sync}"
execution = "{sync}"
"""


def _venue(state_dir: Path) -> dict[str, float]:
    con = connect_readonly(state_dir / "paper-venue.sqlite")
    try:
        return {str(c): float(a) for c, a in con.execute(
            "SELECT client_order_id, accepted_at FROM orders")}
    finally:
        con.close()


def measure(
    seconds: float, interval: float, sync: str, latency: float = 0.05,
    windows: list[tuple[int, int]] | None = None, extra: str = "",
) -> dict[str, list[float]]:
    """Run a paper tree for ``seconds``; latencies in ms per stage of the path. ``windows``
    gets each order's tick -> accepted span on the monotonic clock (ns), in the same order.
    ``extra``: more config (TOML tables) for the tree."""
    wall_minus_mono = time.time() - time.monotonic()
    with tempfile.TemporaryDirectory(prefix="qft") as tmp:
        runtime = SYNC.format(sync=sync) if sync else ""
        tree = TreeRun(Path(tmp), CONFIG.format(interval=interval, runtime=runtime,
                                                latency=latency) + extra)
        ctx = zmq.Context()
        ticks: dict[int, float] = {}
        published: dict[int, float] = {}
        written: dict[str, float] = {}
        try:
            tree.wait_started()
            sub = ctx.socket(zmq.SUB)
            sub.setsockopt(zmq.SUBSCRIBE, b"PriceTick.")
            sub.setsockopt(zmq.SUBSCRIBE, b"OrderAccepted.")
            sub.connect(endpoints.bus_out(tree.run_dir))
            codec = wire.codec()
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                if sub.poll(100):
                    env = codec.decode(sub.recv_multipart()[-1])
                    msg = env.payload
                    if isinstance(msg, PriceTick):
                        ticks[msg.iteration] = msg.ts
                        published[msg.iteration] = env.sent_at
                    elif isinstance(msg, OrderAccepted):
                        written[msg.client_order_id] = env.sent_at
            sub.close(linger=0)
        finally:
            ctx.term()
            tree.stop()
        venue = _venue(tree.state_dir)
        _, orders = execution_orders(tree.state_dir)
    out: dict[str, list[float]] = {k: [] for k in STAGES}
    for order in orders:
        iteration = int(order.intent_id.split("-")[1])
        coid = order.client_order_id
        if iteration in ticks and coid in venue and coid in written:
            t0, t1, t2, t3 = ticks[iteration], published[iteration], written[coid], venue[coid]
            out[STAGES[0]].append((t3 - t0) * 1000)
            out[STAGES[1]].append((t1 - t0) * 1000)
            out[STAGES[2]].append((t3 - t1) * 1000)
            out[STAGES[3]].append((t2 - t3) * 1000)
            if windows is not None:
                windows.append((int((t0 - wall_minus_mono) * 1e9),
                                int((t3 - wall_minus_mono) * 1e9)))
    return out


STAGES = (
    "tick -> order accepted at the venue",
    "  tick -> intent sent (orchestrator commit)",
    "  intent sent -> accepted at the venue (execution)",
    "  (after: venue accepted -> OrderAccepted on the bus)",
)


def _line(name: str, values: list[float]) -> str:
    return (f"{name:<46}{statistics.median(values):>10.2f}{pct(values, 90):>10.2f}"
            f"{pct(values, 99):>10.2f}{max(values):>10.2f}")


def main() -> int:
    """Run and print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--interval", type=float, default=0.02, help="loop interval_s")
    ap.add_argument("--sync", default="",
                    help="sqlite synchronous for every state file (default: the embedded "
                         "config's choice per actor)")
    ap.add_argument("--latency", type=float, default=0.05,
                    help="paper_latency_s (3600: orders rest, no fill work on the path)")
    ap.add_argument("--stalls", action="store_true",
                    help="run benchmarks/stalls.py alongside; split the figures by machine stall")
    args = ap.parse_args()
    windows: list[tuple[int, int]] = []
    probe = StallProbe() if args.stalls else contextlib.nullcontext()
    with probe:
        stages = measure(args.seconds, args.interval, args.sync, args.latency, windows)
    lat = stages[STAGES[0]]
    if not lat:
        print("no orders reached the venue")
        return 1
    print(f"{len(lat)} orders, loop every {args.interval * 1000:.0f} ms, "
          f"sqlite synchronous={args.sync or 'per config/default.toml'}, "
          f"paper_latency_s={args.latency}")
    print(f"{'stage':<46}{'median ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, values in stages.items():
        print(_line(name, values))
    if isinstance(probe, StallProbe):
        print("\n".join(report(probe, "tick -> accepted", windows, lat, _line, over_ms=5)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
