"""Config of the breaker actor: the thresholds of the pure rules, with defaults, and its pace."""

from __future__ import annotations

from typing import Annotated

import msgspec

from actors.breaker.rules_config import BreakerConfig


class BreakerActorConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Circuit-breaker settings (``[breaker]``); see ``rules_config.BreakerConfig`` for each."""

    max_drawdown_pct: float = 5.0
    """Trip when equity is this many percent below its running peak (not its start)."""
    max_consecutive_losses: int = 25
    """Trip when this many closed trades in a row lost money."""
    sharpe_window: int = 50
    """Closed trades the rolling per-trade Sharpe ratio is computed over."""
    sharpe_floor: float = -1.0
    """Trip when the rolling per-trade Sharpe ratio falls below this."""
    sharpe_min_trades: int = 20
    """The Sharpe rule is inactive until the window holds this many trades."""
    daily_loss_limit: float = 5_000.0
    """Trip when equity has fallen by this much since the session started."""
    reset_window_s: float = 300.0
    """How long a trip pauses trading before the breaker resumes by itself, in seconds."""
    max_trips_per_24h: int = 3
    """The trip that makes this many within 24 h halts (only an operator resumes)."""
    session_reset: str = "00:00"
    """Local wall-clock time ``HH:MM`` at which the daily-loss session starts."""
    timezone: str = "UTC"
    """IANA time zone name in which ``session_reset`` is read."""
    check_interval_s: Annotated[float, msgspec.Meta(gt=0)] = 0.25
    """How often the clock is applied (a pause ends at most this late)."""
    status_interval_s: Annotated[float, msgspec.Meta(gt=0)] = 1.0
    """``BreakerStatus`` (``quantfund status``) is published this often (and on start)."""
    request_retry_s: Annotated[float, msgspec.Meta(gt=0)] = 2.0
    """A state the breaker asked for that the bus has not shown is asked for again this often."""

    def __post_init__(self) -> None:
        """Validate the thresholds by building the rules' config (ValueError names the key)."""
        self.rules()

    def rules(self) -> BreakerConfig:
        """The thresholds as the pure rules take them."""
        return BreakerConfig(
            max_drawdown_pct=self.max_drawdown_pct,
            max_consecutive_losses=self.max_consecutive_losses,
            sharpe_window=self.sharpe_window,
            sharpe_floor=self.sharpe_floor,
            sharpe_min_trades=self.sharpe_min_trades,
            daily_loss_limit=self.daily_loss_limit,
            reset_window_s=self.reset_window_s,
            max_trips_per_24h=self.max_trips_per_24h,
            session_reset=self.session_reset,
            timezone=self.timezone,
        )
