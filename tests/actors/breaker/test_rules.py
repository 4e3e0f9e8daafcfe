"""Circuit-breaker rules: each trip rule, pause and resume, escalation to halt, operator reset."""

from __future__ import annotations

import math
from fractions import Fraction

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
    operator_reset,
    rolling_sharpe,
)
from actors.breaker.rules_config import BreakerConfig

T0 = 1_700_000_000.0
BOOT = "boot-1"


def at(t: float) -> Instant:
    """A reading at wall time ``t`` with the elapsed clock in step with the wall (no step)."""
    return Instant(wall=t, elapsed=t, boot=BOOT)

CONFIG = BreakerConfig(
    max_drawdown_pct=10.0,
    max_consecutive_losses=3,
    sharpe_window=20,
    sharpe_floor=-0.5,
    sharpe_min_trades=10,
    daily_loss_limit=500.0,
    reset_window_s=600.0,
    max_trips_per_24h=3,
)

# Thresholds out of reach of the tests' inputs, unless a test re-enables a rule (only a Sharpe of
# -inf, i.e. 20 identical losses, gets below the floor).
QUIET = BreakerConfig(
    max_drawdown_pct=100.0,
    max_consecutive_losses=1_000_000,
    sharpe_window=20,
    sharpe_floor=-1e300,
    sharpe_min_trades=20,
    daily_loss_limit=1e300,
    reset_window_s=600.0,
    max_trips_per_24h=1_000_000,
)


def trips(actions: list[BreakerAction]) -> list[Trip | Halt]:
    """The Trip and Halt actions of an answer."""
    return [a for a in actions if isinstance(a, Trip | Halt)]


def marks(
    equities: list[float], config: BreakerConfig, start: float = T0, step: float = 1.0
) -> tuple[BreakerState, list[list[BreakerAction]]]:
    """Feed equity marks ``step`` seconds apart; return the final state and each answer."""
    state = BreakerState()
    answers = []
    for n, equity in enumerate(equities):
        state, actions = on_equity(state, equity, at(start + n * step), config)
        answers.append(actions)
    return state, answers


# --- one example per rule --------------------------------------------------------------------


def test_drawdown_is_measured_from_the_peak_not_the_start() -> None:
    """1000 -> 1500 -> 1350 is 10 % below the peak (but above the start): it trips."""
    state, answers = marks([1_000.0, 1_500.0, 1_351.0, 1_350.0], CONFIG)
    assert answers[:3] == [[], [], []]
    [trip] = answers[3]
    assert isinstance(trip, Trip)
    assert trip.rule is TripRule.DRAWDOWN
    assert "equity 1350.0 is 10% below peak 1500.0" in trip.reason
    assert "max_drawdown_pct 10.0" in trip.reason
    assert state.peak_equity == 1_500.0


def test_daily_loss_trips_at_the_limit() -> None:
    """A session loss of exactly daily_loss_limit trips; the reason names both."""
    config = msgspec.structs.replace(CONFIG, max_drawdown_pct=100.0)
    _, answers = marks([10_000.0, 9_501.0, 9_500.0], config)
    assert answers[:2] == [[], []]
    [trip] = answers[2]
    assert isinstance(trip, Trip)
    assert trip.rule is TripRule.DAILY_LOSS
    assert "loss 500.0 reached daily_loss_limit 500.0" in trip.reason


def test_new_session_resets_the_daily_loss_baseline() -> None:
    """The first mark after the session boundary is the new baseline: yesterday's loss is gone."""
    config = msgspec.structs.replace(CONFIG, max_drawdown_pct=100.0)
    midnight = 1_700_092_800.0  # 2023-11-16 00:00 UTC
    state, _ = on_equity(BreakerState(), 10_000.0, at(midnight - 3_600), config)
    state, actions = on_equity(state, 9_600.0, at(midnight - 1), config)
    assert actions == []
    state, actions = on_equity(state, 9_550.0, at(midnight), config)
    assert actions == []
    assert state.session_start_equity == 9_550.0
    assert state.session_id == "2023-11-16"
    _, actions = on_equity(state, 9_050.0, at(midnight + 60), config)
    assert [a.rule for a in trips(actions)] == [TripRule.DAILY_LOSS]


def test_consecutive_losses_trip_and_a_win_ends_the_run() -> None:
    """Three losses in a row trip; a win (or breakeven) in between resets the count."""
    state = BreakerState()
    for n, pnl in enumerate([-1.0, -1.0, 0.0, -1.0, -1.0]):
        state, actions = on_trade_closed(state, pnl, at(T0 + n), CONFIG)
        assert actions == []
    state, actions = on_trade_closed(state, -1.0, at(T0 + 10), CONFIG)
    [trip] = actions
    assert isinstance(trip, Trip)
    assert trip.rule is TripRule.CONSECUTIVE_LOSSES
    assert "3 consecutive losing trades reach max_consecutive_losses 3" in trip.reason


def test_sharpe_floor_trips_on_a_poor_window() -> None:
    """Ten trades with mean -1 and stdev ~1.15 give Sharpe ~-0.87 < -0.5: trip, naming both."""
    config = msgspec.structs.replace(CONFIG, max_consecutive_losses=1_000)
    pnls = [1.0, -2.0, -2.0, 1.0, -2.0, -1.0, -1.0, -1.0, -2.0, -1.0]
    state = BreakerState()
    answers = []
    for n, pnl in enumerate(pnls):
        state, actions = on_trade_closed(state, pnl, at(T0 + n), config)
        answers.append(actions)
    assert all(a == [] for a in answers[:-1])
    [trip] = answers[-1]
    assert isinstance(trip, Trip)
    assert trip.rule is TripRule.SHARPE_FLOOR
    assert "over the last 10 trades is below sharpe_floor -0.5" in trip.reason


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_input_trips(value: float) -> None:
    """A NaN/Inf equity or PnL trips (the breaker cannot judge the account) and poisons nothing."""
    state, _ = on_equity(BreakerState(), 1_000.0, at(T0), CONFIG)
    after, actions = on_equity(state, value, at(T0 + 1), CONFIG)
    assert [(a.rule, str(value) in a.reason) for a in trips(actions)] == [
        (TripRule.INVALID_INPUT, True)
    ]
    assert after.peak_equity == 1_000.0
    assert after.last_equity == 1_000.0
    _, actions = on_trade_closed(state, value, at(T0 + 1), CONFIG)
    assert [a.rule for a in trips(actions)] == [TripRule.INVALID_INPUT]


def test_rolling_sharpe_without_dispersion_has_the_sign_of_the_mean() -> None:
    """Identical losses are the worst Sharpe (-inf), identical wins the best, zeros are 0."""
    assert rolling_sharpe((-1.0, -1.0)) == -math.inf
    assert rolling_sharpe((2.0, 2.0)) == math.inf
    assert rolling_sharpe((0.0, 0.0)) == 0.0


# --- pause, resume, halt ---------------------------------------------------------------------


def test_trips_while_paused_are_not_double_counted() -> None:
    """Marks deep in drawdown during the pause add no trip; the count stays at one."""
    state, answers = marks([1_000.0, 800.0, 700.0, 600.0, 500.0], CONFIG)
    assert [len(trips(a)) for a in answers] == [0, 1, 0, 0, 0]
    assert len(state.trip_times) == 1


def test_persisting_condition_trips_again_after_resume_and_escalates() -> None:
    """A drawdown still there after each pause re-trips, and the third trip in 24 h halts."""
    state = BreakerState()
    state, _ = on_equity(state, 1_000.0, at(T0), CONFIG)
    kinds = []
    for n in range(1, 4):
        state, actions = on_equity(state, 800.0, at(T0 + n * 600.0), CONFIG)
        kinds.append([type(a).__name__ for a in actions])
    assert kinds == [["Trip"], ["Resume", "Trip"], ["Resume", "Halt"]]
    assert state.halted
    halt = trips(actions)[0]
    assert isinstance(halt, Halt)
    assert halt.trips_in_24h == 3
    assert "trip 3 within 24 h reaches max_trips_per_24h 3" in halt.reason


@pytest.mark.parametrize(
    ("second_at", "expected"), [(TRIP_WINDOW_S - 1, Halt), (TRIP_WINDOW_S, Trip)]
)
def test_a_trip_exactly_24h_old_no_longer_counts(
    second_at: float, expected: type[Trip | Halt]
) -> None:
    """With two trips to halt, a second trip 1 s inside 24 h halts; one at exactly 24 h pauses."""
    config = msgspec.structs.replace(QUIET, max_consecutive_losses=1, max_trips_per_24h=2)
    state, first = on_trade_closed(BreakerState(), -1.0, at(T0), config)
    assert [type(a) for a in first] == [Trip]
    _, actions = on_trade_closed(state, -1.0, at(T0 + second_at), config)
    assert [type(a) for a in trips(actions)] == [expected]


def test_halt_is_sticky_until_operator_reset() -> None:
    """After a halt no time passing resumes, no input trips again; operator_reset resumes."""
    config = msgspec.structs.replace(CONFIG, max_trips_per_24h=1)
    state, _ = on_equity(BreakerState(), 1_000.0, at(T0), config)
    state, actions = on_equity(state, 800.0, at(T0 + 1), config)
    assert [type(a) for a in actions] == [Halt]
    for later in (T0 + 700, T0 + 2 * TRIP_WINDOW_S):
        state, actions = on_clock(state, at(later), config)
        assert actions == []
        state, actions = on_equity(state, 100.0, at(later), config)
        assert actions == []
    assert state.halted
    state, actions = operator_reset(state, at(T0 + 3 * TRIP_WINDOW_S), reason="checked the book")
    assert not state.halted
    [resume] = actions
    assert isinstance(resume, Resume)
    assert "checked the book" in resume.reason


def test_operator_reset_rebases_the_evidence() -> None:
    """After a reset, the drawdown is measured from the current equity and no trips are counted."""
    state, _ = marks([1_000.0, 800.0], CONFIG)
    state, _ = operator_reset(state, at(T0 + 5), reason="reviewed")
    assert state.peak_equity == 800.0
    assert state.trip_times == ()
    assert state.paused_until is None
    _, actions = on_equity(state, 790.0, at(T0 + 6), CONFIG)
    assert actions == []


def test_operator_reset_of_a_running_breaker_says_nothing() -> None:
    """A reset when neither paused nor halted emits no Resume."""
    state, _ = marks([1_000.0], CONFIG)
    _, actions = operator_reset(state, at(T0 + 1), reason="routine")
    assert actions == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_drawdown_pct", math.nan),
        ("max_drawdown_pct", 150.0),
        ("daily_loss_limit", 0.0),
        ("reset_window_s", math.inf),
        ("sharpe_floor", math.nan),
        ("max_consecutive_losses", 0),
        ("max_trips_per_24h", 0),
        ("sharpe_min_trades", 1),
        ("sharpe_min_trades", 21),
        ("timezone", "Nowhere/Special"),
    ],
)
def test_config_refuses_thresholds_that_disable_a_rule(field: str, value: object) -> None:
    """Out-of-range or NaN thresholds are a decode error naming the field."""
    raw = msgspec.to_builtins(CONFIG)
    raw[field] = value
    with pytest.raises(msgspec.ValidationError, match=field):
        msgspec.convert(raw, BreakerConfig)


# --- properties ------------------------------------------------------------------------------


@settings(max_examples=300)
@given(
    equities=st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=50),
    limit=st.integers(min_value=1, max_value=99),
)
def test_drawdown_fires_exactly_when_equity_is_limit_below_the_running_peak(
    equities: list[int], limit: int
) -> None:
    """Against an independent exact computation, the drawdown rule fires iff (peak - e) / peak >=
    limit %, with the peak the running maximum of all marks (so never the start)."""
    # Marks 1000 s apart with a 1 s pause: every firing is a fresh trip, never masked by a pause.
    config = msgspec.structs.replace(
        QUIET, max_drawdown_pct=float(limit), reset_window_s=1.0, max_trips_per_24h=1_000
    )
    state, answers = marks([float(e) for e in equities], config, step=1_000.0)
    peak = 0
    for equity, actions in zip(equities, answers, strict=True):
        peak = max(peak, equity)
        expected = Fraction(peak - equity, peak) >= Fraction(limit, 100)
        fired = [a.rule for a in trips(actions)] == [TripRule.DRAWDOWN]
        assert fired == expected
    assert state.peak_equity == max(equities)


action_events = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2_000),  # seconds since the previous event
        st.sampled_from(["equity", "trade", "clock"]),
        st.integers(min_value=-300, max_value=300),  # equity move or trade pnl
    ),
    max_size=60,
)


@settings(max_examples=300)
@given(events=action_events, trips_to_halt=st.integers(min_value=1, max_value=4))
def test_a_trip_always_pauses_and_a_halt_silences(
    events: list[tuple[int, str, int]], trips_to_halt: int
) -> None:
    """Every Trip pauses for reset_window_s from now; no Trip or Halt arrives while paused or
    halted; after a Halt nothing at all is emitted; a Resume only ends a pause."""
    config = msgspec.structs.replace(
        CONFIG, max_drawdown_pct=5.0, daily_loss_limit=400.0, max_trips_per_24h=trips_to_halt
    )
    state = BreakerState()
    now = T0
    equity = 10_000.0
    for gap, kind, amount in events:
        now += gap
        prior = state
        before, _ = on_clock(state, at(now), config)
        if kind == "equity":
            equity += amount
            state, actions = on_equity(state, equity, at(now), config)
        elif kind == "trade":
            state, actions = on_trade_closed(state, float(amount), at(now), config)
        else:
            state, actions = on_clock(state, at(now), config)
        if before.halted:
            assert actions == []
        for action in actions:
            if isinstance(action, Trip):
                assert before.paused_until is None
                assert action.pause_until == now + config.reset_window_s
                assert state.paused_until == action.pause_until
            elif isinstance(action, Halt):
                assert before.paused_until is None
                assert state.halted
                assert state.paused_until is None
            else:
                assert not prior.halted
                assert prior.paused_until is not None
                assert now >= prior.paused_until


@settings(max_examples=300)
@given(
    gaps=st.lists(st.integers(min_value=0, max_value=40_000), min_size=1, max_size=40),
    limit=st.integers(min_value=1, max_value=5),
    reset=st.integers(min_value=1, max_value=5_000),
)
def test_nth_trip_within_24h_halts_and_older_trips_do_not_count(
    gaps: list[int], limit: int, reset: int
) -> None:
    """Against an independent model of pauses and a 24 h window, each losing trade trips, is
    ignored (paused/halted), or halts exactly when it is the limit-th trip in (now - 24 h, now]."""
    config = msgspec.structs.replace(
        QUIET, max_consecutive_losses=1, max_trips_per_24h=limit, reset_window_s=float(reset)
    )
    state = BreakerState()
    counted: list[float] = []
    paused_until: float | None = None
    halted = False
    now = T0
    for gap in gaps:
        now += gap
        state, actions = on_trade_closed(state, -1.0, at(now), config)
        got = trips(actions)
        if paused_until is not None and now >= paused_until:
            paused_until = None
        if halted or paused_until is not None:
            assert got == []
            continue
        window = [t for t in counted if t > now - 86_400] + [now]
        counted = window
        [action] = got
        if len(window) >= limit:
            assert isinstance(action, Halt)
            assert action.trips_in_24h == len(window)
            halted = True
        else:
            assert isinstance(action, Trip)
            paused_until = now + reset


@given(
    pnls=st.lists(
        st.floats(min_value=-1e6, max_value=1e6, allow_subnormal=False), min_size=1, max_size=30
    ),
    min_trades=st.integers(min_value=2, max_value=10),
)
def test_sharpe_rule_is_inactive_below_min_trades(pnls: list[float], min_trades: int) -> None:
    """With a floor no real window can meet, the Sharpe rule fires only once the window holds
    sharpe_min_trades trades, and then does fire unless the window has infinite Sharpe."""
    config = msgspec.structs.replace(
        QUIET, sharpe_floor=1e300, sharpe_min_trades=min_trades, sharpe_window=10
    )
    state = BreakerState()
    for n, pnl in enumerate(pnls):
        state, actions = on_trade_closed(state, pnl, at(T0 + n * 1_000.0), config)
        window = pnls[max(0, n + 1 - 10) : n + 1]
        fired = [a.rule for a in trips(actions)] == [TripRule.SHARPE_FLOOR]
        # Trades 1000 s apart outlast every 600 s pause, so no firing is masked by one. An
        # all-equal positive window has Sharpe +inf, the only value not below the floor.
        expected = len(window) >= min_trades and rolling_sharpe(tuple(window)) < 1e300
        assert fired == expected


@given(
    trip_at=st.floats(min_value=1e9, max_value=2e9),
    reset=st.floats(min_value=1e-3, max_value=1e5),
    offsets=st.lists(st.floats(min_value=-2e5, max_value=2e5), max_size=10),
)
def test_resume_happens_exactly_when_the_window_has_passed(
    trip_at: float, reset: float, offsets: list[float]
) -> None:
    """on_clock resumes iff now >= trip time + reset_window_s, down to the last float: one
    instant before is still paused, the instant itself resumes, and it resumes only once."""
    config = msgspec.structs.replace(QUIET, max_consecutive_losses=1, reset_window_s=reset)
    paused, actions = on_trade_closed(BreakerState(), -1.0, at(trip_at), config)
    [trip] = actions
    assert isinstance(trip, Trip)
    until = trip.pause_until
    probes = [math.nextafter(until, -math.inf), until, *(until + o for o in offsets)]
    for probe in probes:
        if probe < trip_at:
            continue  # the clock does not go backwards past the trip
        state, actions = on_clock(paused, at(probe), config)
        resumed = bool(actions)
        assert resumed == (probe >= until)
        assert all(isinstance(a, Resume) for a in actions)
        assert len(actions) <= 1
        assert (state.paused_until is None) == (probe >= until)
        if resumed:
            _, again = on_clock(state, at(probe), config)
            assert again == []
