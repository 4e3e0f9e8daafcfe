"""A publisher onto a running tree's bus, as any actor would publish."""

from __future__ import annotations

from pathlib import Path

import zmq

from actors import wire
from actors._runtime import endpoints
from actors._runtime.messages import Event


class Bus:
    """Publishes events onto a running tree's bus (sender ``pytest``)."""

    def __init__(self, run_dir: Path) -> None:
        """Connect to the tree's bus under ``run_dir``."""
        self.ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self.push = self.ctx.socket(zmq.PUSH)
        self.push.connect(endpoints.bus_in(run_dir))
        self.codec = wire.codec()

    def publish(self, event: Event) -> None:
        """Publish ``event``."""
        self.push.send(self.codec.encode("pytest", event))

    def close(self) -> None:
        """Close, letting queued events out first (up to 2 s)."""
        self.push.close(linger=2000)
        self.ctx.term()
