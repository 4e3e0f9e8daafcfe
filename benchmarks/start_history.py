"""What a start of execution costs as its history grows: load the state file, restore.

Execution's state file is filled with ``--orders`` final orders (and a few open ones), laid out
as this version writes it (final orders under ``cold/order/``, counts in the book) and as the
versions before it did (every order under ``order/``, counted at each start). For each, the
time of ``StateStore.load`` plus the actor's ``restore``, over ``--runs`` starts, and how many
keys a start loads into memory.

    uv run python benchmarks/start_history.py --orders 100000 --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from actors._runtime.store import StateStore
from actors.execution.actor import (
    FINAL_KEY,
    OPEN_KEY,
    Book,
    ExecutionActor,
    OrderRecord,
    client_order_id,
)
from actors.execution.config import ExecutionConfig
from actors.execution.messages import OrderStatus, Side
from actors.execution.portfolio import Portfolio
from supervisor.halts import HaltsStore

OPEN_ORDERS = 5


def _order(i: int, status: OrderStatus) -> OrderRecord:
    intent = f"it-{i}"
    return OrderRecord(
        client_order_id=client_order_id(intent), intent_id=intent, instrument="BTC-USD",
        side=Side.BUY if i % 2 else Side.SELL, quantity=1.0, reference_price=100.0,
        limit_price=None, status=status, filled=1.0 if status is OrderStatus.FILLED else 0.0,
    )


async def _write(path: Path, orders: int, *, cold: bool) -> None:
    store = await StateStore.open(path, synchronous="NORMAL")
    enc = msgspec.msgpack.encode
    counts = {OrderStatus.FILLED.value: orders} if cold else None
    writes: dict[str, bytes | None] = {
        "book": enc(Book(portfolio=Portfolio(cash=1e6), final_counts=counts)),
    }
    for i in range(orders):
        writes[(FINAL_KEY if cold else OPEN_KEY) + client_order_id(f"it-{i}")] = enc(
            _order(i, OrderStatus.FILLED))
        if len(writes) >= 10_000:
            await store.commit(writes)
            writes = {}
    for i in range(orders, orders + OPEN_ORDERS):
        writes[OPEN_KEY + client_order_id(f"it-{i}")] = enc(_order(i, OrderStatus.SUBMITTED))
    await store.commit(writes)
    await store.close()


async def _start(path: Path) -> tuple[float, int, ExecutionActor]:
    t = time.perf_counter()
    store = await StateStore.open(path, synchronous="NORMAL")
    kv, _seen = await store.load()
    actor = ExecutionActor("execution", ExecutionConfig(broker="shadow"), kv, path.parent)
    elapsed = time.perf_counter() - t
    await store.close()
    return elapsed * 1000, len(kv), actor


def main() -> int:
    """Write both layouts, start from each ``--runs`` times, print the figures."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--orders", type=int, default=100_000, help="final orders in the history")
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    print(f"execution start (load + restore) with {args.orders:,} final and {OPEN_ORDERS} open "
          f"orders, {args.runs} starts each")
    print(f"{'layout':<44}{'median ms':>10}{'max ms':>10}{'keys loaded':>13}")
    for name, cold in (("final orders cold/ (this version)", True),
                       ("every order under order/ (before)", False)):
        with tempfile.TemporaryDirectory(prefix="qfh") as tmp:
            HaltsStore.open(Path(tmp) / "halts.sqlite").close()
            path = Path(tmp) / "execution.sqlite"
            asyncio.run(_write(path, args.orders, cold=cold))
            times, loaded = [], 0
            for _ in range(args.runs):
                ms, loaded, actor = asyncio.run(_start(path))
                times.append(ms)
                assert actor.status_counts() == {
                    OrderStatus.FILLED.value: args.orders, OrderStatus.SUBMITTED.value: OPEN_ORDERS,
                }, actor.status_counts()
                actor.on_stop()
            print(f"{name:<44}{statistics.median(times):>10.1f}{max(times):>10.1f}{loaded:>13,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
