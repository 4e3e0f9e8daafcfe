"""Run the local exchange: ``python -m tests.support.exchange --port N --state FILE ...``."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from decimal import Decimal

from aiohttp import web

from tests.support.exchange.filters import spec_for
from tests.support.exchange.server import Exchange, make_app
from tests.support.exchange.store import Store

DEFAULT_PRICES = {"BTC": "50000", "ETH": "3000"}


def _pairs(text: str) -> dict[str, str]:
    out = {}
    for item in filter(None, text.split(",")):
        k, _, v = item.partition("=")
        out[k.strip()] = v.strip()
    return out


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tests.support.exchange")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--state", required=True, help="SQLite file holding the book")
    p.add_argument("--symbols", default="BTC/USDT,ETH/USDT")
    p.add_argument("--prices", default="", help="BTC/USDT=50000,... start prices")
    p.add_argument("--path", action="append", default=[],
                   help="SYMBOL=p1:p2:p3 price path (repeatable); others random-walk")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tick-ms", type=int, default=0, help="0: prices move only on control calls")
    p.add_argument("--key", default="test-key")
    p.add_argument("--secret", default="test-secret")
    p.add_argument("--balances", default="USDT=100000,BTC=0,ETH=0")
    p.add_argument("--weight-limit", type=int, default=1200)
    p.add_argument("--spread-ticks", type=int, default=2)
    p.add_argument("--synchronous", default="FULL",
                   help="SQLite synchronous of the book's file (FULL: an fsync per answer)")
    p.add_argument("--max-fill-qty", default="", help="BTC/USDT=0.01,... largest single fill")
    p.add_argument("--fee-rate", default="0.001", help="commission share of what is received")
    p.add_argument("--orders-per-10s", type=int, default=100,
                   help="the ORDERS limit exchangeInfo publishes")
    return p.parse_args(argv)


async def serve(ns: argparse.Namespace) -> None:
    symbols = [s.strip().upper() for s in ns.symbols.split(",") if s.strip()]
    specs = [spec_for(s) for s in symbols]
    given = {k.replace("/", "").upper(): Decimal(v) for k, v in _pairs(ns.prices).items()}
    starts = {sp.symbol: given.get(sp.symbol, Decimal(DEFAULT_PRICES.get(sp.base, "100")))
              for sp in specs}
    paths = {}
    for item in ns.path:
        k, _, v = item.partition("=")
        paths[k.replace("/", "").upper()] = [Decimal(x) for x in v.split(":") if x]
    for s, pts in paths.items():
        if pts:
            starts[s] = pts[0]
    ex = Exchange(
        specs=specs, start_prices=starts, paths=paths, store=Store(ns.state, ns.synchronous),
        keys={ns.key: ns.secret},
        balances={k.upper(): Decimal(v) for k, v in _pairs(ns.balances).items()},
        seed=ns.seed, tick_ms=ns.tick_ms, weight_limit=ns.weight_limit,
        spread_ticks=ns.spread_ticks, fee_rate=Decimal(ns.fee_rate),
        orders_per_10s=ns.orders_per_10s,
        max_fill_qty={k.replace("/", "").upper(): Decimal(v)
                      for k, v in _pairs(ns.max_fill_qty).items()},
    )
    runner = web.AppRunner(make_app(ex), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, ns.host, ns.port, reuse_address=True)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"READY {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(serve(parse(sys.argv[1:] if argv is None else argv)))


if __name__ == "__main__":
    main()
