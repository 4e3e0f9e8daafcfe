"""Pure decoders over the dicts ccxt returns: each field checked, or ``VenueBadInput`` naming it.

ccxt adds fields (``info``, ``datetime`` ...) and venues add more over time: unknown keys are
ignored. Numbers must be real numbers (not strings, not bools), finite and non-negative, with
prices > 0 where a price is required; anything else is refused, never guessed at.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from typing import Any

from actors.execution.messages import OrderStatus, Side
from actors.venue.errors import UnknownClientOrder, VenueBadInput
from actors.venue.types import BalanceLine, FillCosts, VenueOrder, VenueQuote, VenueTrade

STATUSES: Mapping[str, OrderStatus] = {
    "open": OrderStatus.SUBMITTED,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELLED,
    "expired": OrderStatus.CANCELLED,  # cancelled by the venue; ``filled`` keeps what filled
    "rejected": OrderStatus.REJECTED,
}
"""ccxt's unified order statuses, in the project's terms."""

_SIDES = {"buy": Side.BUY, "sell": Side.SELL}
_SYMBOL = re.compile(r"[A-Z0-9]+/[A-Z0-9]+(?::[A-Z0-9]+)?")
_BALANCE_META = frozenset({"info", "timestamp", "datetime", "free", "used", "total", "debt"})
_FILL_TOLERANCE = 1e-9  # relative: filled == amount printed through floats


def _mapping(d: object, what: str) -> Mapping[str, Any]:
    if not isinstance(d, Mapping):
        raise VenueBadInput(what, f"expected a dict, got {type(d).__name__}")
    return d


def _str(d: Mapping[str, Any], key: str, what: str, *, optional: bool = False) -> str | None:
    value = d.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise VenueBadInput(f"{what}.{key}", f"expected a non-empty string, got {value!r:.80}")
    return value


def _num(
    d: Mapping[str, Any], key: str, what: str, *, optional: bool = False, positive: bool = False
) -> float | None:
    value = d.get(key)
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise VenueBadInput(f"{what}.{key}", f"expected a number, got {value!r:.80}")
    try:
        number = float(value)
    except OverflowError:  # an int past float range
        raise VenueBadInput(
            f"{what}.{key}", f"an integer of {int(value).bit_length()} bits is out of range"
        ) from None
    if not math.isfinite(number):
        raise VenueBadInput(f"{what}.{key}", f"{value!r} is not finite")
    if number < 0 or (positive and number == 0):
        bound = "> 0" if positive else ">= 0"
        raise VenueBadInput(f"{what}.{key}", f"{value!r} is not {bound}")
    return number


def _req(d: Mapping[str, Any], key: str, what: str, *, positive: bool = False) -> float:
    number = _num(d, key, what, positive=positive)
    assert number is not None
    return number


def _ts(d: Mapping[str, Any], what: str) -> int | None:
    number = _num(d, "timestamp", what, optional=True)
    return None if number is None else int(number)


def _symbol(d: Mapping[str, Any], what: str) -> str:
    symbol = _str(d, "symbol", what)
    assert symbol is not None
    if not _SYMBOL.fullmatch(symbol):
        raise VenueBadInput(f"{what}.symbol", f"{symbol!r:.80} is not BASE/QUOTE")
    return symbol


def _side(d: Mapping[str, Any], what: str) -> Side:
    value = d.get("side")
    side = _SIDES.get(value) if isinstance(value, str) else None
    if side is None:
        raise VenueBadInput(f"{what}.side", f"expected 'buy' or 'sell', got {value!r:.80}")
    return side


def decode_order(d: object, *, known_client_ids: Collection[str]) -> VenueOrder:
    """A ccxt order dict, checked.

    Raises:
        UnknownClientOrder: A well-formed order whose client order id is not one we sent (or
            that has none); the decoded order is on ``.order`` for the reconciler.
        VenueBadInput: Any field missing, mistyped or out of range.
    """
    m = _mapping(d, "order")
    venue_id = _str(m, "id", "order")
    assert venue_id is not None
    client_id = _str(m, "clientOrderId", "order", optional=True)
    status_raw = m.get("status")
    status = STATUSES.get(status_raw) if isinstance(status_raw, str) else None
    if status is None:
        raise VenueBadInput(
            "order.status", f"{status_raw!r:.80} is not one of {', '.join(STATUSES)}"
        )
    amount = _req(m, "amount", "order", positive=True)
    filled = _num(m, "filled", "order", optional=True) or 0.0
    if filled > amount * (1 + _FILL_TOLERANCE):
        raise VenueBadInput("order.filled", f"{filled!r} exceeds amount {amount!r}")
    price = _num(m, "price", "order", optional=True) or None  # 0: a market order's "no price"
    average = _num(m, "average", "order", optional=True) or None
    order = VenueOrder(
        venue_order_id=venue_id, client_order_id=client_id or "", symbol=_symbol(m, "order"),
        side=_side(m, "order"), status=status, venue_status=str(status_raw), amount=amount,
        filled=min(filled, amount), price=price, average=average, timestamp_ms=_ts(m, "order"),
    )
    if client_id is None or client_id not in known_client_ids:
        error = UnknownClientOrder(
            "order.clientOrderId",
            f"{client_id!r:.80} was never sent by us (venue order {venue_id!r:.40})",
        )
        error.order = order
        raise error
    return order


def cancel_answer(d: object, client_order_id: str) -> object:
    """A cancel's answer as the order it cancelled, for ``decode_order``.

    Binance answers a cancel with the cancel request's own id as ``clientOrderId`` (made up by
    the venue when none is sent) and the order's as ``origClientOrderId``; ccxt keeps the first.
    Only when the venue's own answer (``info``) names ``client_order_id`` as the original is the
    order taken to be ours; an answer with no status is a cancel's (``canceled``). Anything
    that is not a dict is handed on unchanged, for ``decode_order`` to refuse.
    """
    if not isinstance(d, Mapping):
        return d
    out = {**d, "status": d.get("status") or "canceled"}
    info = d.get("info")
    if isinstance(info, Mapping) and info.get("origClientOrderId") == client_order_id:
        out["clientOrderId"] = client_order_id
    return out


def decode_trade(d: object) -> VenueTrade:
    """A ccxt trade dict (one fill), checked; the trade id is required (fills reconcile by it)."""
    m = _mapping(d, "trade")
    trade_id = _str(m, "id", "trade")
    assert trade_id is not None
    fee_cost, fee_currency = 0.0, ""
    fee = m.get("fee")
    if fee is not None:
        fm = _mapping(fee, "trade.fee")
        fee_cost = _num(fm, "cost", "trade.fee", optional=True) or 0.0
        fee_currency = _str(fm, "currency", "trade.fee", optional=True) or ""
    return VenueTrade(
        trade_id=trade_id, venue_order_id=_str(m, "order", "trade", optional=True),
        symbol=_symbol(m, "trade"), side=_side(m, "trade"),
        price=_req(m, "price", "trade", positive=True),
        amount=_req(m, "amount", "trade", positive=True),
        fee=fee_cost, fee_currency=fee_currency, timestamp_ms=_ts(m, "trade"),
    )


def _fees(m: Mapping[str, Any], what: str) -> dict[str, float]:
    """A ccxt trade's fees (its ``fees`` list, else its one ``fee``) by currency."""
    listed = m.get("fees")
    if listed is None or listed == []:
        listed = [] if m.get("fee") is None else [m["fee"]]
    if not isinstance(listed, list):
        raise VenueBadInput(f"{what}.fees", f"expected a list, got {type(listed).__name__}")
    out: dict[str, float] = {}
    for i, fee in enumerate(listed):
        fm = _mapping(fee, f"{what}.fees[{i}]")
        cost = _num(fm, "cost", f"{what}.fees[{i}]", optional=True) or 0.0
        if cost == 0:
            continue  # a zero fee names no currency worth booking (ccxt may give none)
        currency = _str(fm, "currency", f"{what}.fees[{i}]")
        assert currency is not None
        out[currency] = out.get(currency, 0.0) + cost
    return out


def decode_fill_costs(trades: object, what: str = "order.trades") -> FillCosts:
    """An order's trades (ccxt's ``trades`` of an order, or ``fetch_my_trades`` for one order
    id), checked and added up: quantity, notional and fees by currency."""
    if not isinstance(trades, list):
        raise VenueBadInput(what, f"expected a list, got {type(trades).__name__}")
    quantity = notional = 0.0
    fees: dict[str, float] = {}
    for i, trade in enumerate(trades):
        here = f"{what}[{i}]"
        m = _mapping(trade, here)
        amount = _req(m, "amount", here, positive=True)
        quantity += amount
        notional += amount * _req(m, "price", here, positive=True)
        for currency, cost in _fees(m, here).items():
            fees[currency] = fees.get(currency, 0.0) + cost
    return FillCosts(quantity=quantity, notional=notional, fees=fees)


def decode_ticker(d: object) -> VenueQuote:
    """A ccxt ticker dict, checked: at least one price, and bid <= ask when both are given."""
    m = _mapping(d, "ticker")
    bid = _num(m, "bid", "ticker", optional=True, positive=True)
    ask = _num(m, "ask", "ticker", optional=True, positive=True)
    last = _num(m, "last", "ticker", optional=True, positive=True)
    if bid is None and ask is None and last is None:
        raise VenueBadInput("ticker", "no bid, ask or last price")
    if bid is not None and ask is not None and bid > ask:
        raise VenueBadInput("ticker.bid", f"bid {bid!r} is above ask {ask!r} (crossed book)")
    return VenueQuote(
        symbol=_symbol(m, "ticker"), bid=bid, ask=ask, last=last, timestamp_ms=_ts(m, "ticker")
    )


def decode_balance(d: object) -> dict[str, BalanceLine]:
    """A ccxt balance dict: one line per currency (``{"BTC": {"free", "used", "total"}}``)."""
    m = _mapping(d, "balance")
    out: dict[str, BalanceLine] = {}
    for currency, line in m.items():
        if currency in _BALANCE_META:
            continue
        if not isinstance(currency, str) or not currency:
            raise VenueBadInput("balance", f"currency {currency!r:.40} is not a code")
        what = f"balance.{currency:.20}"
        lm = _mapping(line, what)
        free = _num(lm, "free", what, optional=True) or 0.0
        used = _num(lm, "used", what, optional=True) or 0.0
        total = _num(lm, "total", what, optional=True)
        out[currency] = BalanceLine(free, used, free + used if total is None else total)
    return out
