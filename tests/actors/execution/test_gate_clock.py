"""The pre-trade gate under a wall clock stepped ±1 h: throttle, duplicates, the session.

Each test drives the pure gate with a :class:`SteppedClock` whose wall reading is stepped apart
from its elapsed reading, as an NTP step or a VM resume does (docs/adr/0010).
"""

from __future__ import annotations

import msgspec
import pytest

from actors._runtime.trading import TradingState
from actors.execution.gate import Accept, GateState, Reject, RejectCode, check, roll_session
from actors.execution.gate_config import GateConfig
from actors.execution.messages import Side, SubmitOrder
from tests.support.clock import SteppedClock

HOUR = 3_600.0
T0 = 1_800_000_000.0
CONFIG = GateConfig(
    max_position=1e12, max_gross_position=1e18, max_order_notional=1e18,
    max_order_quantity=1e12, price_collar_pct=1e6, max_orders_per_window=3, rate_window_s=1.0,
    daily_loss_limit=1e18, duplicate_window_s=60.0,
)
# Written by the gate before its times were elapsed readings: two orders at T0 and T0 + 0.5
# (wall), intents i-1 and i-2. Bytes as that code encoded them.
_OLD_GATE = bytes.fromhex(
    "84ab6f726465725f74696d657392cb41dad27480000000cb41dad27480200000ae726563656e745f696e74656e"
    "74739292a3692d31cb41dad2748000000092a3692d32cb41dad27480200000aa73657373696f6e5f6964aa3230"
    "32372d30312d3135b473657373696f6e5f73746172745f657175697479cb408f400000000000"
)


def _submit(state: GateState, intent: str, clock: SteppedClock) -> Accept | Reject:
    order = SubmitOrder(intent_id=intent, instrument="X", side=Side.BUY, quantity=1.0,
                        reference_price=100.0)
    return check(order, state=state, trading=TradingState.ACTIVE, positions={},
                 last_prices={"X": 100.0}, equity=10_000.0, config=CONFIG, now=clock())


def _full(clock: SteppedClock) -> GateState:
    state = GateState()
    for n in range(3):
        decision = _submit(state, f"i-{n}", clock)
        assert isinstance(decision, Accept)
        state = decision.state
    return state


@pytest.mark.parametrize("step", [HOUR, -HOUR])
def test_the_throttle_window_runs_on_elapsed_time(step: float) -> None:
    """A full throttle stays full within rate_window_s although the wall, stepped +1 h, says
    the window passed; and frees after rate_window_s although the wall, stepped -1 h, says an
    hour is left (the old gate refused every order for that hour)."""
    clock = SteppedClock(T0)
    state = _full(clock)
    clock.step_wall(step)
    clock.advance(0.5)
    refused = _submit(state, "late", clock)
    assert isinstance(refused, Reject)
    assert refused.code is RejectCode.THROTTLED
    clock.advance(0.5)
    assert isinstance(_submit(state, "late", clock), Accept)


def test_a_duplicate_is_refused_after_a_wall_step_forward() -> None:
    """An intent repeated 10 s (elapsed) after it was accepted is refused, although the wall,
    stepped +1 h, puts it beyond duplicate_window_s."""
    clock = SteppedClock(T0)
    state = _full(clock)
    clock.step_wall(HOUR)
    clock.advance(10.0)
    again = _submit(state, "i-0", clock)
    assert isinstance(again, Reject)
    assert again.code is RejectCode.DUPLICATE_INTENT


def test_the_session_follows_the_wall_forward_only() -> None:
    """Stepped +1 h across 00:00 UTC the session starts once; stepped back -1 h it is neither
    re-opened nor, when the wall reaches 00:00 again, started a second time."""
    midnight = 1_800_057_600.0  # 2027-01-16 00:00 UTC
    clock = SteppedClock(midnight - HOUR / 2)
    state = roll_session(GateState(), 10_000.0, clock(), CONFIG)
    clock.step_wall(HOUR)
    state = roll_session(state, 9_600.0, clock(), CONFIG)
    assert (state.session_id, state.session_start_equity) == ("2027-01-16", 9_600.0)
    clock.step_wall(-HOUR)
    state = roll_session(state, 9_400.0, clock(), CONFIG)
    clock.advance(HOUR / 2)
    state = roll_session(state, 9_300.0, clock(), CONFIG)
    assert (state.session_id, state.session_start_equity) == ("2027-01-16", 9_600.0)


def test_a_gate_state_written_before_elapsed_readings_still_loads() -> None:
    """The previous gate's bytes decode; their entries, which the wall (an hour on) says
    expired, count as accepted now: i-1 is still a duplicate and the two orders still count
    toward the throttle for one window."""
    state = msgspec.msgpack.decode(_OLD_GATE, type=GateState)
    assert (state.session_id, state.session_start_equity) == ("2027-01-15", 1_000.0)
    clock = SteppedClock(T0 + HOUR)
    again = _submit(state, "i-1", clock)
    assert isinstance(again, Reject)
    assert again.code is RejectCode.DUPLICATE_INTENT
    third = _submit(state, "i-3", clock)
    assert isinstance(third, Accept)
    fourth = _submit(third.state, "i-4", clock)
    assert isinstance(fourth, Reject)
    assert fourth.code is RejectCode.THROTTLED
