"""Events of the circuit breaker."""

from __future__ import annotations

from actors._runtime.messages import Event


class BreakerTripped(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """A breaker rule tripped."""

    rule: str
    """Which rule (drawdown, consecutive_losses, sharpe, daily_loss)."""
    reason: str
    """The value and the limit."""
    pause_until: float
    """Epoch seconds when trading may resume by itself (0 when it escalated to a halt)."""


class BreakerReset(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """A pause ended after its reset window."""

    reason: str
    """Why trading may resume."""
