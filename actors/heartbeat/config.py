"""Config of the heartbeat actor."""

from __future__ import annotations

from typing import Annotated

import msgspec


class HeartbeatConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """How liveness is judged."""

    check_interval_s: Annotated[float, msgspec.Meta(gt=0)] = 0.25
    """Seconds between liveness verdicts."""
    missed_beats: Annotated[int, msgspec.Meta(ge=1)] = 4
    """An actor silent for this many heartbeat intervals is stale."""
    heartbeat_interval_s: Annotated[float, msgspec.Meta(gt=0)] = 0.5
    """The actors' beat interval (the runtime's setting; copied here by the supervisor)."""
    watch: list[str] = msgspec.field(
        default_factory=lambda: ["journal", "alerter", "breaker", "execution", "orchestrator"]
    )
    """Actors whose beats make the tree live."""
