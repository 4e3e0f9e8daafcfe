"""Test strategies for the heartbeat integration tests (imported by the orchestrator process)."""

from __future__ import annotations

import os
import time
from typing import Any

from actors.orchestrator.strategy import Bar, Signal, StrategyContext


class BlockOnFlag:
    """Trades nothing; on the first bar after the file ``flag`` appears it deletes the file and
    blocks its actor thread for an hour (a strategy hung inside ``on_bar``). One-shot: the
    restarted orchestrator finds no file and runs on."""

    def __init__(self, flag: str) -> None:
        """Watch ``flag``."""
        self.flag = flag

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> list[Signal]:
        """Block once if told to."""
        if os.path.exists(self.flag):
            os.unlink(self.flag)
            time.sleep(3600)
        return []

    def state(self) -> dict[str, Any]:
        """Stateless."""
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        """Stateless."""
