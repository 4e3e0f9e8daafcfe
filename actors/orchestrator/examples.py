"""Example strategies: small, deterministic, and trading often enough to see the machine work."""

from __future__ import annotations

from collections import deque
from typing import Any

from actors.execution.messages import Side
from actors.orchestrator.strategy import Bar, Signal, StrategyContext


class Crossover:
    """Buys when the price crosses above its moving average, sells when it crosses below.

    Keeps the position within ``max_position`` units per instrument.
    """

    def __init__(self, window: int = 5, quantity: float = 1.0, max_position: float = 3.0) -> None:
        """Configure the average's window, the order size and the position cap."""
        self.window = window
        self.quantity = quantity
        self.max_position = max_position
        self.history: dict[str, deque[float]] = {}
        self.above: dict[str, bool] = {}

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> list[Signal]:
        """Emit a signal on each crossing."""
        out: list[Signal] = []
        for instrument, price in bar.prices.items():
            hist = self.history.setdefault(instrument, deque(maxlen=self.window))
            hist.append(price)
            if len(hist) < self.window:
                continue
            above = price > sum(hist) / len(hist)
            was = self.above.get(instrument)
            self.above[instrument] = above
            if was is None or was == above:
                continue
            pos = ctx.positions.get(instrument, 0.0)
            if above and pos + self.quantity <= self.max_position:
                out.append(Signal(instrument, Side.BUY, self.quantity))
            elif not above and pos - self.quantity >= -self.max_position:
                out.append(Signal(instrument, Side.SELL, self.quantity))
        return out

    def state(self) -> dict[str, Any]:
        """History and crossing side per instrument."""
        return {
            "history": {k: list(v) for k, v in self.history.items()},
            "above": dict(self.above),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Reload ``state``."""
        self.history = {
            k: deque(v, maxlen=self.window) for k, v in state.get("history", {}).items()
        }
        self.above = dict(state.get("above", {}))


class EveryN:
    """Alternates buy and sell every ``every`` iterations (tests and benchmarks: constant flow)."""

    def __init__(self, every: int = 1, quantity: float = 1.0, side: str = "",
                 limit_offset_pct: float = 0.0) -> None:
        """Trade every ``every`` iterations; ``side`` ("BUY" or "SELL") trades that side only
        (a position that only grows: tests that need the book to move one way);
        ``limit_offset_pct`` > 0 sends limit orders that far from the price, on the passive
        side (orders that rest at a venue: tests of cancels and halts)."""
        self.every = every
        self.quantity = quantity
        self.only = Side(side) if side else None
        self.offset = limit_offset_pct / 100

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> list[Signal]:
        """One signal per instrument every ``every`` iterations."""
        if bar.iteration % self.every:
            return []
        side = self.only or (Side.BUY if (bar.iteration // self.every) % 2 else Side.SELL)
        away = -self.offset if side is Side.BUY else self.offset
        return [Signal(i, side, self.quantity, p * (1 + away) if self.offset else None)
                for i, p in bar.prices.items()]

    def state(self) -> dict[str, Any]:
        """Stateless."""
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        """Stateless."""
