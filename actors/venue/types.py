"""What the venue told us, decoded and checked: orders, trades, quotes and balance lines."""

from __future__ import annotations

from dataclasses import dataclass

from actors.execution.messages import OrderStatus, Side


@dataclass(frozen=True)
class VenueOrder:
    """An order as the venue reports it (ccxt's unified order)."""

    venue_order_id: str
    """The venue's id of the order."""
    client_order_id: str
    """Our client order id (one we sent)."""
    symbol: str
    """Unified symbol (``BTC/USDT``)."""
    side: Side
    """Buy or sell."""
    status: OrderStatus
    """The venue status in the project's terms (open: SUBMITTED, expired: CANCELLED)."""
    venue_status: str
    """ccxt's status: open, closed, canceled, expired or rejected."""
    amount: float
    """Ordered quantity (> 0)."""
    filled: float
    """Filled so far (0 <= filled <= amount)."""
    price: float | None
    """Limit price (> 0); None for a market order."""
    average: float | None
    """Average fill price (> 0); None before a fill."""
    timestamp_ms: int | None
    """Venue timestamp of the order, epoch milliseconds."""


@dataclass(frozen=True)
class VenueTrade:
    """One fill (ccxt's unified trade); fills are reconciled by ``trade_id``."""

    trade_id: str
    """The venue's trade id."""
    venue_order_id: str | None
    """The order it filled, when the venue says."""
    symbol: str
    """Unified symbol."""
    side: Side
    """Buy or sell."""
    price: float
    """Fill price (> 0)."""
    amount: float
    """Fill quantity (> 0)."""
    fee: float
    """Fee paid (>= 0; 0 when the venue gives none)."""
    fee_currency: str
    """Currency of the fee (empty when none)."""
    timestamp_ms: int | None
    """Venue timestamp of the fill, epoch milliseconds."""


@dataclass(frozen=True)
class VenueQuote:
    """Top of book and last price of one symbol (ccxt's unified ticker)."""

    symbol: str
    """Unified symbol."""
    bid: float | None
    """Best bid (> 0), if any."""
    ask: float | None
    """Best ask (> 0, >= bid), if any."""
    last: float | None
    """Last trade price (> 0), if any."""
    timestamp_ms: int | None
    """Venue timestamp, epoch milliseconds."""


@dataclass(frozen=True)
class BalanceLine:
    """Holdings of one currency."""

    free: float
    """Available to trade (>= 0)."""
    used: float
    """Locked in open orders (>= 0)."""
    total: float
    """free + used, as the venue reports it (>= 0)."""


@dataclass(frozen=True)
class FillCosts:
    """An order's fills added up from its trades: what filled, at what notional, and what the
    venue charged for it (by currency)."""

    quantity: float
    """Sum of the trades' amounts."""
    notional: float
    """Sum of amount x price (the average price is ``notional / quantity``)."""
    fees: dict[str, float]
    """Commission by currency (``{"BTC": 1e-05}``; {} where the venue charged none)."""
