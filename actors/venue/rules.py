"""Pure venue rules: what a ccxt error means for an order, and an order fitted to the market.

``classify`` turns an exception from a ccxt call into a ``RejectReason`` and whether the outcome
is *definite*. ``definite=False`` means the order may or may not exist at the venue (a timeout, a
reset, a 5xx, an unknown error): the caller must look it up by client order id, never resend
blindly. ``prepare`` applies the market's precision and limits before an order leaves, so the
venue never rejects what we could have known.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ccxt.base import errors as ce

from actors.execution.messages import Side


class RejectReason(enum.Enum):
    """Why an order did not (or may not) stand at the venue."""

    INSUFFICIENT_BALANCE = "insufficient_balance"
    FILTER_VIOLATION = "filter_violation"
    """Lot size, price filter, max notional, precision."""
    BELOW_MIN_NOTIONAL = "below_min_notional"
    UNKNOWN_SYMBOL = "unknown_symbol"
    RATE_LIMITED = "rate_limited"
    AUTH_FAILED = "auth_failed"
    CLOCK_SKEW = "clock_skew"
    """Nonce / timestamp outside recvWindow (Binance -1021)."""
    UNKNOWN_ORDER = "unknown_order"
    VENUE_UNAVAILABLE = "venue_unavailable"
    BAD_REQUEST = "bad_request"
    STATUS_UNKNOWN = "status_unknown"
    """The venue's answer does not say whether the order exists: look it up."""


@dataclass(frozen=True)
class Outcome:
    """What a failed venue call means."""

    reason: RejectReason
    """Why."""
    definite: bool
    """True: the venue certainly did not act on the request. False: look the order up by
    client order id before doing anything else with it."""
    detail: str = ""
    """The exception's class and message."""


# Most specific first: ccxt's hierarchy nests (OrderNotFound < InvalidOrder, BadSymbol <
# BadRequest, RateLimitExceeded/DDoSProtection/InvalidNonce/RequestTimeout < NetworkError,
# OnMaintenance < ExchangeNotAvailable, PermissionDenied < AuthenticationError).
_TABLE: tuple[tuple[type[BaseException], RejectReason, bool], ...] = (
    (ce.ChecksumError, RejectReason.VENUE_UNAVAILABLE, False),  # an InvalidNonce, oddly; a stream
    (ce.InvalidNonce, RejectReason.CLOCK_SKEW, True),
    (ce.RateLimitExceeded, RejectReason.RATE_LIMITED, True),
    (ce.DDoSProtection, RejectReason.RATE_LIMITED, True),  # 418/429: refused, not processed
    (ce.RequestTimeout, RejectReason.VENUE_UNAVAILABLE, False),
    (ce.ExchangeNotAvailable, RejectReason.VENUE_UNAVAILABLE, False),  # includes OnMaintenance
    (ce.NetworkError, RejectReason.VENUE_UNAVAILABLE, False),
    (ce.OrderNotFound, RejectReason.UNKNOWN_ORDER, True),
    (ce.DuplicateOrderId, RejectReason.STATUS_UNKNOWN, False),  # it exists: look it up
    (ce.InvalidOrder, RejectReason.FILTER_VIOLATION, True),
    (ce.InsufficientFunds, RejectReason.INSUFFICIENT_BALANCE, True),
    (ce.BadSymbol, RejectReason.UNKNOWN_SYMBOL, True),
    (ce.AuthenticationError, RejectReason.AUTH_FAILED, True),
    (ce.BadRequest, RejectReason.BAD_REQUEST, True),
    (ce.OperationRejected, RejectReason.BAD_REQUEST, True),
    (ce.NotSupported, RejectReason.BAD_REQUEST, True),
    (ce.ArgumentsRequired, RejectReason.BAD_REQUEST, True),
    (ce.ExchangeError, RejectReason.STATUS_UNKNOWN, False),
    (ce.BaseError, RejectReason.STATUS_UNKNOWN, False),  # OperationFailed: Binance -1000/-1001
    (OSError, RejectReason.VENUE_UNAVAILABLE, False),  # TimeoutError, ConnectionResetError ...
)


def _refine(text: str, reason: RejectReason, definite: bool) -> tuple[RejectReason, bool]:
    """Binance says some things only in the message (ccxt maps -1013 to BadRequest or
    InvalidOrder by text, and -2010 to InvalidOrder for a duplicate)."""
    if "Duplicate order sent" in text:  # -2010: the client order id is already at the venue
        return RejectReason.STATUS_UNKNOWN, False
    if reason in (RejectReason.BAD_REQUEST, RejectReason.FILTER_VIOLATION):
        # "Filter failure: NOTIONAL" is Binance's for both bounds; prepare() has checked the
        # max already, so what reaches the venue and fails it is the min.
        if "NOTIONAL" in text:
            return RejectReason.BELOW_MIN_NOTIONAL, True
        if "Filter failure" in text or "LOT_SIZE" in text or "PRICE_FILTER" in text:
            return RejectReason.FILTER_VIOLATION, True
    return reason, definite


def classify(exc: BaseException) -> Outcome:
    """The reason and definiteness of an exception raised by a ccxt call (any exception)."""
    detail = f"{type(exc).__name__}: {exc}"
    for cls, reason, definite in _TABLE:
        if isinstance(exc, cls):
            return Outcome(*_refine(str(exc), reason, definite), detail)
    return Outcome(RejectReason.STATUS_UNKNOWN, False, detail)


# --- pre-trade fit to the market -----------------------------------------------------------------


@dataclass(frozen=True)
class PreparedOrder:
    """An order fitted to the market: what is sent."""

    side: Side
    """Buy or sell."""
    quantity: float
    """Quantity rounded down to the lot step."""
    price: float | None
    """Limit price rounded to the tick; None for a market order."""
    notional: float
    """quantity x price (x the reference price for a market order)."""


@dataclass(frozen=True)
class Rejection:
    """An order refused before it left, naming the limit and the values."""

    reason: RejectReason
    """``filter_violation`` or ``below_min_notional`` (``bad_request`` for a bad value)."""
    limit: str
    """Which market field (``limits.amount.min``, ``precision.amount`` ...)."""
    detail: str
    """The value, the limit, in words."""


Precision = Callable[[str, float], str]


def _limit(market: Mapping[str, Any], group: str, bound: str) -> float | None:
    value = (market.get("limits") or {}).get(group, {}) or {}
    v = value.get(bound)
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) and v > 0 else None


def prepare(
    side: Side, quantity: float, price: float | None, market: Mapping[str, Any], *,
    amount_to_precision: Precision, price_to_precision: Precision,
    reference_price: float | None = None,
) -> PreparedOrder | Rejection:
    """Fit an order to ``market`` (a ccxt unified market), or say which limit it breaks.

    Args:
        side: Buy or sell.
        quantity: Wanted quantity (> 0); rounded DOWN to the step, never up.
        price: Limit price (> 0), rounded to the tick; None for a market order.
        market: ``exchange.markets[symbol]``: ``symbol``, ``precision``, ``limits``.
        amount_to_precision: The loaded exchange's ``amount_to_precision``.
        price_to_precision: The loaded exchange's ``price_to_precision``.
        reference_price: For a market order, the price the min notional is judged at.
    """
    symbol = str(market.get("symbol", ""))
    for name, value in (("quantity", quantity), ("price", price), ("reference_price",
                                                                    reference_price)):
        if value is not None and not (math.isfinite(value) and value > 0):
            return Rejection(RejectReason.BAD_REQUEST, name, f"{name} {value!r} is not > 0")
    try:
        qty = float(amount_to_precision(symbol, quantity))
    except (ce.BaseError, ArithmeticError, ValueError) as exc:  # below one step: InvalidOrder
        return Rejection(RejectReason.FILTER_VIOLATION, "precision.amount",
                         f"quantity {quantity} rounds to nothing on {symbol}: {exc}")
    if qty > quantity:  # ccxt rounds amounts down (TRUNCATE); refuse anything that did not
        step = (market.get("precision") or {}).get("amount")
        return Rejection(RejectReason.FILTER_VIOLATION, "precision.amount",
                         f"quantity {quantity} rounded up to {qty} (step {step})")
    px: float | None = None
    if price is not None:
        try:
            px = float(price_to_precision(symbol, price))
        except (ce.BaseError, ArithmeticError, ValueError) as exc:
            return Rejection(RejectReason.FILTER_VIOLATION, "precision.price",
                             f"price {price} has no tick on {symbol}: {exc}")
    checks: list[tuple[str, float | None, float | None, bool]] = [
        ("limits.amount.min", qty, _limit(market, "amount", "min"), True),
        ("limits.amount.max", qty, _limit(market, "amount", "max"), False),
        ("limits.price.min", px, _limit(market, "price", "min"), True),
        ("limits.price.max", px, _limit(market, "price", "max"), False),
    ]
    judged = px if px is not None else reference_price
    notional = qty * judged if judged is not None else 0.0
    if judged is not None:
        checks.append(("limits.cost.min", notional, _limit(market, "cost", "min"), True))
        checks.append(("limits.cost.max", notional, _limit(market, "cost", "max"), False))
    for name, value, bound, is_min in checks:
        if value is None or bound is None:
            continue
        if (value < bound) if is_min else (value > bound):
            reason = (RejectReason.BELOW_MIN_NOTIONAL if name == "limits.cost.min"
                      else RejectReason.FILTER_VIOLATION)
            what = "below" if is_min else "above"
            return Rejection(reason, name,
                             f"{symbol}: {value:g} is {what} {name} {bound:g} "
                             f"(asked quantity {quantity}, price {price})")
    return PreparedOrder(side, qty, px, notional)
