"""The breaker actor: follows equity from execution's events and trips on drawdown from peak."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import msgspec

from actors._runtime.actor import BaseActor, Summary
from actors._runtime.codec import Envelope
from actors._runtime.messages import Message
from actors.breaker.config import BreakerActorConfig
from actors.breaker.messages import BreakerTripped
from actors.execution.messages import EquityUpdated, OrderFilled


class Watch(msgspec.Struct):
    """Persisted breaker counters: a restart never resets them."""

    peak_equity: float = 0.0
    last_equity: float = 0.0
    max_drawdown_pct: float = 0.0
    updates: int = 0
    fills: int = 0
    losing_fills: int = 0
    trips: int = 0
    tripped: bool = False


class BreakerActor(BaseActor):
    """Tracks peak equity and drawdown; publishes a trip once per excursion past the limit."""

    config_type: ClassVar[type[msgspec.Struct] | None] = BreakerActorConfig
    subscriptions: ClassVar[tuple[str, ...]] = ("EquityUpdated", "OrderFilled")

    def restore(self, snapshot: Mapping[str, bytes]) -> None:
        """Load the counters."""
        raw = snapshot.get("watch")
        self.watch = msgspec.msgpack.decode(raw, type=Watch) if raw else Watch()
        self.iterations = self.watch.updates

    def summary(self) -> Summary:
        """Counters as restored."""
        w = self.watch
        return {
            "iterations": w.updates,
            "peak_equity": w.peak_equity,
            "max_drawdown_pct": round(w.max_drawdown_pct, 6),
            "fills": w.fills,
            "trips": w.trips,
        }

    def on_event(self, env: Envelope[Message]) -> None:
        """Update peak, drawdown and fill counters."""
        msg, w = env.payload, self.watch
        if isinstance(msg, OrderFilled):
            w.fills += 1
            w.losing_fills += msg.realized_pnl < 0
        elif isinstance(msg, EquityUpdated):
            w.updates += 1
            self.iterations = w.updates
            w.last_equity = msg.equity
            w.peak_equity = max(w.peak_equity, msg.equity)
            dd = 0.0 if w.peak_equity <= 0 else 100 * (w.peak_equity - msg.equity) / w.peak_equity
            w.max_drawdown_pct = max(w.max_drawdown_pct, dd)
            limit = self.config.max_drawdown_pct
            if dd >= limit and not w.tripped:
                w.tripped = True
                w.trips += 1
                self.publish(
                    BreakerTripped(
                        rule="drawdown",
                        reason=f"drawdown {dd:.3f}% from peak {w.peak_equity:.2f} >= {limit}%",
                        pause_until=0.0,
                    )
                )
            elif dd < limit:
                w.tripped = False
        else:
            return
        self.put("watch", w)
