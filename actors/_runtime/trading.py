"""The trading state every layer of the kill switch reads, and the event that announces changes."""

from __future__ import annotations

import enum

from actors._runtime.messages import Event


class TradingState(enum.Enum):
    """How much trading is allowed (DESIGN.md section 4)."""

    ACTIVE = "ACTIVE"
    """Everything the gate allows."""
    REDUCING = "REDUCING"
    """Only orders that reduce exposure."""
    PAUSED = "PAUSED"
    """Nothing new; the breaker resumes by itself after its reset window."""
    HALTED = "HALTED"
    """Nothing new until an operator resumes, with a reason."""


class TradingStateChanged(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """The supervisor moved the tree to a new trading state (persisted before publishing)."""

    previous: TradingState
    """State before the change."""
    state: TradingState
    """State after the change."""
    source: str
    """Who asked (operator, breaker, heartbeat, supervisor, halts-store)."""
    reason: str
    """Why."""
    seq: int
    """Sequence number of the halts-store row that recorded it."""


def allows_order(state: TradingState, reduces_exposure: bool) -> bool:
    """Whether ``state`` allows an order that does, or does not, reduce exposure.

    Args:
        state: The trading state in force.
        reduces_exposure: True when the order only brings a position closer to flat.

    Returns:
        ``ACTIVE``: always; ``REDUCING``: only when ``reduces_exposure``; ``PAUSED`` and
        ``HALTED``: never.
    """
    if state is TradingState.ACTIVE:
        return True
    if state is TradingState.REDUCING:
        return reduces_exposure
    return False
