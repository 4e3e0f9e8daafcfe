"""The aiohttp app: Binance REST under /api/v3, streams at /ws and /stream, /_control for tests."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections import Counter
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from tests.support.exchange import errors, rest, signing
from tests.support.exchange.book import Book
from tests.support.exchange.faults import Faults, Weights
from tests.support.exchange.filters import Spec, fmt
from tests.support.exchange.prices import Path, Stats
from tests.support.exchange.stamps import Stamps
from tests.support.exchange.store import Store
from tests.support.exchange.streams import Hub

D = Decimal


class Exchange:
    """The whole local exchange: book, store, prices, streams, faults, counters."""

    def __init__(
        self,
        *,
        specs: list[Spec],
        start_prices: dict[str, Decimal],
        paths: dict[str, list[Decimal]],
        store: Store,
        keys: dict[str, str],
        balances: dict[str, Decimal],
        seed: int = 0,
        tick_ms: int = 0,
        weight_limit: int = 1200,
        spread_ticks: int = 2,
        max_fill_qty: dict[str, Decimal] | None = None,
        fee_rate: Decimal = Decimal("0.001"),
        orders_per_10s: int = 100,
    ) -> None:
        self.book = Book(specs={s.symbol: s for s in specs}, prices=dict(start_prices),
                         spread_ticks=spread_ticks, max_fill_qty=dict(max_fill_qty or {}),
                         fee_rate=fee_rate)
        self.store = store
        self.orders_per_10s = orders_per_10s
        """The ORDERS limit exchangeInfo publishes (per 10 s)."""
        if store.fresh():
            self.book.balances = {a: [v, D(0)] for a, v in balances.items()}
            store.save(self.book)
        else:
            store.load(self.book)
        rng = random.Random(seed)
        self.paths = {s: Path(start=self.book.prices[s], points=paths.get(s, []),
                              rng=random.Random(rng.random())) for s in self.book.specs}
        now = self.now()
        self.stats = {s: Stats(open=p, high=p, low=p, open_time=now)
                      for s, p in self.book.prices.items()}
        self.keys = keys
        self.tick_ms = tick_ms
        self.weights = Weights(limit=weight_limit)
        self.faults = Faults(rng=random.Random(seed))
        self.hub = Hub(self.snapshot)
        self.requests: Counter[str] = Counter()
        self.stamps = Stamps()
        self.counters: Counter[str] = Counter(
            orders_accepted=0, orders_rejected=0, duplicates_rejected=0)
        self.update_id = 1
        self.public_trade_id = 1
        self.touch_qty = "1.00000000"
        self.lock = asyncio.Lock()

    @staticmethod
    def now() -> int:
        """Exchange time in ms."""
        return int(time.time() * 1000)

    def persist(self) -> None:
        """Commit the book before anything is answered."""
        self.store.save(self.book)

    # -- prices and events ----------------------------------------------------------------
    async def set_price(self, symbol: str, price: Decimal) -> None:
        """Move one symbol's price, fill what it crosses, persist, push events."""
        now = self.now()
        spec = self.book.spec(symbol)
        self.book.set_price(spec.symbol, price, now)
        self.persist()
        self.update_id += 1
        last = self.book.prices[spec.symbol]
        trade_id, self.public_trade_id = self.public_trade_id, self.public_trade_id + 1
        self.stats[spec.symbol].record(now, last, D("0.01"), trade_id)
        self.stamps.ticker_sent[spec.symbol] = self.stamps.now()
        for channel in ("ticker", "miniTicker", "bookTicker"):
            event = self.snapshot(spec.symbol, channel)
            if event is not None:
                await self.hub.publish(spec.symbol, channel, event)
        trade = {"e": "trade", "E": now, "s": spec.symbol, "t": trade_id, "p": fmt(last),
                 "q": "0.01000000", "T": now, "m": False, "M": True}
        await self.hub.publish(spec.symbol, "trade", trade)
        agg = {"e": "aggTrade", "E": now, "s": spec.symbol, "a": trade_id, "p": fmt(last),
               "q": "0.01000000", "f": trade_id, "l": trade_id, "T": now, "m": False, "M": True}
        await self.hub.publish(spec.symbol, "aggTrade", agg)

    async def step(self, n: int = 1) -> None:
        """Advance every symbol's path ``n`` steps."""
        for _ in range(n):
            for s, path in self.paths.items():
                await self.set_price(s, path.next(self.book.prices[s]))

    def ticker24(self, symbol: str) -> dict[str, Any]:
        """The REST 24hr ticker of one symbol."""
        st, last = self.stats[symbol], self.book.prices[symbol]
        bid, ask = self.book.bid_ask(symbol)
        change = last - st.open
        wavg = st.quote_volume / st.volume if st.volume else last
        return {
            "symbol": symbol, "priceChange": fmt(change),
            "priceChangePercent": f"{change / st.open * 100:.3f}", "weightedAvgPrice": fmt(wavg),
            "prevClosePrice": fmt(st.open), "lastPrice": fmt(last), "lastQty": fmt(st.last_qty),
            "bidPrice": fmt(bid), "bidQty": self.touch_qty, "askPrice": fmt(ask),
            "askQty": self.touch_qty, "openPrice": fmt(st.open), "highPrice": fmt(st.high),
            "lowPrice": fmt(st.low), "volume": fmt(st.volume), "quoteVolume": fmt(st.quote_volume),
            "openTime": st.open_time, "closeTime": self.now(),
            "firstId": st.first_trade_id or -1, "lastId": st.last_trade_id or -1,
            "count": st.count,
        }

    def snapshot(self, symbol: str, channel: str) -> dict[str, Any] | None:
        """The current websocket event of ``<symbol>@<channel>`` (None for an unknown one)."""
        if symbol not in self.book.specs:
            return None
        now = self.now()
        t = self.ticker24(symbol)
        if channel == "ticker":
            return {"e": "24hrTicker", "E": now, "s": symbol, "p": t["priceChange"],
                    "P": t["priceChangePercent"], "w": t["weightedAvgPrice"],
                    "x": t["prevClosePrice"], "c": t["lastPrice"], "Q": t["lastQty"],
                    "b": t["bidPrice"], "B": t["bidQty"], "a": t["askPrice"], "A": t["askQty"],
                    "o": t["openPrice"], "h": t["highPrice"], "l": t["lowPrice"],
                    "v": t["volume"], "q": t["quoteVolume"], "O": t["openTime"],
                    "C": t["closeTime"], "F": t["firstId"], "L": t["lastId"], "n": t["count"]}
        if channel == "miniTicker":
            return {"e": "24hrMiniTicker", "E": now, "s": symbol, "c": t["lastPrice"],
                    "o": t["openPrice"], "h": t["highPrice"], "l": t["lowPrice"],
                    "v": t["volume"], "q": t["quoteVolume"]}
        if channel == "bookTicker":
            return {"u": self.update_id, "s": symbol, "b": t["bidPrice"], "B": t["bidQty"],
                    "a": t["askPrice"], "A": t["askQty"]}
        return None

    async def ticker_loop(self) -> None:
        """Advance the paths every ``tick_ms`` (0: only on /_control/step), on a schedule: the
        time a step takes does not slow the rate (one that runs late is followed at once by the
        next, never by a burst to catch up)."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            period = (self.tick_ms or 50) / 1000
            due = max(due + period, loop.time())
            await asyncio.sleep(due - loop.time())
            if self.tick_ms > 0:
                async with self.lock:
                    await self.step()


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(text=json.dumps(body), status=status, headers=headers,
                        content_type="application/json")


def _abort(request: web.Request) -> web.Response:
    """Close the TCP connection without an answer."""
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=204)


async def api(request: web.Request) -> web.StreamResponse:
    """Every /api/v3 request: faults, weight, signature, handler, persisted before the answer."""
    ex: Exchange = request.app["exchange"]
    method, sub = request.method, request.match_info["tail"]
    key = f"{method} /api/v3/{sub}"
    ex.requests[key] += 1
    arrived = ex.stamps.now()
    fired = ex.faults.draw(method, request.path)
    kinds = {f.kind: f for f in fired}
    if "reset" in kinds:
        return _abort(request)
    if "delay_ms" in kinds:
        await asyncio.sleep(kinds["delay_ms"].delay_ms / 1000)
    now = ex.now()
    used, retry_after, banned = ex.weights.charge(key, now)
    headers = {"X-MBX-USED-WEIGHT-1M": str(used), "X-MBX-USED-WEIGHT": str(used)}
    if "http_5xx" in kinds:
        f = kinds["http_5xx"]
        if f.json_body:
            return _json(errors.BinanceError(errors.INTERNAL).body(), f.status, headers)
        return web.Response(text="<html><body><h1>Service Unavailable</h1></body></html>",
                            status=f.status, headers=headers, content_type="text/html")
    if "rate_limit" in kinds or retry_after is not None:
        ra = kinds["rate_limit"].retry_after if "rate_limit" in kinds else retry_after
        headers["Retry-After"] = str(ra)
        err = errors.BANNED if banned else errors.TOO_MANY_WEIGHT
        e = errors.BinanceError(err, limit=ex.weights.limit, until=now + (ra or 0) * 1000)
        ex.counters[f"http_{e.status}"] += 1
        return _json(e.body(), e.status, headers)
    route = rest.ROUTES.get((method, sub))
    if route is None:
        return _json({"code": -1000, "msg": f"Not found: {request.path}"}, 404, headers)
    handler, signed = route
    body = await request.text() if request.can_read_body else ""
    params = dict(parse_qsl(request.query_string, keep_blank_values=True))
    params.update(parse_qsl(body, keep_blank_values=True))
    try:
        async with ex.lock:
            if signed:
                signing.check(api_key=request.headers.get("X-MBX-APIKEY"), keys=ex.keys,
                              query_string=request.query_string, body=body, params=params,
                              now_ms=ex.now())
            result = handler(ex, params)
    except errors.BinanceError as e:
        ex.counters[f"error_{e.code}"] += 1
        return _json(e.body(), e.status, headers)
    ex.stamps.request(key, params, arrived, result)
    if "drop_after_accept" in kinds:
        ex.counters["dropped_after_accept"] += 1
        return _abort(request)
    if "corrupt" in kinds:
        return _corrupt(kinds["corrupt"], result, headers)
    return _json(result, 200, headers)


def _corrupt(f: Any, result: Any, headers: dict[str, str]) -> web.Response:
    """What the venue did, answered wrongly: ``f.body`` verbatim, or ``f.patch`` set in it."""
    if f.body is not None:
        return web.Response(text=f.body, status=200, headers=headers,
                            content_type="application/json")
    patch = dict(f.patch or {})
    rows = result if isinstance(result, list) else [result]
    for row in rows:
        if isinstance(row, dict):
            row.update(patch)
    return web.Response(text=json.dumps(result, allow_nan=True), status=200, headers=headers,
                        content_type="application/json")


async def not_api(request: web.Request) -> web.Response:
    """Any other path (/sapi, /fapi, ...): 404 in Binance's JSON error shape."""
    ex: Exchange = request.app["exchange"]
    ex.requests[f"{request.method} {request.path}"] += 1
    return _json({"code": -1000, "msg": f"Not found: {request.path}"}, 404)


# -- control ------------------------------------------------------------------------------
async def c_fault(request: web.Request) -> web.Response:
    ex: Exchange = request.app["exchange"]
    spec = await request.json()
    try:
        f = ex.faults.arm(spec)
    except (TypeError, ValueError) as e:
        return _json({"error": str(e)}, 400)
    closed = 0
    if f.kind == "ws_close":
        closed = await ex.hub.close_all()
    elif f.kind == "ws_pause":
        ex.hub.paused = bool(spec.get("count", 1))  # {"kind":"ws_pause","count":0} resumes
    return _json({"id": f.id, "kind": f.kind, "ws_closed": closed})


async def c_reset(request: web.Request) -> web.Response:
    ex: Exchange = request.app["exchange"]
    ex.faults.clear()
    ex.hub.paused = False
    ex.weights.reset()
    return _json({"ok": True})


async def c_orders(request: web.Request) -> web.Response:
    ex: Exchange = request.app["exchange"]
    orders = [o.view() | {"locked": o.locked} for o in
              sorted(ex.book.orders.values(), key=lambda o: o.orderId)]
    return _json({"orders": orders, "client_ids": ex.book.client_ids,
                  "trades": [t.view() for t in ex.book.trades]})


async def c_stats(request: web.Request) -> web.Response:
    ex: Exchange = request.app["exchange"]
    return _json({
        "requests": dict(ex.requests), **ex.counters,
        "duplicates_rejected_total": ex.book.duplicates,
        "client_ids_reused": sum(1 for n in ex.book.client_ids.values() if n > 1),
        "weight_used": ex.weights.used, "ws_connections": len(ex.hub.conns),
        "ws_subscribes": ex.hub.subscribes, "ws_sent": ex.hub.sent, "ws_paused": ex.hub.paused,
        "faults": ex.faults.view(),
        "balances": {a: [fmt(f), fmt(lk)] for a, (f, lk) in ex.book.balances.items()},
        "prices": {s: fmt(p) for s, p in ex.book.prices.items()},
    })


def _sym(s: str) -> str:
    return s.replace("/", "").upper()


async def c_price(request: web.Request) -> web.Response:
    ex: Exchange = request.app["exchange"]
    body = await request.json()
    try:
        async with ex.lock:
            await ex.set_price(_sym(body["symbol"]), D(str(body["price"])))
    except errors.BinanceError as e:
        return _json(e.body(), 400)
    sym = _sym(body["symbol"])
    return _json({"symbol": sym, "price": fmt(ex.book.prices[sym]),
                  "sent_at": ex.stamps.ticker_sent.get(sym)})


async def c_step(request: web.Request) -> web.Response:
    ex: Exchange = request.app["exchange"]
    body = await request.json() if request.can_read_body else {}
    async with ex.lock:
        await ex.step(int(body.get("n", 1)))
    return _json({s: fmt(p) for s, p in ex.book.prices.items()})


async def c_config(request: web.Request) -> web.Response:
    ex: Exchange = request.app["exchange"]
    body = await request.json()
    for s, q in (body.get("max_fill_qty") or {}).items():
        ex.book.max_fill_qty[_sym(s)] = D(str(q))
    if "spread_ticks" in body:
        ex.book.spread_ticks = int(body["spread_ticks"])
    if "weight_limit" in body:
        ex.weights.limit = int(body["weight_limit"])
    if "tick_ms" in body:
        ex.tick_ms = int(body["tick_ms"])
    return _json({"max_fill_qty": {s: fmt(q) for s, q in ex.book.max_fill_qty.items()},
                  "spread_ticks": ex.book.spread_ticks, "weight_limit": ex.weights.limit})


async def c_stamps(request: web.Request) -> web.Response:
    """GET: the exchange's stamps (stamps.Stamps); POST: the same, then forget them."""
    ex: Exchange = request.app["exchange"]
    view = ex.stamps.view()
    if request.method == "POST":
        ex.stamps.clear()
    return _json(view)


def make_app(ex: Exchange) -> web.Application:
    """The app serving ``ex`` on one port (REST, websocket, control)."""
    app = web.Application()
    app["exchange"] = ex
    app.router.add_post("/_control/fault", c_fault)
    app.router.add_post("/_control/reset", c_reset)
    app.router.add_get("/_control/orders", c_orders)
    app.router.add_get("/_control/stats", c_stats)
    app.router.add_post("/_control/price", c_price)
    app.router.add_post("/_control/step", c_step)
    app.router.add_post("/_control/config", c_config)
    app.router.add_get("/_control/stamps", c_stamps)
    app.router.add_post("/_control/stamps", c_stamps)
    app.router.add_get("/ws", ex.hub.handle)
    app.router.add_get("/ws/{tail:.*}", ex.hub.handle)
    app.router.add_get("/stream", ex.hub.handle)
    app.router.add_route("*", "/api/v3/{tail:.*}", api)
    app.router.add_route("*", "/{tail:.*}", not_api)

    async def ticker(app: web.Application) -> Any:
        task = asyncio.create_task(ex.ticker_loop())
        yield
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await ex.hub.close_all()
        ex.store.close()

    app.cleanup_ctx.append(ticker)
    return app
