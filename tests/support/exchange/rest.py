"""The /api/v3 endpoints: each takes the exchange and the request's params, returns JSON."""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from tests.support.exchange import errors
from tests.support.exchange.filters import exchange_info, fmt
from tests.support.exchange.prices import INTERVALS_MS

if TYPE_CHECKING:
    from tests.support.exchange.server import Exchange

Params = dict[str, str]


def _need(p: Params, name: str) -> str:
    v = p.get(name)
    if v is None or v == "":
        raise errors.BinanceError(errors.MANDATORY, name=name)
    return v


def _dec(p: Params, name: str) -> Decimal | None:
    v = p.get(name)
    if v is None:
        return None
    try:
        d = Decimal(v)
    except InvalidOperation:
        raise errors.BinanceError(errors.ILLEGAL_CHARS, name=name,
                                  legal="^([0-9]{1,20})(\\.[0-9]{1,20})?$") from None
    if not d.is_finite():
        raise errors.BinanceError(errors.ILLEGAL_CHARS, name=name, legal="finite")
    return d


def _int(p: Params, name: str, default: int | None = None) -> int | None:
    v = p.get(name)
    if v is None or v == "":
        return default
    try:
        return int(v)
    except ValueError:
        raise errors.BinanceError(errors.ILLEGAL_CHARS, name=name, legal="^[0-9]{1,20}$") from None


def _symbols(ex: Exchange, p: Params) -> list[str] | None:
    """``symbol`` / ``symbols=["A","B"]`` as a list of known ids; None when neither is given."""
    if "symbol" in p:
        return [ex.book.spec(p["symbol"]).symbol]
    if "symbols" in p:
        try:
            names = json.loads(p["symbols"])
        except ValueError:
            raise errors.BinanceError(errors.BAD_SYMBOL) from None
        return [ex.book.spec(n).symbol for n in names]
    return None


def _one_or_all(ex: Exchange, p: Params, view: Any) -> Any:
    syms = _symbols(ex, p)
    if "symbol" in p:
        return view(syms[0]) if syms else None
    return [view(s) for s in (syms if syms is not None else list(ex.book.specs))]


def ping(ex: Exchange, p: Params) -> Any:
    return {}


def time(ex: Exchange, p: Params) -> Any:
    return {"serverTime": ex.now()}


def exchange_info_(ex: Exchange, p: Params) -> Any:
    syms = _symbols(ex, p)
    specs = [ex.book.specs[s] for s in (syms if syms is not None else ex.book.specs)]
    return exchange_info(specs, ex.now(), ex.weights.limit, ex.orders_per_10s)


def ticker_24hr(ex: Exchange, p: Params) -> Any:
    return _one_or_all(ex, p, ex.ticker24)


def ticker_book(ex: Exchange, p: Params) -> Any:
    def view(s: str) -> dict[str, str]:
        bid, ask = ex.book.bid_ask(s)
        return {"symbol": s, "bidPrice": fmt(bid), "bidQty": ex.touch_qty, "askPrice": fmt(ask),
                "askQty": ex.touch_qty}
    return _one_or_all(ex, p, view)


def ticker_price(ex: Exchange, p: Params) -> Any:
    return _one_or_all(ex, p, lambda s: {"symbol": s, "price": fmt(ex.book.prices[s])})


def depth(ex: Exchange, p: Params) -> Any:
    spec = ex.book.spec(_need(p, "symbol"))
    limit = min(_int(p, "limit", 100) or 100, 5000)
    bid, ask = ex.book.bid_ask(spec.symbol)
    return {
        "lastUpdateId": ex.update_id,
        "bids": [[fmt(bid - spec.tick * i), ex.touch_qty] for i in range(limit)
                 if bid - spec.tick * i > 0],
        "asks": [[fmt(ask + spec.tick * i), ex.touch_qty] for i in range(limit)],
    }


def klines(ex: Exchange, p: Params) -> Any:
    spec = ex.book.spec(_need(p, "symbol"))
    interval = _need(p, "interval")
    if interval not in INTERVALS_MS:
        raise errors.BinanceError(errors.BAD_INTERVAL)
    limit = min(_int(p, "limit", 500) or 500, 1000)
    now = _int(p, "endTime") or ex.now()
    return ex.stats[spec.symbol].klines(interval, now, limit, ex.book.prices[spec.symbol])


def _order_result(o: dict[str, Any], trades: list[Any], kind: str, now: int) -> dict[str, Any]:
    ack = {k: o[k] for k in ("symbol", "orderId", "orderListId", "clientOrderId")}
    ack["transactTime"] = now
    if kind == "ACK":
        return ack
    result = {**ack, **{k: o[k] for k in (
        "price", "origQty", "executedQty", "origQuoteOrderQty", "cummulativeQuoteQty", "status",
        "timeInForce", "type", "side", "workingTime", "selfTradePreventionMode")}}
    if kind == "FULL":
        result["fills"] = [{"price": fmt(Decimal(t.price)), "qty": fmt(Decimal(t.qty)),
                            "commission": fmt(Decimal(t.commission)),
                            "commissionAsset": t.commissionAsset, "tradeId": t.id} for t in trades]
    return result


def _place(ex: Exchange, p: Params, *, test: bool) -> Any:
    symbol = _need(p, "symbol")
    ex.book.spec(symbol)
    side, type_ = _need(p, "side").upper(), _need(p, "type").upper()
    client_id = p.get("newClientOrderId") or f"x-local-{ex.book.next_order_id}-{ex.now()}"
    kind = p.get("newOrderRespType") or ("FULL" if type_ in ("LIMIT", "MARKET") else "ACK")
    if test:
        return {}
    now = ex.now()
    try:
        order, trades = ex.book.place(
            symbol=symbol, side=side, type_=type_, quantity=_dec(p, "quantity"),
            price=_dec(p, "price"), tif=p.get("timeInForce"), quote_qty=_dec(p, "quoteOrderQty"),
            client_id=client_id, now=now)
    except errors.BinanceError as e:
        if e.msg == errors.DUPLICATE.msg:
            ex.counters["duplicates_rejected"] += 1
        ex.counters["orders_rejected"] += 1
        ex.persist()
        raise
    ex.counters["orders_accepted"] += 1
    ex.persist()
    return _order_result(order.view(), trades, kind.upper(), now)


def order_post(ex: Exchange, p: Params) -> Any:
    return _place(ex, p, test=False)


def order_test(ex: Exchange, p: Params) -> Any:
    return _place(ex, p, test=True)


def order_get(ex: Exchange, p: Params) -> Any:
    o = ex.book.find(_need(p, "symbol"), _int(p, "orderId"), p.get("origClientOrderId"))
    return o.view()


def _cancel_view(o: dict[str, Any], cancel_id: str, now: int) -> dict[str, Any]:
    v = {k: o[k] for k in ("symbol", "orderId", "orderListId", "price", "origQty", "executedQty",
                           "cummulativeQuoteQty", "status", "timeInForce", "type", "side",
                           "selfTradePreventionMode", "origQuoteOrderQty")}
    return {**v, "origClientOrderId": o["clientOrderId"], "clientOrderId": cancel_id,
            "transactTime": now}


def order_delete(ex: Exchange, p: Params) -> Any:
    now = ex.now()
    o = ex.book.cancel(_need(p, "symbol"), _int(p, "orderId"), p.get("origClientOrderId"), now)
    ex.persist()
    return _cancel_view(o.view(), p.get("newClientOrderId") or f"cancel-{o.orderId}", now)


def open_orders_get(ex: Exchange, p: Params) -> Any:
    return [o.view() for o in ex.book.open_orders(p.get("symbol"))]


def open_orders_delete(ex: Exchange, p: Params) -> Any:
    symbol = _need(p, "symbol")
    now = ex.now()
    opens = ex.book.open_orders(symbol)
    if not opens:
        raise errors.BinanceError(errors.CANCEL_REJECTED)
    out = [_cancel_view(ex.book.cancel(symbol, o.orderId, None, now).view(),
                        f"cancel-{o.orderId}", now) for o in opens]
    ex.persist()
    return out


def all_orders(ex: Exchange, p: Params) -> Any:
    spec = ex.book.spec(_need(p, "symbol"))
    since, limit = _int(p, "orderId", 0) or 0, min(_int(p, "limit", 500) or 500, 1000)
    start, end = _int(p, "startTime", 0) or 0, _int(p, "endTime")
    rows = [o.view() for o in sorted(ex.book.orders.values(), key=lambda o: o.orderId)
            if o.symbol == spec.symbol and o.orderId >= since and o.time >= start
            and (end is None or o.time <= end)]
    return rows[:limit] if since or start else rows[-limit:]


def my_trades(ex: Exchange, p: Params) -> Any:
    spec = ex.book.spec(_need(p, "symbol"))
    from_id, oid = _int(p, "fromId"), _int(p, "orderId")
    start, end = _int(p, "startTime", 0) or 0, _int(p, "endTime")
    limit = min(_int(p, "limit", 500) or 500, 1000)
    rows = [t.view() for t in ex.book.trades
            if t.symbol == spec.symbol and (from_id is None or t.id >= from_id)
            and (oid is None or t.orderId == oid) and t.time >= start
            and (end is None or t.time <= end)]
    return rows[:limit] if from_id is not None or start else rows[-limit:]


def account(ex: Exchange, p: Params) -> Any:
    omit = p.get("omitZeroBalances", "false").lower() == "true"
    rates = {"maker": "0.00100000", "taker": "0.00100000", "buyer": "0.00000000",
             "seller": "0.00000000"}
    return {
        "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0,
        "sellerCommission": 0, "commissionRates": rates, "canTrade": True,
        "canWithdraw": True, "canDeposit": True, "brokered": False,
        "requireSelfTradePrevention": False, "preventSor": False, "updateTime": ex.now(),
        "accountType": "SPOT", "permissions": ["SPOT"], "uid": 1,
        "balances": [{"asset": a, "free": fmt(f), "locked": fmt(lk)}
                     for a, (f, lk) in sorted(ex.book.balances.items())
                     if not omit or f or lk],
    }


# (method, path under /api/v3) -> (handler, signed?)
ROUTES = {
    ("GET", "ping"): (ping, False),
    ("GET", "time"): (time, False),
    ("GET", "exchangeInfo"): (exchange_info_, False),
    ("GET", "ticker/24hr"): (ticker_24hr, False),
    ("GET", "ticker/bookTicker"): (ticker_book, False),
    ("GET", "ticker/price"): (ticker_price, False),
    ("GET", "depth"): (depth, False),
    ("GET", "klines"): (klines, False),
    ("POST", "order"): (order_post, True),
    ("POST", "order/test"): (order_test, True),
    ("GET", "order"): (order_get, True),
    ("DELETE", "order"): (order_delete, True),
    ("GET", "openOrders"): (open_orders_get, True),
    ("DELETE", "openOrders"): (open_orders_delete, True),
    ("GET", "allOrders"): (all_orders, True),
    ("GET", "myTrades"): (my_trades, True),
    ("GET", "account"): (account, True),
}
