"""Config of the breaker actor."""

from __future__ import annotations

from typing import Annotated

import msgspec


class BreakerActorConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Circuit-breaker settings."""

    max_drawdown_pct: Annotated[float, msgspec.Meta(gt=0, le=100)] = 5.0
    """Drawdown from peak equity, in percent, that trips the breaker."""
