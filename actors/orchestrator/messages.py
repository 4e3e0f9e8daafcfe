"""Events of the orchestrator's loop."""

from __future__ import annotations

from actors._runtime.messages import Event


class SignalRejected(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """A strategy's signal failed the boundary checks and became no intent."""

    iteration: int
    """Loop iteration."""
    reason: str
    """What was wrong (names the field and value)."""
    code: str = ""
    """Machine-readable kind (``not_finite``, ``not_positive``, ``unknown_instrument``, ...)."""
    instrument: str = ""
    """Instrument of the signal, when it had a readable one."""


class StrategyFailed(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """The strategy raised; the bar was skipped, the loop goes on."""

    iteration: int
    """Loop iteration."""
    error: str
    """The exception, as text."""


class FeedEnded(Event, frozen=True, forbid_unknown_fields=True, tag=True):
    """A replay feed has no more bars; the loop goes on without prices or signals."""

    iteration: int
    """First iteration without a bar."""
