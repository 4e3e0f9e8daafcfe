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
    row_hash: str = ""
    """That row's hash: the journal keeps the last one it saw, so a halts store restored from
    an older copy (or cut short) is caught at the next start. Empty where no row was written."""


class TradingGate:
    """The trading state an actor decides by (layer 4 of the kill switch).

    The runtime sets it from its event loop when a ``TradingStateChanged`` arrives, and only
    then acknowledges the change; the actor reads ``state`` on its own thread at each decision.
    The loop awaits every call into the actor thread, so while it handles a message no hook is
    running: every decision after the acknowledgement sees the new state. It holds one
    reference to an immutable value, so a read is never torn (docs/adr/0005).
    """

    __slots__ = ("_seq", "_state")

    def __init__(self, state: TradingState = TradingState.HALTED) -> None:
        """Start at ``state`` (HALTED until the halts store or the supervisor says otherwise)."""
        self._state = state
        self._seq = 0

    @property
    def state(self) -> TradingState:
        """The state in force."""
        return self._state

    def apply(self, change: TradingStateChanged) -> bool:
        """Follow ``change``, unless it is older than one already applied; True if followed.

        The same change can come twice (bus and control channel), and the copy sent to a child
        that has just become Ready can arrive after a newer change on the bus.
        """
        if change.seq < self._seq:
            return False
        self._state, self._seq = change.state, change.seq
        return True

    def restore(self, state: TradingState) -> None:
        """Set the state read at start (the halts store's: halts are sticky)."""
        self._state = state


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
