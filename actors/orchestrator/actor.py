"""The orchestrator: feed -> strategy -> checked signals -> order intents to execution.

Signals pass the same numeric checks as execution's gate (``gate.validate_signal``) before they
become intents; a failure is published as ``SignalRejected`` and never reaches execution.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec

from actors._runtime.actor import BaseActor, Summary
from actors._runtime.codec import Envelope
from actors._runtime.halts_reader import HaltsReader
from actors._runtime.messages import Message
from actors._runtime.spawn import import_actor
from actors._runtime.trading import TradingState
from actors.execution.messages import OrderFilled, PriceTick, Side, SubmitOrder
from actors.orchestrator.config import OrchestratorConfig
from actors.orchestrator.feed import Feed, make_feed
from actors.orchestrator.messages import FeedEnded, SignalRejected, StrategyFailed
from actors.orchestrator.strategy import Bar, StrategyContext, check_signal
from actors.orchestrator.strategy import SignalRejected as BadSignal
from actors.venue.config import VenueConfig
from actors.venue.messages import FeedFresh, FeedReconnected, FeedStale


class LoopState(msgspec.Struct):
    """What the orchestrator persists at every iteration."""

    iterations: int = 0
    prices: dict[str, float] = msgspec.field(default_factory=dict)
    positions: dict[str, float] = msgspec.field(default_factory=dict)
    strategy: dict[str, Any] = msgspec.field(default_factory=dict)
    intents: int = 0
    rejected_signals: int = 0
    feed_ended: bool = False


class OrchestratorActor(BaseActor):
    """Runs the iteration loop; emits no intent unless the trading state allows it."""

    config_type: ClassVar[type[msgspec.Struct] | None] = OrchestratorConfig
    subscriptions: ClassVar[tuple[str, ...]] = ("OrderFilled",)
    command_targets: ClassVar[tuple[str, ...]] = ("execution",)

    def restore(self, snapshot: Mapping[str, bytes]) -> None:
        """Load the loop state and build the feed and the strategy from it."""
        cfg: OrchestratorConfig = self.config
        raw = snapshot.get("loop")
        self.loop = msgspec.msgpack.decode(raw, type=LoopState) if raw else LoopState()
        self.iterations = self.loop.iterations
        self.feed: Feed = (self._venue_feed(cfg) if cfg.feed.kind == "venue"
                           else make_feed(cfg.feed, self.loop.prices))
        if cfg.feed.wake_on_update:
            self.feed.on_update = self.wake  # type: ignore[attr-defined]
        self.strategy = import_actor(cfg.strategy)(**cfg.strategy_params)
        self.strategy.restore(self.loop.strategy)
        self.draining = False
        # Sticky halts: start from the halts store's state; the runtime's gate follows the
        # supervisor from then on (a state persisted by an older version is ignored).
        reader = HaltsReader(self.state_dir)
        self.trading_gate.restore(reader.state()[0])
        reader.close()

    @staticmethod
    def _venue_feed(cfg: OrchestratorConfig) -> Feed:
        """Live tickers of ``[venue]``'s symbols (public streams: no credentials needed)."""
        from actors.venue.exchange import make_exchange
        from actors.venue.feed import VenueFeed

        venue = cfg.venue or VenueConfig()
        return VenueFeed(
            lambda: make_exchange(venue, streaming=True), symbols=list(venue.symbols),
            stale_after_s=venue.stale_after_s, backoff_min_s=venue.reconnect_backoff_min_s,
            backoff_max_s=venue.reconnect_backoff_max_s,
        )

    def _feed_health(self) -> None:
        """Publish what the live feed says of itself: stale, fresh again, reconnected."""
        changes = getattr(self.feed, "changes", None)
        if changes is None:
            return
        venue = self.config.venue or VenueConfig()
        turned, back = changes()
        for c in turned:
            if c.stale:
                self.publish(FeedStale(symbol=c.symbol, age_s=c.age_s,
                                       threshold_s=venue.stale_after_s,
                                       exchange_ts_age_s=c.exchange_age_s or 0.0))
            else:
                self.publish(FeedFresh(symbol=c.symbol, stale_for_s=c.stale_for_s))
        for r in back:
            self.publish(FeedReconnected(attempt=r.attempt, gap_s=r.gap_s,
                                         missed_updates_unknown=True, symbol=r.symbol,
                                         error=r.error))

    def on_stop(self) -> None:
        """pykka hook: close a live feed's connections."""
        close = getattr(self.feed, "close", None)
        if close is not None:
            close()

    def summary(self) -> Summary:
        """Iterations, intents and the trading state as restored."""
        return {
            "iterations": self.loop.iterations,
            "intents": self.loop.intents,
            "rejected_signals": self.loop.rejected_signals,
            "trading_state": self.trading_gate.state.value,
        }

    def tick_interval(self) -> float | None:
        """The loop's pace."""
        interval: float = self.config.interval_s
        return interval

    def on_tick(self, now: float) -> None:
        """One iteration of the loop."""
        if self.draining:
            return
        st = self.loop
        st.iterations += 1
        self.iterations = st.iterations
        stepped = self.feed.step(st.iterations, now)
        self._feed_health()
        if stepped is None:
            # The loop goes on (it is alive, and says so in its beats); there is nothing to trade.
            if not st.feed_ended:
                st.feed_ended = True
                self.publish(FeedEnded(iteration=st.iterations))
            self.put("loop", st)
            return
        feed_ts, st.prices = stepped
        for instrument, price in st.prices.items():
            self.publish(
                PriceTick(instrument=instrument, price=price, ts=feed_ts, iteration=st.iterations)
            )
        bar = Bar(iteration=st.iterations, ts=feed_ts, prices=dict(st.prices))
        ctx = StrategyContext(positions=dict(st.positions), trading_state=self.trading_gate.state)
        try:
            signals = list(self.strategy.on_bar(bar, ctx))
        except Exception as exc:  # noqa: BLE001 - a client's bug skips a bar, not the loop
            self.publish(StrategyFailed(iteration=st.iterations, error=repr(exc)[:500]))
            signals = []
        for k, raw in enumerate(signals):
            self._emit(k, raw, bar)
        st.strategy = self.strategy.state()
        self.put("loop", st)

    def _emit(self, k: int, raw: Any, bar: Bar) -> None:
        st = self.loop
        try:
            sig = check_signal(raw, bar.prices)
        except BadSignal as exc:
            st.rejected_signals += 1
            self.publish(SignalRejected(iteration=bar.iteration, reason=str(exc), code=exc.code,
                                        instrument=exc.instrument))
            return
        position = st.positions.get(sig.instrument, 0.0)
        delta = sig.quantity if sig.side is Side.BUY else -sig.quantity
        reduces = abs(position + delta) < abs(position) and position * (position + delta) >= 0
        trading = self.trading_gate.state
        allowed = trading is TradingState.ACTIVE or (trading is TradingState.REDUCING and reduces)
        if not allowed:
            return  # layer 1 of the kill switch: no intent unless the state allows it
        st.intents += 1
        self.send(
            "execution",
            SubmitOrder(
                intent_id=f"{self.name}-{bar.iteration}-{k}",
                instrument=sig.instrument,
                side=sig.side,
                quantity=float(sig.quantity),
                reference_price=bar.prices[sig.instrument],
                limit_price=None if sig.limit_price is None else float(sig.limit_price),
                # Only REDUCING asks for it: in ACTIVE a reduction need not stay one by the time
                # execution sees it (other orders may be in flight), and need not be refused.
                reduce_only=trading is TradingState.REDUCING,
                strategy=type(self.strategy).__name__,
            ),
        )

    def on_event(self, env: Envelope[Message]) -> None:
        """Track positions from the bus (the runtime keeps ``trading_gate`` in step)."""
        msg = env.payload
        if isinstance(msg, OrderFilled):
            self.loop.positions[msg.instrument] = msg.position_after
            self.put("loop", self.loop)

    def on_drain(self) -> bool:
        """Stop emitting; the runtime waits until every intent sent is acknowledged."""
        self.draining = True
        return True
