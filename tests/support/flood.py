"""Test actors: a trading-state change that arrives while a backlog is being handled; topics.

``FloodActor`` publishes, once, a *blocker* price tick and, one tick later, ``n`` more (then
``FeedEnded``, the end of its flood); the
``SlowActor`` sleeps on each (long on the blocker), so that the ``n`` are all queued by the
time it reads them, and it handles them one by one afterwards. ``TopicsActor`` narrows its
subscription by config (``BaseActor.bus_topics``) and logs every event it is handed.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, ClassVar

from actors import wire
from actors._runtime import log
from actors._runtime.actor import BaseActor
from actors._runtime.codec import Envelope
from actors._runtime.messages import Event, Message
from actors._runtime.trading import TradingStateChanged
from actors.execution.messages import PriceTick
from actors.orchestrator.messages import FeedEnded

INSTRUMENT = "FLOOD"


class FloodActor(BaseActor):
    """args: ``delay_s`` (before the blocker), ``n`` (ticks after it)."""

    def restore(self, snapshot: Mapping[str, bytes]) -> None:
        """Nothing persisted: the flood is published once per process."""
        self.args: dict[str, Any] = self.config
        self.born = time.monotonic()
        self.step = 0

    def tick_interval(self) -> float | None:
        """Pace of the two steps."""
        return 0.1

    def on_tick(self, now: float) -> None:
        """Blocker first; the flood at the next tick."""
        if time.monotonic() - self.born < float(self.args.get("delay_s", 1.0)):
            return
        if self.step == 0:
            self.publish(PriceTick(instrument=INSTRUMENT, price=1.0, ts=now, iteration=0))
        elif self.step == 1:
            for i in range(1, int(self.args["n"]) + 1):
                self.publish(PriceTick(instrument=INSTRUMENT, price=1.0, ts=now, iteration=i))
        elif self.step == 2:
            self.publish(FeedEnded(iteration=int(self.args["n"])))
        self.step += 1


class SlowActor(BaseActor):
    """args: ``blocker_s`` and ``slow_s``: how long each tick's handler takes."""

    subscriptions: ClassVar[tuple[str, ...]] = ("PriceTick", "TradingStateChanged")

    def restore(self, snapshot: Mapping[str, bytes]) -> None:
        """Count handled ticks from zero."""
        self.args: dict[str, Any] = self.config
        self.handled = 0
        self.log = log.get("slow")

    def on_event(self, env: Envelope[Message]) -> None:
        """A tick: sleep, count, log. A state change (after its ack): log how many were done."""
        msg = env.payload
        if isinstance(msg, PriceTick) and msg.instrument == INSTRUMENT:
            time.sleep(float(self.args["blocker_s" if msg.iteration == 0 else "slow_s"]))
            self.handled += 1
            self.log.info("slow_handled", iteration=msg.iteration, handled=self.handled)
        elif isinstance(msg, TradingStateChanged):
            self.log.info("slow_saw_state", state=msg.state.value, seq=msg.seq,
                          handled=self.handled)


class TopicsActor(BaseActor):
    """Subscribes to every event (``*``) and narrows that by config, as the journal does:
    args ``exclude`` (event type names). Logs the type of every event it is handed."""

    subscriptions: ClassVar[tuple[str, ...]] = ("*",)

    @classmethod
    def bus_topics(cls, config: Any) -> tuple[str, ...]:
        """Every event type but ``exclude``; ``*`` when nothing is excluded."""
        excluded = set(config.get("exclude", []))
        if not excluded:
            return cls.subscriptions
        return tuple(t.__name__ for t in wire.codec().types
                     if issubclass(t, Event) and t.__name__ not in excluded)

    def restore(self, snapshot: Mapping[str, bytes]) -> None:
        """Nothing persisted."""
        self.log = log.get("topics")

    def on_event(self, env: Envelope[Message]) -> None:
        """Say what arrived."""
        self.log.info("topics_saw", type=type(env.payload).__name__)
