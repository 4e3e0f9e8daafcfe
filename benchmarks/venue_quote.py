"""Quote -> order at the venue, through a whole tree; and ccxt's own share of that path.

Each round the benchmark moves BTC/USDT's price at the local exchange (a new price each time),
which streams the ticker; the orchestrator's ``VenueFeed`` (ccxt.pro ``watch_ticker``) has it
for the next loop iteration, EveryN answers every bar with a market order, execution gates and
writes it and the ``VenueBroker`` sends it (ccxt ``create_order``). Joined by price: the
exchange's ``ticker_sent`` stamp -> the ``PriceTick`` of that price on the bus (its iteration)
-> the intent ``orchestrator-<iteration>-0`` in execution's store -> the exchange's
``order_received`` stamp for that client order id.

Then, with the tree stopped, the same exchange against bare ccxt in this process (the product's
``make_exchange``): ticker sent -> ``watch_ticker`` returned, and ``create_order``'s parts
(before the HTTP request, the request itself, after it), call -> order received at the venue.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import psutil

from actors.execution.messages import PriceTick
from actors.venue.config import VenueConfig
from benchmarks.venue_common import BusRecorder, exchange_and_tree, table
from tests.support.exchange.process import KEY, SECRET, ExchangeProcess
from tests.support.venue import execution_orders

SYMBOL = "BTC/USDT"
WARM_UP = 20
"""Rounds left out at the start (connections, first orders)."""


def _drive(x: ExchangeProcess, rounds: int, base: float, gap_s: float) -> dict[float, float]:
    """Move the price ``rounds`` times, a random 0.5-1.5 x ``gap_s`` apart (never in step with
    the loop's tick); each new price -> when the exchange sent its ticker."""
    rng = random.Random(7)
    sent: dict[float, float] = {}
    for k in range(rounds):
        price = round(base + 0.01 * k, 2)
        r = x.control("price", {"symbol": SYMBOL, "price": f"{price:.2f}"})
        sent[price] = float(r["sent_at"])
        time.sleep(rng.uniform(0.5, 1.5) * gap_s)
    return sent


def run_quote(tmp: Path, exchange_args: list[str], *, quotes: int, interval: float,
              bare: int, wake: bool = False) -> None:
    """Time ``quotes`` quotes to their orders with the loop every ``interval`` s; then ``bare``
    ccxt calls apart (0: none)."""
    args = ["--symbols", SYMBOL, "--prices", f"{SYMBOL}=50000", "--balances",
            "USDT=100000000,BTC=1000", *exchange_args]
    with exchange_and_tree(tmp, args, symbols=[SYMBOL], interval=interval,
                           wake=wake) as (x, tree):
        orchestrator = psutil.Process(tree.child_pid("orchestrator"))
        with BusRecorder(tree.run_dir, [b"PriceTick."]) as bus:
            time.sleep(0.5)
            c0, t0 = sum(orchestrator.cpu_times()[:2]), time.monotonic()
            sent = _drive(x, quotes + WARM_UP, 50000.0, 0.05)
            cpu = (sum(orchestrator.cpu_times()[:2]) - c0) / (time.monotonic() - t0) * 100
            time.sleep(0.5)
        stamps = x.control("stamps", {})
        tree.stop()
        _book, orders = execution_orders(tree.state_dir)
        floor = asyncio.run(_bare(x, bare)) if bare else {}
    ticks = {round(e.payload.price, 2): (e.payload.iteration, e.sent_at) for e in bus.take()
             if isinstance(e.payload, PriceTick) and e.payload.instrument == SYMBOL}
    coid_of = {int(o.intent_id.split("-")[1]): o.client_order_id for o in orders
               if o.intent_id.startswith("orchestrator-")}
    received = stamps["order_received"]
    total, orch, execu = [], [], []
    for price, t_sent in list(sent.items())[WARM_UP:]:
        if price not in ticks:
            continue  # two quotes within one iteration: the bar had only the later one
        iteration, t_bus = ticks[price]
        t_recv = received.get(coid_of.get(iteration, ""))
        if t_recv is None:
            continue
        total.append((t_recv - t_sent) * 1000)
        orch.append((t_bus - t_sent) * 1000)
        execu.append((t_recv - t_bus) * 1000)
    woken = ", woken by each update" if wake else ""
    table(f"quote -> order at the venue, whole tree, loop every {interval * 1000:g} ms{woken} "
          f"({len(total)} of {quotes} quotes made an order; orchestrator CPU {cpu:.0f} %)", {
              "ticker sent -> order received by the venue": total,
              "  ticker sent -> PriceTick on the bus (orchestrator)": orch,
              "  PriceTick on the bus -> order received (execution)": execu})
    if floor:
        table(f"bare ccxt against the same exchange, this process ({bare} calls)", floor)


async def _bare(x: ExchangeProcess, n: int) -> dict[str, list[float]]:
    """ccxt's own costs on the quote -> order path, without our code around it."""
    from actors.venue.exchange import make_exchange

    cfg = VenueConfig(rest_url=x.base_url, ws_url=x.ws_url, symbols=[SYMBOL])
    ex: Any = make_exchange(cfg, key=KEY, secret=SECRET, streaming=True)
    try:
        await ex.load_markets()
        ws = await _bare_ws(ex, x, n)
        return {**ws, **await _bare_orders(ex, x, n)}
    finally:
        await ex.close()


async def _bare_ws(ex: Any, x: ExchangeProcess, n: int) -> dict[str, list[float]]:
    seen: dict[float, float] = {}

    async def watch() -> None:
        while True:
            t = await ex.watch_ticker(SYMBOL)
            seen.setdefault(round(float(t["last"]), 2), time.time())

    task = asyncio.create_task(watch())
    rng = random.Random(3)
    sent: dict[float, float] = {}
    try:
        await asyncio.sleep(0.5)
        for k in range(n + WARM_UP):
            price = round(60000 + 0.01 * k, 2)
            r = await asyncio.to_thread(x.control, "price",
                                        {"symbol": SYMBOL, "price": f"{price:.2f}"})
            sent[price] = float(r["sent_at"])
            await asyncio.sleep(rng.uniform(0.01, 0.03))
        await asyncio.sleep(0.2)
    finally:
        task.cancel()
    lat = [(seen[p] - t) * 1000 for p, t in list(sent.items())[WARM_UP:] if p in seen]
    return {"ticker sent -> watch_ticker returned": lat}


async def _bare_orders(ex: Any, x: ExchangeProcess, n: int) -> dict[str, list[float]]:
    spans: list[tuple[float, float]] = []
    fetch = ex.fetch

    async def timed_fetch(*a: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await fetch(*a, **kw)
        finally:
            spans.append((t0, time.perf_counter()))

    ex.fetch = timed_fetch
    out: dict[str, list[float]] = {k: [] for k in (
        "create_order, whole call", "  before the request (build, sign)",
        "  the HTTP request (aiohttp + the exchange)", "  after it (parse)",
        "create_order call -> order received by the venue")}
    called: dict[str, float] = {}
    for i in range(n + WARM_UP):
        coid = f"bare-{i}"
        spans.clear()
        called[coid], t0 = time.time(), time.perf_counter()
        await ex.create_order(SYMBOL, "market", "buy" if i % 2 else "sell", 0.001, None,
                              {"clientOrderId": coid})
        t1 = time.perf_counter()
        if i < WARM_UP or len(spans) != 1:
            continue
        (f0, f1), = spans
        out["create_order, whole call"].append((t1 - t0) * 1000)
        out["  before the request (build, sign)"].append((f0 - t0) * 1000)
        out["  the HTTP request (aiohttp + the exchange)"].append((f1 - f0) * 1000)
        out["  after it (parse)"].append((t1 - f1) * 1000)
        await asyncio.sleep(0.005)
    received = (await asyncio.to_thread(x.control, "stamps"))["order_received"]
    out["create_order call -> order received by the venue"] = [
        (received[c] - t) * 1000 for c, t in list(called.items())[WARM_UP:] if c in received]
    return out
