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


class BreakerStatus(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """The breaker's rules' state against their limits, for ``quantfund status``: published
    every ``status_interval_s`` and on start (the supervisor keeps the last one)."""

    peak_equity: float | None
    """Running peak of the equity marks (None before the first mark)."""
    last_equity: float | None
    """The most recent equity mark."""
    drawdown_pct: float | None
    """Percent the last mark sits below the peak (None before the first mark)."""
    max_drawdown_pct: float
    """The drawdown rule's limit."""
    session_id: str
    """Session the breaker's daily-loss baseline belongs to ('' before the first mark)."""
    daily_loss: float | None
    """Equity fallen since the session's first mark (negative: a gain); None before a mark."""
    daily_loss_limit: float
    """``[breaker] daily_loss_limit``: the breaker trips at this loss."""
    consecutive_losses: int
    """Closed trades in a row that lost."""
    max_consecutive_losses: int
    """The run that trips."""
    sharpe: float | None
    """Rolling per-trade Sharpe ratio of the window (None below two trades; +-inf with no
    dispersion, which JSON shows as null, the text view as inf)."""
    sharpe_trades: int
    """Trades in the Sharpe window."""
    sharpe_floor: float
    """Trip below this (once the window holds ``sharpe_min_trades``)."""
    sharpe_min_trades: int
    """Trades the rule needs before it judges."""
    trips_in_24h: int
    """Trips counted within the last 24 h."""
    max_trips_per_24h: int
    """The trip that reaches this halts."""
    paused_until: float | None
    """Wall-clock estimate (epoch seconds) of the end of the breaker's pause; None if none."""
    halted: bool
    """The breaker halted (until an operator resets it)."""
    trips: int
    """Trips since the breaker's state began."""
    at: float
    """Wall time (epoch seconds) of this report."""
