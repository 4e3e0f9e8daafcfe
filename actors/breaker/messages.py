"""Events of the circuit breaker."""

from __future__ import annotations

from actors._runtime.messages import Event


class BreakerTripped(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """A breaker rule tripped: trading pauses until ``pause_until``."""

    rule: str
    """Which rule (drawdown, consecutive_losses, sharpe_floor, daily_loss, invalid_input)."""
    reason: str
    """The value and the limit."""
    pause_until: float
    """Epoch seconds when trading may resume by itself."""
    trips_in_24h: int = 0
    """Trips counted within the last 24 h, this one included."""


class BreakerHalted(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """A rule fired for the Nth time within 24 h: trading halts until an operator resumes."""

    rule: str
    """The rule that fired last."""
    reason: str
    """The value, the threshold and the escalation."""
    trips_in_24h: int
    """Trips counted within the last 24 h, this one included."""


class BreakerReset(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """A pause ended after its reset window (or an operator reset the breaker)."""

    reason: str
    """Why trading may resume."""
