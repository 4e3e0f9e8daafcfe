"""Breaker rules under a wall clock stepped ±1 h: pauses, the 24 h trip count, the session.

Each test drives the pure rules with a :class:`SteppedClock` whose wall reading is stepped apart
from its elapsed reading, as an NTP step or a VM resume does (docs/adr/0010).
"""

from __future__ import annotations

import math

import msgspec
import pytest

from actors._runtime.clock import Instant
from actors.breaker.rules import (
    TRIP_WINDOW_S,
    BreakerAction,
    BreakerState,
    Halt,
    Resume,
    Trip,
    TripRule,
    on_clock,
    on_equity,
    on_trade_closed,
)
from actors.breaker.rules_config import BreakerConfig
from tests.support.clock import SteppedClock

HOUR = 3_600.0
MIDNIGHT = 1_700_092_800.0  # 2023-11-16 00:00 UTC: a session boundary of the default config

# Only the rule a test is about can fire: one losing trade trips, the daily loss is 500.
CONFIG = BreakerConfig(
    max_drawdown_pct=100.0,
    max_consecutive_losses=1,
    sharpe_window=20,
    sharpe_floor=-1e300,
    sharpe_min_trades=20,
    daily_loss_limit=500.0,
    reset_window_s=600.0,
    max_trips_per_24h=1_000_000,
)


def _kinds(actions: list[BreakerAction]) -> list[type]:
    return [type(a) for a in actions]


def _tripped(clock: SteppedClock, config: BreakerConfig = CONFIG) -> BreakerState:
    state, actions = on_trade_closed(BreakerState(), -1.0, clock(), config)
    assert _kinds(actions) == [Trip]
    return state


@pytest.mark.parametrize("step", [HOUR, -HOUR])
@pytest.mark.parametrize("step_after", [0.0, 300.0])
def test_a_wall_step_during_a_pause_moves_neither_end(step: float, step_after: float) -> None:
    """Stepped +1 h, the wall says the pause is over at once: it is not; stepped -1 h, it says
    an hour is left: it is not. The pause ends at exactly reset_window_s of elapsed time, the
    last float before it still paused, whenever during the pause the step comes."""
    clock = SteppedClock(MIDNIGHT - 6 * HOUR)
    state = _tripped(clock)
    clock.advance(step_after)
    clock.step_wall(step)
    state, actions = on_clock(state, clock(), CONFIG)
    assert actions == []
    clock.advance(CONFIG.reset_window_s - step_after)
    just_before = Instant(
        wall=clock.wall, elapsed=math.nextafter(clock.elapsed, -math.inf), boot=clock.boot
    )
    state, actions = on_clock(state, just_before, CONFIG)
    assert actions == []
    state, actions = on_clock(state, clock(), CONFIG)
    assert _kinds(actions) == [Resume]
    assert state.paused_until is None


@pytest.mark.parametrize(("step", "expected"), [(HOUR, Halt), (-HOUR, Trip)])
def test_the_24h_trip_count_runs_on_elapsed_time(step: float, expected: type) -> None:
    """With two trips to halt, a trip 23 h 30 min (elapsed) after the first halts although the
    wall, stepped +1 h, says 24 h 30 min; one 24 h 30 min after only pauses although the wall,
    stepped -1 h, says 23 h 30 min."""
    config = msgspec.structs.replace(CONFIG, max_trips_per_24h=2)
    clock = SteppedClock(MIDNIGHT - 6 * HOUR)
    state = _tripped(clock, config)
    clock.advance(TRIP_WINDOW_S - HOUR / 2 if step > 0 else TRIP_WINDOW_S + HOUR / 2)
    clock.step_wall(step)
    _, actions = on_trade_closed(state, -1.0, clock(), config)
    assert [type(a) for a in actions if not isinstance(a, Resume)] == [expected]


def test_a_pause_from_before_a_reboot_restarts_its_full_window() -> None:
    """After a reboot the elapsed time since the trip is not provable, whatever the wall says
    (here ten hours later): the pause goes on for a full reset_window_s from the first reading
    on the new boot, and the trip counts for 24 h from there."""
    clock = SteppedClock(MIDNIGHT - 6 * HOUR)
    state = _tripped(clock)
    clock.reboot("boot-2", uptime=30.0)
    clock.step_wall(10 * HOUR)
    state, actions = on_clock(state, clock(), CONFIG)
    assert actions == []
    assert state.boot == "boot-2"
    assert state.trip_elapsed == (30.0,)
    clock.advance(CONFIG.reset_window_s - 1)
    state, actions = on_clock(state, clock(), CONFIG)
    assert actions == []
    clock.advance(1)
    _, actions = on_clock(state, clock(), CONFIG)
    assert _kinds(actions) == [Resume]


def test_a_pause_written_before_elapsed_readings_runs_a_full_window() -> None:
    """A state from before this change (wall times only, no boot) still decodes; its pause,
    which the wall says ended, is not provably over and lasts reset_window_s from the first
    reading; its trip is kept."""
    old = msgspec.msgpack.encode(
        {"trip_times": [MIDNIGHT - HOUR], "paused_until": MIDNIGHT - HOUR + 600.0}
    )
    state = msgspec.msgpack.decode(old, type=BreakerState)
    clock = SteppedClock(MIDNIGHT)
    state, actions = on_clock(state, clock(), CONFIG)
    assert actions == []
    assert state.trip_times == (MIDNIGHT - HOUR,)
    clock.advance(CONFIG.reset_window_s)
    _, actions = on_clock(state, clock(), CONFIG)
    assert _kinds(actions) == [Resume]


def test_a_step_forward_across_the_boundary_starts_the_session_once() -> None:
    """23:30 -> stepped +1 h to 00:30: the new session starts at once (not skipped); stepped
    back -1 h the previous session is not restored, and when the wall reaches 00:00 again it
    does not start a second time: the loss is counted from the one new baseline."""
    clock = SteppedClock(MIDNIGHT - HOUR / 2)
    state, _ = on_equity(BreakerState(), 10_000.0, clock(), CONFIG)
    assert state.session_id == "2023-11-15"
    clock.step_wall(HOUR)
    state, _ = on_equity(state, 9_600.0, clock(), CONFIG)
    assert (state.session_id, state.session_start_equity) == ("2023-11-16", 9_600.0)
    clock.step_wall(-HOUR)
    state, _ = on_equity(state, 9_400.0, clock(), CONFIG)
    assert (state.session_id, state.session_start_equity) == ("2023-11-16", 9_600.0)
    clock.advance(HOUR / 2)  # the wall at 00:00 again
    state, actions = on_equity(state, 9_100.0, clock(), CONFIG)
    assert (state.session_id, state.session_start_equity) == ("2023-11-16", 9_600.0)
    assert [a.rule for a in actions if isinstance(a, Trip)] == [TripRule.DAILY_LOSS]


def test_a_step_back_across_the_boundary_neither_reopens_nor_restarts_the_session() -> None:
    """00:30 -> stepped -1 h to 23:30: the previous session is not re-opened (its baseline is
    not taken again), and when the wall reaches 00:00 again the session does not restart, so a
    loss of the limit since 00:00 trips; the next real boundary still resets."""
    clock = SteppedClock(MIDNIGHT + HOUR / 2)
    state, _ = on_equity(BreakerState(), 10_000.0, clock(), CONFIG)
    clock.step_wall(-HOUR)
    state, _ = on_equity(state, 9_700.0, clock(), CONFIG)
    assert (state.session_id, state.session_start_equity) == ("2023-11-16", 10_000.0)
    clock.advance(HOUR / 2)  # the wall at 00:00 again
    state, actions = on_equity(state, 9_600.0, clock(), CONFIG)
    assert (state.session_id, state.session_start_equity) == ("2023-11-16", 10_000.0)
    assert actions == []
    state, actions = on_equity(state, 9_500.0, clock(), CONFIG)
    assert [a.rule for a in actions if isinstance(a, Trip)] == [TripRule.DAILY_LOSS]
    clock.advance(24 * HOUR)
    state, _ = on_equity(state, 9_500.0, clock(), CONFIG)
    assert (state.session_id, state.session_start_equity) == ("2023-11-17", 9_500.0)
