"""Config of execution: the broker, the account it starts with, and the pre-trade gate."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from actors.execution.gate_config import GateConfig
from actors.venue.config import VenueConfig


def default_gate() -> GateConfig:
    """Limits that let the embedded default (Crossover, 2 instruments near 100) trade freely
    while still refusing a fat finger, a runaway loop or a price far from the market."""
    return GateConfig(
        max_position=100.0,
        max_gross_position=100_000.0,
        max_order_notional=20_000.0,
        max_order_quantity=100.0,
        price_collar_pct=10.0,
        max_orders_per_window=500,
        rate_window_s=1.0,
        daily_loss_limit=10_000.0,
        duplicate_window_s=10.0,
    )


class ExecutionConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Execution settings."""

    broker: Literal["shadow", "paper", "venue"] = "shadow"
    """Broker: ``shadow`` (records, sends nothing), ``paper`` (a simulated venue) or ``venue``
    (the real exchange of ``[venue]``, through ccxt)."""
    paper_latency_s: Annotated[float, msgspec.Meta(ge=0)] = 0.05
    """Paper venue: how long an order rests before it fills."""
    paper_slippage_bps: Annotated[float, msgspec.Meta(ge=0)] = 1.0
    """Paper venue: fill price moved against the order by this many basis points."""
    shutdown_policy: Literal["cancel", "leave"] = "cancel"
    """On drain: cancel open orders at the broker (and wait for the acks), or leave them."""
    cancel_on_stop: bool = True
    """Cancel open orders when trading becomes PAUSED or HALTED."""
    initial_cash: float = 100_000.0
    """Cash of a new account."""
    equity_every_ticks: Annotated[int, msgspec.Meta(ge=1)] = 10
    """Publish ``EquityUpdated`` every this many price ticks (and after every fill)."""
    venue: VenueConfig | None = None
    """The ``[venue]`` section, copied here by the supervisor for ``broker = "venue"``."""
    gate: GateConfig = msgspec.field(default_factory=default_gate)
    """Pre-trade gate limits (``[execution.gate]``; a user file changes single keys of it)."""
    market_price_fallback: Literal["reference", "reject"] = "reference"
    """When no market price was seen yet for an instrument (a cold start, before the first
    tick): ``reference`` lets the order's own reference price stand in for the last price (the
    collar is then vacuous for that order; quantity, notional and position limits still hold),
    ``reject`` refuses it with ``no_market_price``."""
    snapshot_interval_s: Annotated[float, msgspec.Meta(gt=0)] = 0.2
    """``ExecutionSnapshot`` is published after a change at most this often (and on start)."""
    status_interval_s: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    """``ExecutionStatus`` (marks, PnL, gate headroom: ``quantfund status``) is published this
    often (and on start)."""
    recent_final_orders: Annotated[int, msgspec.Meta(ge=0)] = 10_000
    """Closed orders kept in memory besides the open ones: the most recently closed (at a
    start, any this many of those on disk). An older one is read back from execution's state
    file when a repeated intent asks for it; memory stays bounded however long it trades."""
