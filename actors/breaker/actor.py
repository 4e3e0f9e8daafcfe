"""The breaker actor: feeds equity marks, closed trades and the clock to the pure rules
(``rules.py``), persists their state, then acts on what they answer.

- ``Trip`` -> asks the supervisor for ``PAUSED`` (source ``breaker``), publishes ``BreakerTripped``;
- ``Resume`` (the reset window passed) -> asks for ``ACTIVE`` if the breaker's own pause is still
  in force, publishes ``BreakerReset``;
- ``Halt`` (the Nth trip within 24 h) -> asks for ``HALTED``, publishes ``BreakerHalted``.

Every bus event is journaled and the supervisor records every transition in the halts store, so
each trip, reset and halt is audited twice. The rules' state (peak equity, run of losses, Sharpe
window, trip times, pause deadline, halt) is persisted before any request leaves, so a restart
never resets the breaker. A request the bus never confirms (the control channel does not retry)
is asked for again every ``request_retry_s`` (elapsed time; at once after a restart) while the
rules still want it. The rules are handed both clocks (``actors/_runtime/clock.py``): pauses and
the 24 h trip count run on elapsed time, the daily-loss session on the wall. An operator who
lifts a halt or a breaker pause resets the rules (``rules.operator_reset``): the operator has
looked at the account, and the evidence that tripped the breaker is re-based.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import ClassVar

import msgspec

from actors._runtime import log
from actors._runtime.actor import BaseActor, Summary
from actors._runtime.clock import Clock, Instant, SystemClock
from actors._runtime.codec import Envelope
from actors._runtime.halts_reader import HaltsReader
from actors._runtime.messages import Message
from actors._runtime.trading import TradingState, TradingStateChanged
from actors.breaker import rules
from actors.breaker.config import BreakerActorConfig
from actors.breaker.messages import BreakerHalted, BreakerReset, BreakerStatus, BreakerTripped
from actors.execution.messages import EquityUpdated, OrderFilled

SOURCE = "breaker"


class Persisted(msgspec.Struct):
    """What the breaker persists (key ``breaker``): the rules' state and its own counters."""

    rules: rules.BreakerState = msgspec.field(default_factory=rules.BreakerState)
    marks: int = 0
    trades: int = 0
    trips: int = 0
    halts: int = 0
    resets: int = 0
    requested: str = ""
    """State last asked for and not yet seen on the bus ('' when none is outstanding)."""
    requested_at: float = 0.0
    """Wall-clock time it was asked (for people: the retry is paced on elapsed time)."""
    paused_by_breaker: bool = False
    """The trading state in force is a pause the breaker asked for (only that one it lifts)."""


class BreakerActor(BaseActor):
    """Circuit breaker: drawdown from peak, consecutive losses, Sharpe floor, daily loss."""

    config_type: ClassVar[type[msgspec.Struct] | None] = BreakerActorConfig
    replays_bus: ClassVar[bool] = True
    subscriptions: ClassVar[tuple[str, ...]] = (
        "EquityUpdated", "OrderFilled", "TradingStateChanged",
    )

    def restore(self, snapshot: Mapping[str, bytes]) -> None:
        """Load the rules' state and counters; read the trading state from the halts store."""
        raw = snapshot.get("breaker")
        self.st = msgspec.msgpack.decode(raw, type=Persisted) if raw else Persisted()
        self.iterations = self.st.marks + self.st.trades
        self.rules_config = self.config.rules()
        self.clock: Clock = SystemClock()
        # Elapsed reading of the last request, in this process only: a restarted breaker asks
        # again at its first tick (the old process may have died before the request left).
        self._asked_at = -math.inf
        self._status_at = -math.inf
        reader = HaltsReader(self.state_dir)
        self.trading, _ = reader.state()
        self._last_change = reader.last_change()
        reader.close()

    def on_ready(self) -> None:
        """Report the status; then: a breaker file older than the halts store must not pass for
        an untripped breaker: the store says the breaker stopped trading, the file remembers no
        trip (nor a resume it asked for), so the tree goes HALTED with why, for an operator."""
        self._publish_status()
        last, st = self._last_change, self.st
        if last is None or last[1] != SOURCE:
            return
        if last[0] not in (TradingState.PAUSED, TradingState.HALTED):
            return
        if st.rules.halted or st.rules.paused_until is not None or st.requested:
            return
        reason = (f"breaker state older than the halts store: trading is {last[0].value} by the "
                  f"breaker since {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(last[2]))}, "
                  "but breaker.sqlite records no trip (restored from an older copy?)")
        log.get("breaker").error("breaker_state_behind_halts_store", reason=reason,
                                 action="requesting HALTED")
        self._request(TradingState.HALTED, reason)

    def summary(self) -> Summary:
        """Counters and the rules' state as restored."""
        r = self.st.rules
        return {
            "iterations": self.iterations,
            "peak_equity": r.peak_equity if r.peak_equity is not None else 0.0,
            "consecutive_losses": r.consecutive_losses,
            "trips": self.st.trips,
            "trips_in_24h": len(r.trip_times),
            "halts": self.st.halts,
            "paused_until": r.paused_until or 0.0,
            "halted": r.halted,
        }

    def status(self) -> BreakerStatus:
        """The rules' state against their limits now (``quantfund status``)."""
        r, cfg = self.st.rules, self.rules_config
        drawdown = None
        if r.peak_equity is not None and r.last_equity is not None:
            drawdown = rules.drawdown_pct(r.peak_equity, r.last_equity)
        return BreakerStatus(
            peak_equity=r.peak_equity, last_equity=r.last_equity, drawdown_pct=drawdown,
            max_drawdown_pct=cfg.max_drawdown_pct, session_id=r.session_id,
            daily_loss=rules.session_loss(r), daily_loss_limit=cfg.daily_loss_limit,
            consecutive_losses=r.consecutive_losses,
            max_consecutive_losses=cfg.max_consecutive_losses,
            sharpe=rules.window_sharpe(r),
            sharpe_trades=len(r.trade_pnls), sharpe_floor=cfg.sharpe_floor,
            sharpe_min_trades=cfg.sharpe_min_trades, trips_in_24h=len(r.trip_times),
            max_trips_per_24h=cfg.max_trips_per_24h, paused_until=r.paused_until,
            halted=r.halted, trips=self.st.trips, at=self.clock().wall,
        )

    def _publish_status(self) -> None:
        self._status_at = self.clock().elapsed
        self.publish(self.status())

    def tick_interval(self) -> float | None:
        """How often the clock is applied."""
        interval: float = self.config.check_interval_s
        return interval

    # --- inputs ------------------------------------------------------------------------

    def on_event(self, env: Envelope[Message]) -> None:
        """Equity marks and closed trades go to the rules; state changes are followed."""
        msg, now, cfg = env.payload, self.clock(), self.rules_config
        if isinstance(msg, EquityUpdated):
            self.st.marks += 1
            self._act(*rules.on_equity(self.st.rules, msg.equity, now, cfg))
        elif isinstance(msg, OrderFilled):
            if msg.realized_pnl == 0:
                return  # an opening fill closes no trade
            self.st.trades += 1
            self._act(*rules.on_trade_closed(self.st.rules, msg.realized_pnl, now, cfg))
        elif isinstance(msg, TradingStateChanged):
            self._follow(msg, now)
        else:
            return
        self.iterations = self.st.marks + self.st.trades
        self.put("breaker", self.st)

    def on_tick(self, now: float) -> None:
        """Apply the clock (a pause whose window passed resumes); re-ask what was not heard.

        ``now`` (the runtime's wall time) is not used: the breaker reads its own clock, which
        also gives the elapsed time its durations are measured on.
        """
        instant = self.clock()
        before = self.st.rules
        state, actions = rules.on_clock(before, instant, self.rules_config)
        if actions or state != before:
            self._act(state, actions)
            self.put("breaker", self.st)
        self._retry(instant)
        if instant.elapsed - self._status_at >= self.config.status_interval_s:
            self._publish_status()

    def _follow(self, msg: TradingStateChanged, now: Instant) -> None:
        st = self.st
        self.trading = msg.state
        paused = msg.state is TradingState.PAUSED
        if msg.previous is not msg.state:
            st.paused_by_breaker = paused and msg.source == SOURCE
        elif paused and st.requested == msg.state.value:
            # The current state re-announced at (re)start: the pause asked for before a crash
            # landed while this process was down.
            st.paused_by_breaker = True
        if st.requested == msg.state.value:
            st.requested = ""
        elif msg.source != SOURCE and msg.previous is not msg.state:
            st.requested = ""  # someone else decided since; the retry must not undo it
        lifted = msg.state in (TradingState.ACTIVE, TradingState.REDUCING)
        stopped = st.rules.halted or st.rules.paused_until is not None
        if msg.source == "operator" and lifted and stopped:
            st.rules, actions = rules.operator_reset(st.rules, now, reason=msg.reason)
            for action in actions:
                if isinstance(action, rules.Resume):
                    st.resets += 1
                    self.publish(BreakerReset(reason=action.reason))

    # --- actions -----------------------------------------------------------------------

    def _act(self, state: rules.BreakerState, actions: list[rules.BreakerAction]) -> None:
        """Adopt the rules' new state (persisted by the caller before anything is sent), then
        publish and request what each action says."""
        st = self.st
        st.rules = state
        for action in actions:
            if isinstance(action, rules.Trip):
                st.trips += 1
                self.publish(BreakerTripped(
                    rule=action.rule.value, reason=action.reason,
                    pause_until=action.pause_until, trips_in_24h=len(state.trip_times),
                ))
                self._request(TradingState.PAUSED, f"breaker {action.rule.value}: {action.reason}")
            elif isinstance(action, rules.Halt):
                st.trips += 1
                st.halts += 1
                self.publish(BreakerHalted(
                    rule=action.rule.value, reason=action.reason, trips_in_24h=action.trips_in_24h,
                ))
                self._request(TradingState.HALTED, f"breaker {action.rule.value}: {action.reason}")
            else:
                st.resets += 1
                self.publish(BreakerReset(reason=action.reason))
                if self.trading is TradingState.PAUSED and st.paused_by_breaker:
                    self._request(TradingState.ACTIVE, f"breaker reset: {action.reason}")

    def _request(self, state: TradingState, reason: str) -> None:
        now = self.clock()
        self.st.requested, self.st.requested_at = state.value, now.wall
        self._asked_at = now.elapsed
        self.request_trading_state(state.value, source=SOURCE, reason=reason)

    def _retry(self, now: Instant) -> None:
        st, r = self.st, self.st.rules
        if not st.requested or now.elapsed - self._asked_at < self.config.request_retry_s:
            return
        wanted = {
            TradingState.HALTED.value: r.halted,
            TradingState.PAUSED.value: r.paused_until is not None and not r.halted,
            TradingState.ACTIVE.value: (
                not r.halted and r.paused_until is None
                and self.trading is TradingState.PAUSED and st.paused_by_breaker
            ),
        }.get(st.requested, False)
        if not wanted or self.trading.value == st.requested:
            st.requested = ""
            self.put("breaker", st)
            return
        self._request(TradingState(st.requested), "breaker: repeated, the bus never confirmed it")
        self.put("breaker", st)
