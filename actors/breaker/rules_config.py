"""Thresholds of the circuit-breaker rules, validated when built or decoded."""

from __future__ import annotations

import math

import msgspec

# The session boundary must be read the same way by the gate and the breaker, so there is one
# implementation (a candidate for actors/_runtime once a second package needs it).
from actors.execution.gate_config import load_timezone, parse_session_reset


class BreakerConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """When the breaker trips, how long it pauses, and when it halts (``[breaker]``)."""

    max_drawdown_pct: float
    """Trip when equity is this many percent below its running peak (not its start); (0, 100]."""
    max_consecutive_losses: int
    """Trip when this many closed trades in a row lost money; >= 1."""
    sharpe_window: int
    """Number of most recent closed trades the rolling Sharpe ratio is computed over; >= 2."""
    sharpe_floor: float
    """Trip when the rolling per-trade Sharpe ratio (mean / sample stdev) falls below this."""
    sharpe_min_trades: int
    """The Sharpe rule is inactive until the window holds this many trades; 2..sharpe_window."""
    daily_loss_limit: float
    """Trip when equity has fallen by this much since the session started; > 0."""
    reset_window_s: float
    """How long a trip pauses trading before the breaker resumes by itself, in seconds; > 0."""
    max_trips_per_24h: int
    """The trip that makes this many within 24 h halts instead of pausing; >= 1."""
    session_reset: str = "00:00"
    """Local wall-clock time ``HH:MM`` at which the daily-loss session starts."""
    timezone: str = "UTC"
    """IANA time zone name in which ``session_reset`` is read."""

    def __post_init__(self) -> None:
        """Refuse thresholds that would silently disable a rule (ValueError; msgspec wraps it).

        Raises:
            ValueError: a threshold is out of range or the session is unreadable.
        """
        # A NaN threshold makes every comparison False, i.e. a rule that can never fire.
        if not (math.isfinite(self.max_drawdown_pct) and 0 < self.max_drawdown_pct <= 100):
            raise ValueError(f"max_drawdown_pct must be in (0, 100], got {self.max_drawdown_pct!r}")
        for name in ("daily_loss_limit", "reset_window_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        if not math.isfinite(self.sharpe_floor):
            raise ValueError(f"sharpe_floor must be finite, got {self.sharpe_floor!r}")
        if self.max_consecutive_losses < 1:
            raise ValueError(
                f"max_consecutive_losses must be >= 1, got {self.max_consecutive_losses!r}"
            )
        if self.max_trips_per_24h < 1:
            raise ValueError(f"max_trips_per_24h must be >= 1, got {self.max_trips_per_24h!r}")
        # A sample standard deviation needs two trades.
        if not 2 <= self.sharpe_min_trades <= self.sharpe_window:
            raise ValueError(
                f"need 2 <= sharpe_min_trades <= sharpe_window, got {self.sharpe_min_trades!r} "
                f"and {self.sharpe_window!r}"
            )
        parse_session_reset(self.session_reset)
        load_timezone(self.timezone)
