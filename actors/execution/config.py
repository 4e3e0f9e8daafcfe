"""Config of execution: the broker and the account it starts with."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec


class ExecutionConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Execution settings."""

    broker: Literal["shadow", "paper"] = "shadow"
    """Broker: ``shadow`` (records, sends nothing) or ``paper`` (a simulated venue)."""
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
