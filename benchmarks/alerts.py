"""Alert latency (event published -> ``sendMessage`` received) and journal appends per second.

Alerts: a real tree (journal + alerter, or ``--full`` for the whole default tree) with a token
in its environment, pointed at the local Bot API server of the tests. Each alert is an event
pushed onto the bus (as an actor publishes it); the clock stops when the server has accepted the
``sendMessage`` carrying it. Both stamps are ``time.monotonic()`` of this process (the server
runs in it). One alert at a time, so each figure is one alert's whole path: hub, alerter,
SQLite outbox commit (synchronous=FULL), sender wake-up, HTTP to the server.

Journal: ``JournalWriter.append`` in a loop under each fsync policy (``batch`` with a flush
every N entries, as the actor flushes once per batch of bus messages).

    uv run python benchmarks/alerts.py --alerts 300
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import zmq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors import wire
from actors._runtime import endpoints
from actors.breaker.messages import BreakerReset
from actors.journal.writer import FsyncPolicy, JournalWriter
from benchmarks.restart import pct
from tests.support.botapi import BotApiServer
from tests.support.tree import TreeRun

CHAT_ID = 4242


def _config(server: BotApiServer, full: bool) -> str:
    children = "" if full else '[supervisor]\nchildren = ["journal", "alerter"]\n'
    return f'{children}[alerter]\nchat_id = "{CHAT_ID}"\nbase_url = "{server.base_url}"\n'


def alerts(n: int, full: bool) -> list[float]:
    """Latencies (ms) of ``n`` alerts, one at a time."""
    latencies: list[float] = []
    codec = wire.codec()
    with BotApiServer() as server, tempfile.TemporaryDirectory(prefix="qfa") as tmp:
        os.environ["QUANTFUND_TELEGRAM_TOKEN"] = server.token
        tree = TreeRun(Path(tmp), _config(server, full))
        ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        push = ctx.socket(zmq.PUSH)
        try:
            tree.wait_started()
            push.connect(endpoints.bus_in(tree.run_dir))
            time.sleep(0.5)
            for i in range(n + 5):  # the first few warm the HTTP connection up
                text = f"bench #{i};"
                before = len(server.delivered)
                t0 = time.monotonic()
                push.send(codec.encode("bench", BreakerReset(reason=f"bench #{i}")))

                def arrived(s: BotApiServer, before: int = before, text: str = text) -> bool:
                    return any(text in m.text for m in s.delivered[before:])

                assert server.wait_for(arrived, timeout=10), f"alert {i} not delivered"
                at = next(m.at for m in server.delivered[before:] if text in m.text)
                if i >= 5:
                    latencies.append((at - t0) * 1000)
                time.sleep(0.01)
        finally:
            push.close(linger=0)
            ctx.term()
            tree.stop()
            del os.environ["QUANTFUND_TELEGRAM_TOKEN"]
    return latencies


def journal_rate(policy: FsyncPolicy, n: int, flush_every: int = 0) -> float:
    """Appends per second of ``n`` entries (a typical fill's fields) under ``policy``."""
    with tempfile.TemporaryDirectory(prefix="qfj", dir=".") as tmp, \
            JournalWriter(Path(tmp), fsync=policy) as journal:
        fields = {"client_order_id": "o-1", "instrument": "BTC-USD", "side": "BUY",
                  "quantity": 1.0, "price": 101.25, "position_after": 3.0,
                  "realized_pnl": 0.0, "sender": "execution", "msg_id": "x" * 22}
        now = time.time()
        t0 = time.perf_counter()
        for i in range(n):
            journal.append("OrderFilled", fields, at=now + i * 1e-6)
            if flush_every and (i + 1) % flush_every == 0:
                journal.flush()
        journal.flush()
        return n / (time.perf_counter() - t0)


def main() -> int:
    """Run and print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--alerts", type=int, default=300)
    ap.add_argument("--full", action="store_true", help="whole default tree (fills alert too)")
    ap.add_argument("--appends", type=int, default=20_000)
    args = ap.parse_args()

    lat = alerts(args.alerts, args.full)
    tree = "whole default tree" if args.full else "journal + alerter"
    print(f"alerts: event published on the bus -> sendMessage received ({len(lat)} alerts, "
          f"{tree}, local Bot API server up)")
    print(f"{'median ms':>10}{'p90 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    print(f"{statistics.median(lat):>10.2f}{pct(lat, 90):>10.2f}{pct(lat, 99):>10.2f}"
          f"{max(lat):>10.2f}")

    print(f"\njournal appends per second ({args.appends} appends of a fill-sized entry; "
          "state dir on the working directory's disk)")
    print(f"{'fsync policy':<36}{'appends/s':>12}")
    rows = [
        ("every_entry (fdatasync each)", FsyncPolicy.EVERY_ENTRY, min(args.appends, 3000), 0),
        ("batch, flush every 10 entries", FsyncPolicy.BATCH, args.appends, 10),
        ("batch, flush every 100 entries", FsyncPolicy.BATCH, args.appends, 100),
        ("none", FsyncPolicy.NONE, args.appends, 0),
    ]
    for label, policy, n, every in rows:
        print(f"{label:<36}{journal_rate(policy, n, every):>12.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
