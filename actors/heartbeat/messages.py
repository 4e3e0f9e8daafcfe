"""Events of the heartbeat actor."""

from __future__ import annotations

from actors._runtime.messages import Event


class HeartbeatMissed(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """An actor stopped beating for longer than its allowance."""

    actor: str
    """Who went silent."""
    silent_s: float
    """Seconds since its last beat."""


class HangDetected(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """The watched loop is hung (no beats) or stalled (beats, but no progress)."""

    actor: str
    """Child name (the orchestrator)."""
    pid: int
    """Process id of the process that stopped beating or advancing."""
    kind: str
    """``hang`` (silent) or ``stall`` (beating, iterations not advancing)."""
    for_s: float
    """Seconds silent (hang) or without progress (stall) when detected."""
    iterations: int
    """The last iteration count it reported (-1 if it never beat)."""


class HeartbeatAction(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """The heartbeat actor acted on a hung or stalled process."""

    action: str
    """``sigterm``, ``sigkill``, ``halt``, or ``skipped`` (a kill not done, reason says why)."""
    target: str
    """Child name."""
    pid: int
    """Process id acted on."""
    reason: str
    """Why (the incident), and for a skipped kill why not."""
