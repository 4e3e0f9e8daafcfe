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
from tests.support.clock import SteppedClock

CONFIG = BreakerActorConfig(
    max_drawdown_pct=10.0, max_consecutive_losses=3, daily_loss_limit=1e9,
    reset_window_s=60.0, max_trips_per_24h=3, request_retry_s=2.0,
)
T0 = 1_800_000_000.0


def _actor(
    state_dir: Path, snapshot: dict[str, bytes] | None = None
) -> tuple[BreakerActor, SteppedClock]:
    if not (state_dir / "halts.sqlite").exists():
        HaltsStore.open(state_dir / "halts.sqlite").close()
    actor = BreakerActor("breaker", CONFIG, snapshot or {}, state_dir)
    clock = SteppedClock(T0)
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
    clock.advance(CONFIG.reset_window_s - 1)
    assert _requests(_call(actor, CallKind.TICK, clock.wall)) == []
    clock.advance(1)
    fx = _call(actor, CallKind.TICK, clock.wall)
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
    clock.advance(CONFIG.reset_window_s)
    assert _requests(_call(actor, CallKind.TICK, clock.wall)) == []


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
            clock.advance(CONFIG.reset_window_s)
            asked += _requests(_call(actor, CallKind.TICK, clock.wall))
            _changed(actor, TradingState.PAUSED, TradingState.ACTIVE, "breaker", 2 * seq + 2)
    assert asked == [("PAUSED", "breaker"), ("ACTIVE", "breaker"), ("PAUSED", "breaker"),
                     ("ACTIVE", "breaker"), ("HALTED", "breaker")]
    halted = [e for e in fx.events if isinstance(e, BreakerHalted)]
    assert len(halted) == 1
    assert halted[0].trips_in_24h == 3
    clock.advance(10 * CONFIG.reset_window_s)
    _changed(actor, TradingState.ACTIVE, TradingState.HALTED, "breaker", 5)
    assert _requests(_call(actor, CallKind.TICK, clock.wall)) == []


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
    clock.advance(1.0)
    assert _requests(_call(actor, CallKind.TICK, clock.wall)) == []
    clock.advance(1.0)
    assert _requests(_call(actor, CallKind.TICK, clock.wall)) == [("PAUSED", "breaker")]
    _changed(actor, TradingState.ACTIVE, TradingState.PAUSED, "breaker", 1)
    clock.advance(5.0)
    assert _requests(_call(actor, CallKind.TICK, clock.wall)) == []


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


# --- a wall clock stepped ±1 h (docs/adr/0010) -------------------------------------------------

# Written by the breaker before elapsed readings were kept: paused (until T0 + 300 by the wall),
# two trips, PAUSED requested at T0. Bytes as that code encoded them.
_OLD_PERSISTED = bytes.fromhex(
    "89a572756c657389ab7065616b5f657175697479cb408f400000000000ab6c6173745f657175697479cb40890000"
    "00000000b2636f6e73656375746976655f6c6f7373657300aa74726164655f706e6c7390aa747269705f74696d65"
    "7392cb41dad27386000000cb41dad27480000000ac7061757365645f756e74696ccb41dad274cb000000a668616c"
    "746564c2aa73657373696f6e5f6964aa323032372d30312d3135b473657373696f6e5f73746172745f6571756974"
    "79cb408f400000000000a56d61726b7307a674726164657300a5747269707302a568616c747300a6726573657473"
    "00a9726571756573746564a6504155534544ac7265717565737465645f6174cb41dad27480000000b17061757365"
    "645f62795f627265616b6572c3"
)


def _ticks_until_active(actor: BreakerActor, clock: SteppedClock, limit_s: float) -> float:
    """Tick every check_interval_s; return the elapsed time at the first ACTIVE request."""
    start = clock.elapsed
    while clock.elapsed - start <= limit_s:
        if ("ACTIVE", "breaker") in _requests(_call(actor, CallKind.TICK, clock.wall)):
            return clock.elapsed - start
        clock.advance(CONFIG.check_interval_s)
    raise AssertionError(f"no ACTIVE request within {limit_s} s")


@pytest.mark.parametrize("step", [3_600.0, -3_600.0])
def test_a_wall_step_during_a_pause_does_not_move_its_end(tmp_path: Path, step: float) -> None:
    """Ticking at check_interval_s, with the wall stepped ±1 h a second into the pause, the
    breaker asks for ACTIVE after reset_window_s of elapsed time, within one tick: not at the
    step (+1 h) and not an hour late (-1 h)."""
    actor, clock = _actor(tmp_path)
    _equity(actor, 100.0)
    _equity(actor, 50.0)
    _changed(actor, TradingState.ACTIVE, TradingState.PAUSED, "breaker", 1)
    clock.advance(1.0)
    clock.step_wall(step)
    took = 1.0 + _ticks_until_active(actor, clock, 2 * 3_600.0)
    assert CONFIG.reset_window_s <= took < CONFIG.reset_window_s + CONFIG.check_interval_s


def test_a_restart_on_the_same_boot_keeps_the_pause_on_elapsed_time(tmp_path: Path) -> None:
    """A breaker restarted mid-pause, with the wall stepped +1 h meanwhile, resumes when the
    pause has lasted reset_window_s of elapsed time, not at its first tick."""
    actor, clock = _actor(tmp_path)
    _equity(actor, 100.0)
    fx = _equity(actor, 50.0)
    _changed(actor, TradingState.ACTIVE, TradingState.PAUSED, "breaker", 1)
    again, _ = _actor(tmp_path, {"breaker": fx.writes["breaker"]})
    again.clock = clock
    _changed(again, TradingState.PAUSED, TradingState.PAUSED, "supervisor", 1)
    clock.advance(10.0)
    clock.step_wall(3_600.0)
    took = 10.0 + _ticks_until_active(again, clock, 2 * 3_600.0)
    assert CONFIG.reset_window_s <= took < CONFIG.reset_window_s + CONFIG.check_interval_s


def test_an_unconfirmed_request_is_repeated_after_a_wall_step_back(tmp_path: Path) -> None:
    """A PAUSED request the bus never shows is asked again request_retry_s (elapsed) after it
    was made, although the wall was stepped back an hour in between."""
    actor, clock = _actor(tmp_path)
    _equity(actor, 100.0)
    _equity(actor, 50.0)
    clock.step_wall(-3_600.0)
    clock.advance(CONFIG.request_retry_s - 0.5)
    assert _requests(_call(actor, CallKind.TICK, clock.wall)) == []
    clock.advance(0.5)
    assert _requests(_call(actor, CallKind.TICK, clock.wall)) == [("PAUSED", "breaker")]


def test_a_state_file_written_before_elapsed_readings_still_loads(tmp_path: Path) -> None:
    """The bytes the previous breaker wrote decode: counters, peak, trips, session and the
    outstanding request are kept. Its pause, which the wall (an hour on) says ended, cannot be
    proved over: it lasts reset_window_s more."""
    HaltsStore.open(tmp_path / "halts.sqlite").close()
    actor = BreakerActor("breaker", CONFIG, {"breaker": _OLD_PERSISTED}, tmp_path)
    clock = SteppedClock(T0 + 3_600.0)
    actor.clock = clock
    r = actor.st.rules
    assert (actor.st.marks, actor.st.trips, actor.st.requested) == (7, 2, "PAUSED")
    assert (r.peak_equity, r.session_id, r.paused_until) == (1_000.0, "2027-01-15", T0 + 300.0)
    assert r.trip_times == (T0 - 1_000.0, T0)
    _changed(actor, TradingState.PAUSED, TradingState.PAUSED, "supervisor", 1)
    took = _ticks_until_active(actor, clock, 2 * 3_600.0)
    assert CONFIG.reset_window_s <= took < CONFIG.reset_window_s + CONFIG.check_interval_s
    assert len(actor.st.rules.trip_times) == 2


def _pause_in_store(state_dir: Path, source: str) -> None:
    from supervisor.trading_state import Source, transition

    store = HaltsStore.open(state_dir / "halts.sqlite")
    change = transition(TradingState.ACTIVE, TradingState.PAUSED, source=Source(source),
                        reason="breaker drawdown", at=T0)
    store.append_transition(change, who=source)
    store.close()


def test_a_breaker_file_older_than_the_halts_store_asks_for_halted(tmp_path: Path) -> None:
    """The halts store says the breaker paused trading; the breaker's file (restored from a copy
    taken before the trip) remembers none: at start it asks for HALTED, naming why, instead of
    passing for an untripped breaker."""
    _pause_in_store(tmp_path, "breaker")
    older = msgspec.msgpack.encode(Persisted())
    actor, _ = _actor(tmp_path, {"breaker": older})
    fx = _call(actor, CallKind.READY)
    assert _requests(fx) == [("HALTED", "breaker")]
    [req] = [m for m in fx.control if isinstance(m, RequestTradingState)]
    assert "older than the halts store" in req.reason


def test_a_breaker_that_knows_its_trip_or_a_pause_by_someone_else_asks_nothing(
    tmp_path: Path,
) -> None:
    """Its own file remembers the pause: nothing to ask. An operator's pause: not the
    breaker's to explain."""
    _pause_in_store(tmp_path, "breaker")
    actor, _ = _actor(tmp_path)
    _equity(actor, 100.0)
    fx = _equity(actor, 50.0)  # trips: the file now records the pause
    again, _ = _actor(tmp_path, {"breaker": fx.writes["breaker"]})
    assert _requests(_call(again, CallKind.READY)) == []
    for side in ("", "-wal", "-shm"):
        (tmp_path / f"halts.sqlite{side}").unlink(missing_ok=True)
    _pause_in_store(tmp_path, "operator")
    fresh, _ = _actor(tmp_path, {"breaker": msgspec.msgpack.encode(Persisted())})
    assert _requests(_call(fresh, CallKind.READY)) == []


def _loss(actor: BreakerActor, pnl: float) -> Effects:
    return _event(actor, OrderFilled(client_order_id="c", instrument="BTC-USD", side=Side.SELL,
                                     quantity=1.0, price=1.0, position_after=0.0,
                                     realized_pnl=pnl))


def test_status_reports_the_rules_state_against_their_limits(tmp_path: Path) -> None:
    """``status()``: peak, last mark, drawdown from the peak and daily loss (the rules' own
    functions), the run of losses, the window's Sharpe, trips and the pause, each beside its
    limit; a trip shows as paused until its deadline."""
    actor, _ = _actor(tmp_path)
    st = actor.status()
    assert (st.peak_equity, st.drawdown_pct, st.daily_loss, st.sharpe) == (None,) * 4
    _equity(actor, 100.0)
    _equity(actor, 200.0)
    _equity(actor, 190.0)
    _loss(actor, -1.0)
    _loss(actor, -3.0)
    st = actor.status()
    assert st.peak_equity == 200.0
    assert st.last_equity == 190.0
    assert st.drawdown_pct == pytest.approx(5.0)
    assert st.max_drawdown_pct == CONFIG.max_drawdown_pct
    assert st.daily_loss == -90.0  # baseline 100 at the session's first mark: a gain
    assert st.daily_loss_limit == CONFIG.daily_loss_limit
    assert st.consecutive_losses == 2
    assert st.max_consecutive_losses == CONFIG.max_consecutive_losses
    assert st.sharpe == pytest.approx(-2.0 / 2**0.5)  # mean -2, sample stdev sqrt(2)
    assert st.sharpe_trades == 2
    assert (st.trips_in_24h, st.paused_until, st.halted) == (0, None, False)
    _equity(actor, 170.0)  # 15 % below the peak: a trip
    st = actor.status()
    assert st.trips_in_24h == st.trips == 1
    assert st.paused_until == T0 + CONFIG.reset_window_s
