"""Messages of the order lifecycle: intents in, order and position facts out."""

from __future__ import annotations

import enum

import msgspec

from actors._runtime.messages import Command, Event


class Side(enum.Enum):
    """Direction of an order."""

    BUY = "BUY"
    SELL = "SELL"


class OrderStatus(enum.Enum):
    """Lifecycle of an order, as execution records it."""

    PENDING_SUBMIT = "PENDING_SUBMIT"
    """Written locally; no broker has seen it yet."""
    SUBMITTED = "SUBMITTED"
    """The broker acknowledged it."""
    FILLED = "FILLED"
    """Completely filled (final)."""
    CANCELLED = "CANCELLED"
    """Cancelled (final)."""
    REJECTED = "REJECTED"
    """Refused by the gate or the broker (final)."""
    RECORDED = "RECORDED"
    """Shadow mode: written down as what would have been sent; nothing was sent (final)."""


class SubmitOrder(Command, frozen=True, forbid_unknown_fields=True, tag=True):
    """Orchestrator to execution: turn this intent into an order."""

    intent_id: str
    """Unique id of the intent; the client order id is derived from it."""
    instrument: str
    """Instrument symbol."""
    side: Side
    """Buy or sell."""
    quantity: float
    """Positive quantity."""
    reference_price: float
    """Last market price the strategy saw."""
    limit_price: float | None = None
    """Limit price; None for a market order."""
    reduce_only: bool = False
    """True when the order may only reduce exposure."""
    strategy: str = ""
    """Strategy that produced the intent."""


class PriceTick(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """A market price from the feed."""

    instrument: str
    """Instrument symbol."""
    price: float
    """Last price."""
    ts: float
    """Feed timestamp (seconds since the epoch, the feed's clock)."""
    iteration: int
    """Orchestrator iteration that produced it."""


class OrderAccepted(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """Execution accepted an intent and wrote the order."""

    client_order_id: str
    """Client order id derived from the intent."""
    intent_id: str
    """The intent."""
    instrument: str
    """Instrument symbol."""
    side: Side
    """Buy or sell."""
    quantity: float
    """Quantity."""
    status: OrderStatus
    """Status after acceptance."""


class OrderRejected(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """An intent or order was refused, with a typed reason."""

    intent_id: str
    """The intent."""
    instrument: str
    """Instrument symbol."""
    code: str
    """Machine-readable reason (a gate rule name, ``broker``, ``invalid``)."""
    reason: str
    """What was wrong, for a person."""


class OrderFilled(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """A fill (real, paper or shadow-hypothetical) and the position after it."""

    client_order_id: str
    """Client order id."""
    instrument: str
    """Instrument symbol."""
    side: Side
    """Buy or sell."""
    quantity: float
    """Filled quantity."""
    price: float
    """Fill price."""
    position_after: float
    """Signed position in the instrument after the fill."""
    realized_pnl: float
    """Realised PnL of this fill (closing part only)."""


class FeeCharged(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """A commission the venue charged for an order's fill, as execution booked it."""

    client_order_id: str
    """Client order id."""
    instrument: str
    """Instrument symbol."""
    currency: str
    """What it was charged in (the base currency comes off the position, the quote off cash)."""
    amount: float
    """How much of ``currency`` (this part; the order's fees are the sum of its parts)."""
    value: float | None
    """Its value in cash (counted in the realised PnL); None in a third currency (BNB)."""
    position_after: float
    """Signed position in the instrument after it."""


class EquityUpdated(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """Account equity marked to market."""

    equity: float
    """Cash plus marked positions."""
    cash: float
    """Cash."""
    realized_pnl: float
    """Realised PnL since inception."""
    ts: float
    """Feed time of the mark."""


class OrderCancelled(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """An order was cancelled at the broker (or found cancelled when reconciling)."""

    client_order_id: str
    """Client order id."""
    instrument: str
    """Instrument symbol."""
    reason: str
    """Why (kill switch, drain, reconciliation)."""


class ExecutionSnapshot(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """What execution holds now: published on start and after changes (rate-limited)."""

    positions: dict[str, float]
    """Instrument -> signed quantity, flat instruments left out."""
    orders: dict[str, int]
    """Order status -> number of orders execution keeps in that status."""


class InstrumentBook(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One instrument as execution books it (part of ``ExecutionStatus``)."""

    position: float
    """Signed quantity held."""
    avg_price: float
    """Average entry price of the position (0 when flat)."""
    last_price: float | None
    """Last market price execution marks it at (None before the first tick)."""
    last_price_at: float | None
    """Wall time (epoch seconds) execution took that price (None before the first tick)."""
    unrealized_pnl: float
    """Position x (last price - average price); 0 when flat or unmarked."""
    realized_pnl: float
    """Realised PnL of this instrument's closing fills since inception (booked since the
    field exists: a book written before it starts at 0)."""


class LastFill(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The most recent fill execution booked."""

    client_order_id: str
    """Client order id."""
    instrument: str
    """Instrument symbol."""
    side: Side
    """Buy or sell."""
    quantity: float
    """Quantity of this part of the fill."""
    price: float
    """Its price."""
    at: float
    """Wall time (epoch seconds) execution booked it."""


class GateStatus(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The pre-trade gate's headroom, from its own state (part of ``ExecutionStatus``)."""

    orders_in_window: int
    """Orders accepted within the last ``rate_window_s`` seconds."""
    max_orders_per_window: int
    """The throttle's limit."""
    rate_window_s: float
    """The throttle's window."""
    rate_headroom: int
    """Orders the throttle would still accept now."""
    session_id: str
    """Session the daily-loss baseline belongs to ('' before the first mark)."""
    daily_loss: float | None
    """Equity fallen since the session's first mark (negative: a gain); None before a mark."""
    daily_loss_limit: float
    """``[execution.gate] daily_loss_limit``: new exposure is refused at this loss."""


class ExecutionStatus(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """What execution holds and how it marks it, for ``quantfund status``: published every
    ``status_interval_s`` and on start (the supervisor keeps the last one)."""

    instruments: dict[str, InstrumentBook]
    """Instrument -> its book, for every instrument held, ever traded or priced."""
    equity: float
    """Cash plus positions marked at the last prices."""
    cash: float
    """Cash."""
    realized_pnl: float
    """Realised PnL since inception."""
    unrealized_pnl: float
    """Sum of the instruments' unrealised PnL."""
    orders: dict[str, int]
    """Order status -> number of orders in it (as ``ExecutionSnapshot``)."""
    open_orders: dict[str, int]
    """The open ones only (PENDING_SUBMIT, SUBMITTED) by status."""
    fills: int
    """Fills booked since inception."""
    last_fill: LastFill | None
    """The most recent fill (None before the first)."""
    gate: GateStatus
    """The gate's rate headroom and daily loss."""
    at: float
    """Wall time (epoch seconds) of this report."""
    fees: dict[str, float] = msgspec.field(default_factory=dict)
    """Commissions paid since inception, by currency."""
    fees_due: int = 0
    """Fills booked whose commission the venue has not stated yet (asked for by the broker)."""
