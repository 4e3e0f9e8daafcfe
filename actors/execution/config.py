"""Config of execution: the broker and the account it starts with."""

from __future__ import annotations

from typing import Annotated

import msgspec


class ExecutionConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Execution settings."""

    broker: str = "shadow"
    """Broker adapter: ``shadow`` (records, sends nothing)."""
    initial_cash: float = 100_000.0
    """Cash of a new account."""
    equity_every_ticks: Annotated[int, msgspec.Meta(ge=1)] = 10
    """Publish ``EquityUpdated`` every this many price ticks (and after every fill)."""
