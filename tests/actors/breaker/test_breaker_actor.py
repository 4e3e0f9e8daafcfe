"""The breaker actor's wiring of the pure rules: what it persists, publishes and requests.

The actor's hooks are driven directly with an injected clock (no process, no sockets): each call
returns the effects the runtime would commit and send.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from actors._runtime.actor import CallKind, Effects
from actors._runtime.codec import Envelope
from actors._runtime.messages import RequestTradingState
from actors._runtime.trading import TradingState, TradingStateChanged
from actors.breaker.actor import BreakerActor, Persisted
from actors.breaker.config import BreakerActorConfig
from actors.breaker.messages import BreakerHalted, BreakerReset, BreakerTripped
from actors.execution.messages import EquityUpdated, OrderFilled, Side
from supervisor.halts import HaltsStore

CONFIG = BreakerActorConfig(
    max_drawdown_pct=10.0, max_consecutive_losses=3, daily_loss_limit=1e9,
    reset_window_s=60.0, max_trips_per_24h=3, request_retry_s=2.0,
)
T0 = 1_800_000_000.0


class Clock:
    """A settable clock."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def _actor(state_dir: Path, snapshot: dict[str, bytes] | None = None) -> tuple[BreakerActor, Clock]:
    if not (state_dir / "halts.sqlite").exists():
        HaltsStore.open(state_dir / "halts.sqlite").close()
    actor = BreakerActor("breaker", CONFIG, snapshot or {}, state_dir)
    clock = Clock()
    actor.clock = clock
    return actor, clock


def _call(actor: BreakerActor, kind: CallKind, arg: Any = None) -> Effects:
    actor._fx = Effects()
    actor._dispatch(kind, arg)
    fx, actor._fx = actor._fx, Effects()
    return fx


def _event(actor: BreakerActor, payload: Any) -> Effects:
    return _call(actor, CallKind.EVENT, Envelope(sender="x", msg_id="m", payload=payload))


def _equity(actor: BreakerActor, equity: float) -> Effects:
    return _event(actor, EquityUpdated(equity=equity, cash=equity, realized_pnl=0.0, ts=0.0))


def _changed(actor: BreakerActor, prev: TradingState, state: TradingState, source: str,
             seq: int) -> Effects:
    return _event(actor, TradingStateChanged(previous=prev, state=state, source=source,
                                             reason="test", seq=seq))


def _requests(fx: Effects) -> list[tuple[str, str]]:
    return [(m.state, m.source) for m in fx.control if isinstance(m, RequestTradingState)]


def test_a_trip_persists_then_requests_paused_and_publishes(tmp_path: Path) -> None:
    """Drawdown of 10 % from the peak (not the start) pauses: the state is written, a
    BreakerTripped names the rule, and PAUSED is requested with source breaker."""
    actor, _ = _actor(tmp_path)
    _equity(actor, 100.0)
    _equity(actor, 200.0)  # the peak
    assert _requests(_equity(actor, 181.0)) == []  # 9.5 % below the peak, above the start
    fx = _equity(actor, 180.0)
    assert _requests(fx) == [("PAUSED", "breaker")]
    tripped = [e for e in fx.events if isinstance(e, BreakerTripped)]
    assert [t.rule for t in tripped] == ["drawdown"]
    assert tripped[0].pause_until == T0 + CONFIG.reset_window_s
    saved = msgspec.msgpack.decode(fx.writes["breaker"], type=Persisted)
    assert saved.rules.paused_until == T0 + CONFIG.reset_window_s
    assert saved.requested == "PAUSED"


def test_the_pause_ends_by_itself_after_the_reset_window(tmp_path: Path) -> None:
    """After the window the tick resumes: BreakerReset and a request for ACTIVE, but only if
    the pause in force is the breaker's own."""
    actor, clock = _actor(tmp_path)
    _equity(actor, 100.0)
    _equity(actor, 50.0)
    _changed(actor, TradingState.ACTIVE, TradingState.PAUSED, "breaker", 1)
    clock.now += CONFIG.reset_window_s - 1
    assert _requests(_call(actor, CallKind.TICK, clock.now)) == []
    clock.now += 1
    fx = _call(actor, CallKind.TICK, clock.now)
    assert _requests(fx) == [("ACTIVE", "breaker")]
    assert any(isinstance(e, BreakerReset) for e in fx.events)


def test_an_operator_pause_is_not_lifted_by_the_breaker(tmp_path: Path) -> None:
    """The breaker's own pause ended, but an operator paused since: no ACTIVE request."""
    actor, clock = _actor(tmp_path)
    _equity(actor, 100.0)
    _equity(actor, 50.0)
    _changed(actor, TradingState.ACTIVE, TradingState.PAUSED, "breaker", 1)
    _changed(actor, TradingState.PAUSED, TradingState.HALTED, "operator", 2)
    _changed(actor, TradingState.HALTED, TradingState.REDUCING, "operator", 3)
    _changed(actor, TradingState.REDUCING, TradingState.PAUSED, "operator", 4)
    clock.now += CONFIG.reset_window_s
    assert _requests(_call(actor, CallKind.TICK, clock.now)) == []


def test_the_nth_trip_within_24h_requests_halted(tmp_path: Path) -> None:
    """Three trips of a persisting condition: PAUSED, PAUSED, then HALTED with BreakerHalted;
    the halt never resumes by itself."""
    actor, clock = _actor(tmp_path)
    _equity(actor, 100.0)
    asked = []
    for seq in range(3):
        fx = _equity(actor, 50.0)
        asked += _requests(fx)
        if seq < 2:
            _changed(actor, TradingState.ACTIVE, TradingState.PAUSED, "breaker", 2 * seq + 1)
            clock.now += CONFIG.reset_window_s
            asked += _requests(_call(actor, CallKind.TICK, clock.now))
            _changed(actor, TradingState.PAUSED, TradingState.ACTIVE, "breaker", 2 * seq + 2)
    assert asked == [("PAUSED", "breaker"), ("ACTIVE", "breaker"), ("PAUSED", "breaker"),
                     ("ACTIVE", "breaker"), ("HALTED", "breaker")]
    halted = [e for e in fx.events if isinstance(e, BreakerHalted)]
    assert len(halted) == 1
    assert halted[0].trips_in_24h == 3
    clock.now += 10 * CONFIG.reset_window_s
    _changed(actor, TradingState.ACTIVE, TradingState.HALTED, "breaker", 5)
    assert _requests(_call(actor, CallKind.TICK, clock.now)) == []


def test_a_restart_restores_counters_windows_and_peak(tmp_path: Path) -> None:
    """What was persisted is what a new process starts from: same peak, trips, pause."""
    actor, _ = _actor(tmp_path)
    _equity(actor, 100.0)
    _equity(actor, 300.0)
    fx = _equity(actor, 100.0)
    again, _ = _actor(tmp_path, {"breaker": fx.writes["breaker"]})
    assert again.st.rules.peak_equity == 300.0
    assert again.st.rules.trip_times == (T0,)
    assert again.st.rules.paused_until == T0 + CONFIG.reset_window_s
    assert again.summary()["trips"] == 1


def test_only_closing_fills_count_as_trades(tmp_path: Path) -> None:
    """An opening fill (realized 0) is not a trade; three losing closes trip the run rule."""
    actor, _ = _actor(tmp_path)

    def fill(pnl: float) -> Effects:
        return _event(actor, OrderFilled(client_order_id="c", instrument="X", side=Side.SELL,
                                         quantity=1.0, price=1.0, position_after=0.0,
                                         realized_pnl=pnl))

    for _ in range(5):
        assert _requests(fill(0.0)) == []
    assert actor.st.trades == 0
    fill(-1.0)
    fill(-1.0)
    fx = fill(-1.0)
    assert _requests(fx) == [("PAUSED", "breaker")]
    assert [e.rule for e in fx.events if isinstance(e, BreakerTripped)] == ["consecutive_losses"]


def test_an_unconfirmed_request_is_repeated(tmp_path: Path) -> None:
    """The control channel does not retry: a PAUSED never seen on the bus is asked again
    after request_retry_s, and no longer once the bus shows it."""
    actor, clock = _actor(tmp_path)
    _equity(actor, 100.0)
    _equity(actor, 50.0)
    clock.now += 1.0
    assert _requests(_call(actor, CallKind.TICK, clock.now)) == []
    clock.now += 1.0
    assert _requests(_call(actor, CallKind.TICK, clock.now)) == [("PAUSED", "breaker")]
    _changed(actor, TradingState.ACTIVE, TradingState.PAUSED, "breaker", 1)
    clock.now += 5.0
    assert _requests(_call(actor, CallKind.TICK, clock.now)) == []


def test_an_operator_resume_resets_a_halted_breaker(tmp_path: Path) -> None:
    """Lifting a breaker halt (operator, HALTED -> ACTIVE) re-bases the rules: BreakerReset
    is published, no request is made, and the next mark at the same equity does not trip."""
    actor, _ = _actor(tmp_path)
    _equity(actor, 100.0)
    actor.st.rules = msgspec.structs.replace(actor.st.rules, halted=True, last_equity=50.0)
    fx = _changed(actor, TradingState.HALTED, TradingState.ACTIVE, "operator", 9)
    assert any(isinstance(e, BreakerReset) for e in fx.events)
    assert _requests(fx) == []
    assert not actor.st.rules.halted
    assert _requests(_equity(actor, 50.0)) == []


@pytest.mark.parametrize("field", ["max_drawdown_pct", "reset_window_s"])
def test_config_refuses_a_threshold_that_disables_a_rule(field: str) -> None:
    """A NaN threshold in [breaker] is refused when the config is decoded, naming the key."""
    with pytest.raises(msgspec.ValidationError, match=field):
        msgspec.convert({field: float("nan")}, BreakerActorConfig)
