"""The local Binance-spot exchange as ccxt sees it: a real process, unmodified ccxt, real
sockets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import ccxt
import pytest

from tests.support.exchange.client import ccxt_binance
from tests.support.exchange.process import KEY, SECRET, ExchangeProcess, local_exchange


@pytest.fixture
def exch(tmp_path: Path) -> Iterator[ExchangeProcess]:
    with local_exchange(tmp_path / "book.db", "--max-fill-qty", "BTC/USDT=0.01") as p:
        yield p


def run(coro_fn, p: ExchangeProcess, *, secret: str = SECRET, key: str = KEY, pro=False,
        timeout: float = 30, **options):
    """Run ``coro_fn(ex)`` with a fresh ccxt client against ``p``, closing it afterwards."""
    async def main():
        ex = ccxt_binance(p.base_url, key=key, secret=secret, pro=pro, **options)
        try:
            return await asyncio.wait_for(coro_fn(ex), timeout)
        finally:
            await ex.close()
    return asyncio.run(main())


def test_ccxt_loads_markets_with_precision_and_limits(exch: ExchangeProcess) -> None:
    """exchangeInfo filters reach ccxt's market: tick/step precision, lot, price, notional."""
    async def go(ex):
        return await ex.load_markets()
    m = run(go, exch)["BTC/USDT"]
    assert m["spot"]
    assert m["active"]
    assert m["id"] == "BTCUSDT"
    assert m["precision"]["price"] == 0.01
    assert m["precision"]["amount"] == 0.00001
    assert m["limits"]["amount"] == {"min": 0.00001, "max": 9000.0}
    assert m["limits"]["cost"]["min"] == 5.0
    assert "ETH/USDT" in run(go, exch)


def test_create_fetch_cancel_by_client_id(exch: ExchangeProcess) -> None:
    """A resting limit order is found and cancelled by its client id; funds lock and unlock."""
    async def go(ex):
        o = await ex.create_order("BTC/USDT", "limit", "buy", 0.01, 40000, {"clientOrderId": "a1"})
        got = await ex.fetch_order(None, "BTC/USDT", {"origClientOrderId": "a1"})
        bal = await ex.fetch_balance()
        opens = await ex.fetch_open_orders("BTC/USDT")
        cancelled = await ex.cancel_order(None, "BTC/USDT", {"origClientOrderId": "a1"})
        after = await ex.fetch_balance()
        return o, got, bal, opens, cancelled, after
    o, got, bal, opens, cancelled, after = run(go, exch)
    assert o["clientOrderId"] == "a1"
    assert o["status"] == "open"
    assert got["id"] == o["id"]
    assert got["price"] == 40000
    assert got["amount"] == 0.01
    assert bal["USDT"]["used"] == 400.0
    assert bal["USDT"]["free"] == 99600.0
    assert [x["id"] for x in opens] == [o["id"]]
    assert cancelled["status"] == "canceled"
    assert after["USDT"]["free"] == 100000.0
    assert after["USDT"]["used"] == 0.0
    assert exch.control("orders")["client_ids"] == {"a1": 1}


def test_partial_fills_on_price_steps(exch: ExchangeProcess) -> None:
    """With max_fill_qty 0.01, a 0.03 resting buy fills in three trades as the price falls."""
    async def place(ex):
        return await ex.create_order("BTC/USDT", "limit", "buy", 0.03, 49000,
                                     {"clientOrderId": "p1"})
    async def check(ex):
        return (await ex.fetch_order(None, "BTC/USDT", {"origClientOrderId": "p1"}),
                await ex.fetch_my_trades("BTC/USDT"))
    o = run(place, exch)
    assert o["status"] == "open"
    assert o["filled"] == 0
    exch.control("price", {"symbol": "BTC/USDT", "price": 48990})
    mid, trades = run(check, exch)
    assert mid["status"] == "open"
    assert mid["filled"] == 0.01
    assert exch.control("orders")["orders"][0]["status"] == "PARTIALLY_FILLED"
    exch.control("price", {"symbol": "BTC/USDT", "price": 48980})
    exch.control("price", {"symbol": "BTC/USDT", "price": 48970})
    done, trades = run(check, exch)
    assert done["status"] == "closed"
    assert done["filled"] == 0.03
    assert len({t["id"] for t in trades}) == 3
    assert all(t["price"] == 49000 and t["amount"] == 0.01 for t in trades)
    assert all(t["takerOrMaker"] == "maker" and t["fee"]["currency"] == "BTC" for t in trades)


def test_market_order_sweeps_in_several_trades(exch: ExchangeProcess) -> None:
    """A market buy above max_fill_qty fills at once in several trades at the ask."""
    async def go(ex):
        o = await ex.create_order("BTC/USDT", "market", "buy", 0.025)
        return o, await ex.fetch_my_trades("BTC/USDT"), await ex.fetch_balance()
    o, trades, bal = run(go, exch)
    assert o["status"] == "closed"
    assert o["filled"] == 0.025
    assert [t["amount"] for t in trades] == [0.01, 0.01, 0.005]
    assert bal["BTC"]["free"] == pytest.approx(0.025 * 0.999)


def test_binance_errors_become_ccxt_exception_classes(exch: ExchangeProcess) -> None:
    """Each Binance error code the exchange answers maps to ccxt's class for it."""
    async def go(ex):
        await ex.load_markets()
        seen = {}
        async def catch(name, coro):
            try:
                await coro
                seen[name] = None
            except ccxt.BaseError as e:
                seen[name] = type(e)
        base = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
        await catch("symbol", ex.publicGetTicker24hr({"symbol": "NOPEUSDT"}))
        await catch("lot", ex.privatePostOrder({**base, "quantity": "0.000011", "price": "40000"}))
        await catch("price",
                    ex.privatePostOrder({**base, "quantity": "0.01", "price": "40000.001"}))
        await catch("notional", ex.privatePostOrder({**base, "quantity": "0.0001", "price": "100"}))
        await catch("funds", ex.create_order("BTC/USDT", "limit", "buy", 3, 40000))
        await ex.create_order("BTC/USDT", "limit", "buy", 0.01, 40000, {"clientOrderId": "d1"})
        await catch("dup", ex.create_order("BTC/USDT", "limit", "buy", 0.01, 40000,
                                           {"clientOrderId": "d1"}))
        await catch("fetch", ex.fetch_order("999", "BTC/USDT"))
        await catch("cancel", ex.cancel_order("999", "BTC/USDT"))
        await catch("param", ex.privateGetOrder({"symbol": "BTCUSDT"}))
        return seen
    seen = run(go, exch)
    assert seen["symbol"] is ccxt.BadSymbol
    assert seen["lot"] is ccxt.InvalidOrder
    assert seen["price"] is ccxt.InvalidOrder
    assert seen["notional"] is ccxt.BadRequest  # -1013 "Filter failure: NOTIONAL" (see report)
    assert seen["funds"] is ccxt.InsufficientFunds
    assert seen["dup"] is ccxt.InvalidOrder
    assert seen["fetch"] is ccxt.OrderNotFound
    assert seen["cancel"] is ccxt.OrderNotFound
    assert seen["param"] is ccxt.BadRequest
    stats = exch.control("stats")
    assert stats["duplicates_rejected"] == 1
    assert stats["error_-2010"] == 2


def test_signature_key_and_timestamp_rejections(exch: ExchangeProcess) -> None:
    """A wrong secret (-1022), an unknown key (-2015) and a stale timestamp (-1021) are refused."""
    async def balance(ex):
        try:
            await ex.fetch_balance()
        except ccxt.BaseError as e:
            return type(e), str(e)
        return None, ""
    assert run(balance, exch, secret="wrong")[0] is ccxt.AuthenticationError
    assert "-1022" in run(balance, exch, secret="wrong")[1]
    assert "-2015" in run(balance, exch, key="nobody")[1]
    cls, msg = run(balance, exch, timeDifference=60_000)  # far past any recvWindow
    assert cls is ccxt.InvalidNonce
    assert "-1021" in msg
    assert run(balance, exch)[0] is None


def test_stamps_say_when_tickers_went_and_orders_and_cancels_came(
    exch: ExchangeProcess,
) -> None:
    """The benchmarks' clock: a price move returns when its ticker went; an order and its cancel
    are stamped on arrival (the cancel also when answered), in order; POST forgets them."""
    before = time.time()
    moved = exch.control("price", {"symbol": "BTC/USDT", "price": "50001"})
    assert before <= moved["sent_at"] <= time.time()

    async def go(ex):
        await ex.create_order("BTC/USDT", "limit", "buy", 0.01, 40000, {"clientOrderId": "s1"})
        await ex.cancel_order(None, "BTC/USDT", {"clientOrderId": "s1"})
    run(go, exch)
    stamps = exch.control("stamps", {})
    assert moved["sent_at"] < stamps["order_received"]["s1"]
    assert (stamps["order_received"]["s1"] < stamps["cancel_received"]["s1"]
            <= stamps["cancel_answered"]["s1"] <= time.time())
    assert stamps["ticker_sent"]["BTCUSDT"] == moved["sent_at"]
    assert exch.control("stamps") == {"ticker_sent": {}, "order_received": {},
                                      "cancel_received": {}, "cancel_answered": {}}
