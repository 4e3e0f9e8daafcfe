"""The strategy plugin API: what a client's strategy receives and what it returns.

A strategy is a class named in config as ``module:Class`` and constructed with the keyword
arguments of ``strategy_params``. At every iteration the orchestrator calls ``on_bar`` with the
new prices and a ``StrategyContext``; the strategy returns ``Signal``s. Signals are checked at the
boundary (NaN, Inf, non-positive quantities are rejected with a reason), then turned into order
intents. The context says the trading state, so a strategy can tell why nothing is executed; it
cannot override it: the orchestrator emits no intent unless the state allows it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol

from actors._runtime.trading import TradingState
from actors.execution.messages import Side


@dataclass(frozen=True)
class Bar:
    """Prices of one iteration."""

    iteration: int
    """Loop iteration number."""
    ts: float
    """Feed time (epoch seconds)."""
    prices: dict[str, float]
    """Instrument -> last price."""


@dataclass(frozen=True)
class StrategyContext:
    """What the strategy may know besides prices."""

    positions: dict[str, float]
    """Signed positions as last reported by execution."""
    trading_state: TradingState
    """Current trading state."""


@dataclass(frozen=True)
class Signal:
    """An order the strategy wants."""

    instrument: str
    """Instrument symbol."""
    side: Side
    """Buy or sell."""
    quantity: float
    """Positive quantity."""


class Strategy(Protocol):
    """What a strategy plugin implements."""

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> list[Signal]:
        """React to one bar; return the orders wanted (often none)."""

    def state(self) -> dict[str, Any]:
        """Plain data to persist, so a restart resumes the strategy where it was."""

    def restore(self, state: dict[str, Any]) -> None:
        """Reload what ``state`` returned."""


class SignalRejected(Exception):
    """A signal failed the boundary checks; the message names the field and value."""


def check_signal(signal: Any, known: set[str]) -> Signal:
    """Validate one signal at the boundary; raise ``SignalRejected`` saying what is wrong."""
    if not isinstance(signal, Signal):
        raise SignalRejected(f"strategy returned {type(signal).__name__}, not a Signal")
    if signal.instrument not in known:
        raise SignalRejected(f"unknown instrument {signal.instrument!r}")
    if not isinstance(signal.side, Side):
        raise SignalRejected(f"side {signal.side!r} is not a Side")
    q = signal.quantity
    if not isinstance(q, int | float) or isinstance(q, bool):
        raise SignalRejected(f"quantity {q!r} is not a number")
    if not math.isfinite(q):
        raise SignalRejected(f"quantity {q!r} is not finite")
    if q <= 0:
        raise SignalRejected(f"quantity {q!r} is not positive")
    return signal
