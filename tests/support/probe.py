"""A test actor whose misbehaviour is set in its spec's ``args`` (supervision matrix)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Mapping
from typing import Any

import msgspec

from actors._runtime.actor import BaseActor, Summary


class ProbeActor(BaseActor):
    """Counts ticks (persisted). SIGUSR1 makes it exit 0 on its own ("normal"), SIGUSR2 exit 3.

    args: ``never_ready`` (hang before Ready), ``ignore_drain`` (never drained),
    ``crash_after_s`` (exit 1 that long after start), ``tick_s``.
    """

    def restore(self, snapshot: Mapping[str, bytes]) -> None:
        """Load the tick counter; install the exit triggers."""
        args: dict[str, Any] = self.config
        self.args = args
        raw = snapshot.get("ticks")
        self.iterations = msgspec.msgpack.decode(raw, type=int) if raw else 0
        self.born = time.monotonic()
        # restore() runs on the process's main thread, the only one allowed to set handlers.
        signal.signal(signal.SIGUSR1, lambda *_: os._exit(0))
        signal.signal(signal.SIGUSR2, lambda *_: os._exit(3))
        if args.get("never_ready"):
            time.sleep(3600)

    def summary(self) -> Summary:
        """The tick count as restored."""
        return {"iterations": self.iterations}

    def tick_interval(self) -> float | None:
        """Tick pace."""
        return float(self.args.get("tick_s", 0.02))

    def on_tick(self, now: float) -> None:
        """Count; crash when told to."""
        crash = self.args.get("crash_after_s")
        if crash is not None and time.monotonic() - self.born >= float(crash):
            os._exit(1)
        self.iterations += 1
        self.put("ticks", self.iterations)

    def on_drain(self) -> bool:
        """Drained at once, unless told to ignore the drain."""
        return not self.args.get("ignore_drain", False)
