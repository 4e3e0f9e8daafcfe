"""The matching book over plain values: orders, fills, trades, balances; no HTTP, no I/O.

Every symbol has a last price; best bid/ask sit ``spread_ticks`` apart around it. MARKET orders
and crossing LIMIT orders fill at once as taker at ask (buy) / bid (sell); other LIMIT orders rest
(funds locked) and fill at their limit price as maker when a price step crosses them. With
``max_fill_qty[symbol]`` set, one fill takes at most that quantity: a market order then sweeps in
several trades at once, a resting order fills a slice per price step (PARTIALLY_FILLED, FILLED).
Commission is ``fee_rate`` of the asset received, as Binance charges without BNB.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from decimal import Decimal

from tests.support.exchange import errors
from tests.support.exchange.filters import Spec, fmt

D = Decimal
ZERO = D(0)
OPEN = ("NEW", "PARTIALLY_FILLED")


@dataclass
class Order:
    """One order as the exchange holds it (values as Decimal strings for persistence)."""

    orderId: int
    symbol: str
    clientOrderId: str
    side: str
    type: str
    timeInForce: str
    price: str
    origQty: str
    time: int
    updateTime: int
    executedQty: str = "0"
    cummulativeQuoteQty: str = "0"
    status: str = "NEW"
    origQuoteOrderQty: str = "0"
    locked: str = "0"

    def view(self) -> dict[str, object]:
        """The Binance order object (GET /api/v3/order)."""
        return {
            "symbol": self.symbol,
            "orderId": self.orderId,
            "orderListId": -1,
            "clientOrderId": self.clientOrderId,
            "price": fmt(D(self.price)),
            "origQty": fmt(D(self.origQty)),
            "executedQty": fmt(D(self.executedQty)),
            "cummulativeQuoteQty": fmt(D(self.cummulativeQuoteQty)),
            "status": self.status,
            "timeInForce": self.timeInForce,
            "type": self.type,
            "side": self.side,
            "stopPrice": "0.00000000",
            "icebergQty": "0.00000000",
            "time": self.time,
            "updateTime": self.updateTime,
            "isWorking": self.status in OPEN or self.type == "MARKET",
            "workingTime": self.time,
            "origQuoteOrderQty": fmt(D(self.origQuoteOrderQty)),
            "selfTradePreventionMode": "NONE",
        }

    @property
    def remaining(self) -> Decimal:
        """Quantity not yet filled."""
        return D(self.origQty) - D(self.executedQty)


@dataclass
class Trade:
    """One fill of our account (GET /api/v3/myTrades row)."""

    id: int
    orderId: int
    symbol: str
    price: str
    qty: str
    quoteQty: str
    commission: str
    commissionAsset: str
    time: int
    isBuyer: bool
    isMaker: bool

    def view(self) -> dict[str, object]:
        """The Binance myTrades object."""
        d: dict[str, object] = asdict(self)
        for k in ("price", "qty", "quoteQty", "commission"):
            d[k] = fmt(D(str(d[k])))
        d["orderListId"] = -1
        d["isBestMatch"] = True
        return d


@dataclass
class Book:
    """All orders, trades and balances of the one account, plus prices per symbol."""

    specs: dict[str, Spec]
    prices: dict[str, Decimal]
    balances: dict[str, list[Decimal]] = field(default_factory=dict)  # asset -> [free, locked]
    orders: dict[int, Order] = field(default_factory=dict)
    """By orderId, inserted in orderId order (placed in turn, loaded ``ORDER BY id``): scans
    need no sort, and the newest order with a client id is the last one."""
    trades: list[Trade] = field(default_factory=list)
    client_ids: dict[str, int] = field(default_factory=dict)  # every accepted id -> times
    duplicates: int = 0
    next_order_id: int = 1
    next_trade_id: int = 1
    spread_ticks: int = 2
    fee_rate: Decimal = D("0.001")
    max_fill_qty: dict[str, Decimal] = field(default_factory=dict)
    dirty_orders: set[int] = field(default_factory=set)
    dirty_client_ids: set[str] = field(default_factory=set)
    new_trades: list[Trade] = field(default_factory=list)

    # -- prices -------------------------------------------------------------------------
    def spec(self, symbol: str) -> Spec:
        """The spec of a Binance symbol id, or -1121."""
        spec = self.specs.get(symbol.upper()) if symbol else None
        if spec is None:
            raise errors.BinanceError(errors.BAD_SYMBOL)
        return spec

    def bid_ask(self, symbol: str) -> tuple[Decimal, Decimal]:
        """Best bid and ask around the last price."""
        spec = self.spec(symbol)
        half = spec.tick * (self.spread_ticks // 2)
        bid = max(spec.tick, self.prices[symbol] - half)
        return bid, bid + spec.tick * max(1, self.spread_ticks)

    def set_price(self, symbol: str, price: Decimal, now: int) -> list[Trade]:
        """Move a symbol's price and fill what rests on the crossed side; return new trades."""
        spec = self.spec(symbol)
        self.prices[spec.symbol] = max(spec.tick, (price // spec.tick) * spec.tick)
        bid, ask = self.bid_ask(spec.symbol)
        made: list[Trade] = []
        for o in list(self.orders.values()):  # in orderId order (see ``orders``)
            if o.symbol != spec.symbol or o.status not in OPEN:
                continue
            limit = D(o.price)
            if (o.side == "BUY" and ask <= limit) or (o.side == "SELL" and bid >= limit):
                made.append(self._fill(o, limit, self._slice(o), maker=True, now=now))
        return made

    # -- balances -----------------------------------------------------------------------
    def _bal(self, asset: str) -> list[Decimal]:
        return self.balances.setdefault(asset, [ZERO, ZERO])

    def _lock(self, asset: str, amount: Decimal) -> None:
        b = self._bal(asset)
        if b[0] < amount:
            raise errors.BinanceError(errors.INSUFFICIENT)
        b[0] -= amount
        b[1] += amount

    # -- orders -------------------------------------------------------------------------
    def open_client_ids(self, symbol: str) -> set[str]:
        """Client ids of this symbol's open orders."""
        return {o.clientOrderId for o in self.orders.values()
                if o.symbol == symbol and o.status in OPEN}

    def place(
        self,
        *,
        symbol: str,
        side: str,
        type_: str,
        quantity: Decimal | None,
        price: Decimal | None,
        tif: str | None,
        quote_qty: Decimal | None,
        client_id: str,
        now: int,
    ) -> tuple[Order, list[Trade]]:
        """Validate, accept and match one order; raise ``BinanceError`` on a reject."""
        spec = self.spec(symbol)
        if side not in ("BUY", "SELL"):
            raise errors.BinanceError(errors.BAD_SIDE)
        if type_ not in ("LIMIT", "MARKET", "LIMIT_MAKER"):
            raise errors.BinanceError(errors.BAD_ORDER_TYPE)
        bid, ask = self.bid_ask(spec.symbol)
        touch = ask if side == "BUY" else bid
        if type_ == "MARKET":
            if quantity is None and quote_qty is None:
                raise errors.BinanceError(errors.MANDATORY, name="quantity")
            if quantity is None and quote_qty is not None:
                quantity = (quote_qty / touch // spec.step) * spec.step
                if quantity <= 0:
                    raise errors.BinanceError(errors.FILTER, name="LOT_SIZE")
            assert quantity is not None
            spec.check_qty(quantity, market=True)
            spec.check_notional(quantity * touch)
            tif, limit = "GTC", ZERO
        else:
            if quantity is None:
                raise errors.BinanceError(errors.MANDATORY, name="quantity")
            if price is None:
                raise errors.BinanceError(errors.MANDATORY, name="price")
            if type_ == "LIMIT" and tif is None:
                raise errors.BinanceError(errors.MANDATORY, name="timeInForce")
            tif = tif or "GTC"
            if tif not in ("GTC", "IOC", "FOK"):
                raise errors.BinanceError(errors.BAD_TIF)
            spec.check_price(price)
            spec.check_qty(quantity, market=False)
            spec.check_notional(quantity * price)
            limit = price
        if client_id in self.open_client_ids(spec.symbol):
            self.duplicates += 1
            raise errors.BinanceError(errors.DUPLICATE)
        crosses = type_ == "MARKET" or (side == "BUY" and limit >= ask) or (
            side == "SELL" and limit <= bid)
        if type_ == "LIMIT_MAKER" and crosses:
            raise errors.BinanceError(
                errors.REJECTED, reason="Order would immediately match and take.")
        # funds: a buy reserves quote at its limit (market: at the ask), a sell its base
        need_asset = spec.quote if side == "BUY" else spec.base
        need = (quantity * (limit if type_ != "MARKET" else ask)) if side == "BUY" else quantity
        self._lock(need_asset, need)
        order = Order(
            orderId=self.next_order_id, symbol=spec.symbol, clientOrderId=client_id, side=side,
            type=type_, timeInForce=tif, price=str(limit), origQty=str(quantity), time=now,
            updateTime=now, origQuoteOrderQty=str(quote_qty or ZERO), locked=str(need),
        )
        self.next_order_id += 1
        self.orders[order.orderId] = order
        self.client_ids[client_id] = self.client_ids.get(client_id, 0) + 1
        self.dirty_client_ids.add(client_id)
        self.dirty_orders.add(order.orderId)
        made: list[Trade] = []
        if crosses:
            if tif == "FOK" and self._slice(order) < D(order.origQty):
                order.status = "EXPIRED"
            else:
                made.append(self._fill(order, touch, self._slice(order), maker=False, now=now))
                while type_ == "MARKET" and order.remaining > 0:
                    made.append(self._fill(order, touch, self._slice(order), maker=False, now=now))
        if (type_ != "LIMIT" or tif != "GTC") and order.status in OPEN:
            order.status = "EXPIRED"
        if order.status not in OPEN:
            self._release(order)
        return order, made

    def _slice(self, o: Order) -> Decimal:
        cap = self.max_fill_qty.get(o.symbol)
        return o.remaining if cap is None or cap <= 0 else min(o.remaining, cap)

    def _fill(self, o: Order, price: Decimal, qty: Decimal, *, maker: bool, now: int) -> Trade:
        spec = self.specs[o.symbol]
        quote_amt = price * qty
        base_b, quote_b = self._bal(spec.base), self._bal(spec.quote)
        if o.side == "BUY":
            per_unit = D(o.price) if o.type != "MARKET" else D(o.locked) / o.remaining
            reserved = qty * per_unit
            quote_b[1] -= reserved
            quote_b[0] += reserved - quote_amt
            o.locked = str(D(o.locked) - reserved)
            fee, fee_asset = (qty * self.fee_rate).quantize(D("1e-8")), spec.base
            base_b[0] += qty - fee
        else:
            base_b[1] -= qty
            o.locked = str(D(o.locked) - qty)
            fee, fee_asset = (quote_amt * self.fee_rate).quantize(D("1e-8")), spec.quote
            quote_b[0] += quote_amt - fee
        o.executedQty = str(D(o.executedQty) + qty)
        o.cummulativeQuoteQty = str(D(o.cummulativeQuoteQty) + quote_amt)
        o.status = "FILLED" if o.remaining <= 0 else "PARTIALLY_FILLED"
        o.updateTime = now
        self.dirty_orders.add(o.orderId)
        t = Trade(
            id=self.next_trade_id, orderId=o.orderId, symbol=o.symbol, price=str(price),
            qty=str(qty), quoteQty=str(quote_amt), commission=str(fee), commissionAsset=fee_asset,
            time=now, isBuyer=o.side == "BUY", isMaker=maker,
        )
        self.next_trade_id += 1
        self.trades.append(t)
        self.new_trades.append(t)
        return t

    def _release(self, o: Order) -> None:
        left = D(o.locked)
        if left > 0:
            spec = self.specs[o.symbol]
            b = self._bal(spec.quote if o.side == "BUY" else spec.base)
            b[1] -= left
            b[0] += left
            o.locked = "0"
            self.dirty_orders.add(o.orderId)

    def find(self, symbol: str, order_id: int | None, client_id: str | None) -> Order:
        """An order by id or client id (the newest with that client id), else -2013."""
        spec = self.spec(symbol)
        if order_id is not None:
            o = self.orders.get(order_id)
            if o is not None and o.symbol == spec.symbol:
                return o
        elif client_id is not None:
            for o in reversed(self.orders.values()):  # newest first (see ``orders``)
                if o.symbol == spec.symbol and o.clientOrderId == client_id:
                    return o
        else:
            raise errors.BinanceError(errors.MANDATORY, name="orderId")
        raise errors.BinanceError(errors.NO_SUCH_ORDER)

    def cancel(self, symbol: str, order_id: int | None, client_id: str | None, now: int) -> Order:
        """Cancel one open order, else -2011."""
        try:
            o = self.find(symbol, order_id, client_id)
        except errors.BinanceError as e:
            if e.code == errors.NO_SUCH_ORDER.code:
                raise errors.BinanceError(errors.CANCEL_REJECTED) from None
            raise
        if o.status not in OPEN:
            raise errors.BinanceError(errors.CANCEL_REJECTED)
        o.status, o.updateTime = "CANCELED", now
        self._release(o)
        self.dirty_orders.add(o.orderId)
        return o

    def open_orders(self, symbol: str | None) -> list[Order]:
        """Open orders, of one symbol or all."""
        if symbol is not None:
            symbol = self.spec(symbol).symbol
        return [o for o in self.orders.values()
                if o.status in OPEN and (symbol is None or o.symbol == symbol)]
