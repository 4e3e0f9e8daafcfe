"""Events of the heartbeat actor."""

from __future__ import annotations

from actors._runtime.messages import Event


class HeartbeatMissed(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """An actor stopped beating for longer than its allowance."""

    actor: str
    """Who went silent."""
    silent_s: float
    """Seconds since its last beat."""
