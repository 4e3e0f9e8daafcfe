"""A clock for tests whose wall reading can be stepped apart from its elapsed reading."""

from __future__ import annotations

from actors._runtime.clock import Instant


class SteppedClock:
    """Both readings advance together; :meth:`step_wall` moves the wall alone, as an NTP step
    or a VM resume does, and :meth:`reboot` starts a new boot."""

    def __init__(self, wall: float, elapsed: float = 1_000.0, boot: str = "boot-1") -> None:
        """Start at ``wall`` and ``elapsed`` on ``boot``."""
        self.wall = wall
        self.elapsed = elapsed
        self.boot = boot

    def __call__(self) -> Instant:
        """The current reading."""
        return Instant(wall=self.wall, elapsed=self.elapsed, boot=self.boot)

    def advance(self, seconds: float) -> Instant:
        """Let ``seconds`` pass on both clocks; return the new reading."""
        self.wall += seconds
        self.elapsed += seconds
        return self()

    def step_wall(self, seconds: float) -> Instant:
        """Step the wall clock alone by ``seconds`` (either sign); no time passes."""
        self.wall += seconds
        return self()

    def reboot(self, boot: str, uptime: float = 30.0) -> Instant:
        """A new boot, ``uptime`` seconds old; the wall keeps its reading."""
        self.boot, self.elapsed = boot, uptime
        return self()
