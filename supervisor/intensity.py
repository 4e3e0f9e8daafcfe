"""Restart intensity (OTP) and bounded restart backoff, as pure functions of a clock you pass in."""

from __future__ import annotations

from collections import deque


class RestartIntensity:
    """Counts restarts in a sliding window; more than ``intensity`` within ``period`` is too many.

    OTP semantics: the supervisor may restart at most ``intensity`` times in any ``period``
    seconds; the restart that would exceed that is refused and the supervisor gives up.
    """

    def __init__(self, intensity: int, period: float) -> None:
        """Set the limits."""
        if intensity < 0 or period <= 0:
            raise ValueError(f"need intensity >= 0 and period > 0, got {intensity}, {period}")
        self.intensity = intensity
        self.period = period
        self._times: deque[float] = deque()

    def allow(self, now: float) -> bool:
        """Record a restart at ``now``; False when it exceeds the intensity (do not restart)."""
        while self._times and now - self._times[0] >= self.period:
            self._times.popleft()
        self._times.append(now)
        return len(self._times) <= self.intensity

    def in_window(self, now: float) -> int:
        """Restarts recorded within ``period`` before ``now`` (records nothing)."""
        return sum(1 for t in self._times if now - t < self.period)

    @property
    def recent(self) -> int:
        """Restarts recorded in the current window (as of the last ``allow``)."""
        return len(self._times)


def backoff_delay(quick_restarts: int, initial: float, maximum: float) -> float:
    """Delay before restarting a child that has restarted ``quick_restarts`` times in a row.

    The first restart is immediate (a crash is usually a one-off and latency matters); after that
    the delay doubles from ``initial`` and never exceeds ``maximum``.
    """
    if quick_restarts <= 0:
        return 0.0
    return float(min(maximum, initial * (2 ** (quick_restarts - 1))))
