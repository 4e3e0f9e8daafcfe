"""Kill-switch latency over many halts, on the paper venue with resting orders.

For each halt: (a) admin ``halt`` sent -> every actor has acknowledged HALTED (the supervisor's
``trading_state_acked`` line), and (b) halt sent -> the last resting order cancelled (the last
``OrderCancelled`` on the bus, stamped by execution's monotonic clock, which is system-wide), and
(c) halt sent -> the operator has the reply (sent once the halts store's row is fsynced).
Then ``resume`` and let orders rest again.

    uv run python benchmarks/kill_switch.py --halts 500
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import zmq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors import wire
from actors._runtime import endpoints
from actors.execution.messages import OrderCancelled
from benchmarks.restart import row
from benchmarks.stalls import StallProbe, report
from supervisor.admin_messages import (
    ENCODER,
    REPLY_DECODER,
    CommandReply,
    HaltRequest,
    ResumeRequest,
)
from tests.support.tree import TreeRun

CONFIG = """
[execution]
broker = "paper"
paper_latency_s = 3600.0   # orders rest until cancelled
[orchestrator]
interval_s = 0.1
strategy = "actors.orchestrator.examples:EveryN"
[orchestrator.strategy_params]
every = 1
"""


_STEPS = ("persist_ms", "by_actor_ms", "sent_by_actor_ms")


def _ts(line: dict) -> float:
    return dt.datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00")).timestamp()


def main() -> int:
    """Run and print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--halts", type=int, default=500)
    ap.add_argument("--dump", type=Path, help="write every halt's figures here (JSON lines)")
    ap.add_argument("--stalls", action="store_true",
                    help="run benchmarks/stalls.py alongside; split the figures by machine stall")
    args = ap.parse_args()
    dump = args.dump.open("w") if args.dump else None
    codec = wire.codec()
    acks: list[float] = []
    cancels: list[float] = []
    cancelled_counts: list[int] = []
    by_actor: dict[str, list[float]] = {}
    sent_by_actor: dict[str, list[float]] = {}
    persist: list[float] = []
    replies: list[float] = []
    windows: list[tuple[int, int]] = []
    probe = StallProbe() if args.stalls else contextlib.nullcontext()
    with probe, tempfile.TemporaryDirectory(prefix="qfk") as tmp:
        tree = TreeRun(Path(tmp), CONFIG)
        ctx = zmq.Context()
        try:
            tree.wait_started()
            admin = ctx.socket(zmq.DEALER)
            admin.connect(endpoints.admin(tree.run_dir))
            sub = ctx.socket(zmq.SUB)
            sub.setsockopt(zmq.SUBSCRIBE, b"OrderCancelled.")
            sub.connect(endpoints.bus_out(tree.run_dir))
            time.sleep(0.5)

            def call(req: object) -> CommandReply:
                admin.send_multipart([b"", ENCODER.encode(req)])
                assert admin.poll(5000)
                reply = REPLY_DECODER.decode(admin.recv_multipart()[-1])
                assert isinstance(reply, CommandReply), reply
                return reply

            for i in range(args.halts):
                time.sleep(0.04)  # ~4 iterations x 2 instruments of resting orders
                while sub.poll(0):
                    sub.recv_multipart()
                mark = tree.mark()
                t_wall, t_mono = time.time(), time.monotonic_ns()
                reply = call(HaltRequest(reason=f"bench {i}", who="bench"))
                replies.append((time.monotonic_ns() - t_mono) / 1e6)
                line = tree.wait_for("trading_state_acked", lambda ln, s=reply.seq: ln["seq"] == s,
                                     after=mark)
                acks.append((_ts(line) - t_wall) * 1000)
                windows.append((t_mono, t_mono + int(acks[-1] * 1e6)))
                for actor, ms in line.get("by_actor_ms", {}).items():
                    by_actor.setdefault(actor, []).append(float(ms))
                for actor, ms in line.get("sent_by_actor_ms", {}).items():
                    sent_by_actor.setdefault(actor, []).append(float(ms))
                persist.append(float(line["persist_ms"]) if "persist_ms" in line else 0.0)
                if dump is not None:
                    dump.write(json.dumps({"acked_ms": acks[-1], "reply_ms": replies[-1],
                                           **{k: line.get(k) for k in _STEPS}}) + "\n")
                last, n = 0, 0
                deadline = time.monotonic() + 0.2
                while time.monotonic() < deadline:
                    if sub.poll(20):
                        env = codec.decode(sub.recv_multipart()[-1])
                        if isinstance(env.payload, OrderCancelled):
                            last, n = max(last, env.sent_mono_ns), n + 1
                    elif n:
                        break
                if n:
                    cancels.append((last - t_mono) / 1e6)
                    cancelled_counts.append(n)
                call(ResumeRequest(reason=f"bench {i}", who="bench"))
            admin.close(linger=0)
            sub.close(linger=0)
        finally:
            ctx.term()
            tree.stop()
    print(f"kill switch over {args.halts} halts (paper venue, resting orders)")
    print(f"{'measure':<44}{'median ms':>10}{'p99 ms':>10}{'max ms':>10}")
    print(row("admin halt sent -> all actors acked HALTED", acks))
    print(row("admin halt sent -> operator has the reply", replies))
    if cancels:
        print(row("admin halt sent -> last open order cancelled", cancels))
        print(f"orders cancelled per halt: median {statistics.median(cancelled_counts)}, "
              f"halts with open orders {len(cancels)}/{args.halts}")
    rows = [("halts store row committed", persist)] if any(persist) else []
    rows += [(f"-> {a} ack seen by the supervisor", v) for a, v in sorted(by_actor.items())]
    rows += [(f"-> {a} ack sent", v) for a, v in sorted(sent_by_actor.items())]
    print("per step (from the transition persisted, about to publish):")
    for name, values in rows:
        print("  " + row(name, values, width=42))
    if isinstance(probe, StallProbe):
        print("\n".join(report(probe, "halt -> all acked", windows, acks, row, over_ms=10)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
