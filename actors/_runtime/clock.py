"""Clock readings handed to the pure rules: the wall for the calendar, elapsed time for durations.

The wall clock (``time.time``) is what a calendar rule needs (a session that starts at 17:00 New
York time), but it steps: NTP corrects it by whole seconds or hours, an operator sets it, a VM
resumed from a pause comes back with it behind. A duration measured on it ends early or late by
the step. The elapsed clock (``CLOCK_BOOTTIME``) never steps, counts time spent suspended, and
starts at zero at each boot; ``/proc/sys/kernel/random/boot_id`` names the boot, so a reading
persisted by one process can be compared by the next only when both are on the same boot.

A reading from another boot (or from a state file written before readings were kept) proves
nothing about the time since: :func:`carry` counts it as taken just now, so that a window
measured from it restarts in full rather than ends early. See docs/adr/0010.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path

import msgspec

BOOT_ID_PATH = Path("/proc/sys/kernel/random/boot_id")


class Instant(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One reading of both clocks."""

    wall: float
    """Seconds since the epoch (``time.time``): for calendar rules and for people to read."""
    elapsed: float
    """Seconds since the boot began (``CLOCK_BOOTTIME``): every duration is measured on it."""
    boot: str
    """Which boot ``elapsed`` counts from."""


Clock = Callable[[], Instant]
"""What the actors hold and tests replace: each call returns the current :class:`Instant`."""


class SystemClock:
    """The machine's clocks; the boot id is read once (it cannot change under a process)."""

    def __init__(self, boot_id_path: Path = BOOT_ID_PATH) -> None:
        """Find the elapsed clock and the boot it counts from.

        Args:
            boot_id_path: where the kernel names the boot (a test points it elsewhere).
        """
        boot_clock = getattr(time, "CLOCK_BOOTTIME", None)
        try:
            boot = boot_id_path.read_text(encoding="ascii").strip()
        except OSError:
            boot = ""
        if boot_clock is None or not boot:
            # No named boot (not Linux, /proc hidden): monotonic time, and a boot id no other
            # process shares, so nothing this process persists is trusted by the next one.
            self.boot = f"process-{uuid.uuid4().hex}"
            self._elapsed: Callable[[], float] = time.monotonic
        else:
            self.boot = boot
            self._elapsed = lambda: time.clock_gettime(boot_clock)

    def __call__(self) -> Instant:
        """Read both clocks now."""
        return Instant(wall=time.time(), elapsed=self._elapsed(), boot=self.boot)


def carry(reading: float, boot: str, now: Instant) -> float:
    """Place an elapsed ``reading`` taken on ``boot`` on the timeline of ``now``.

    Args:
        reading: an elapsed reading persisted earlier.
        boot: the boot it was taken on ('' when unknown).
        now: the current reading.

    Returns:
        ``reading`` itself when it is from this boot and not in the future; else
        ``now.elapsed``: the time since it is not provable, so it counts as none.
    """
    if boot != now.boot:
        return now.elapsed
    return min(reading, now.elapsed)
