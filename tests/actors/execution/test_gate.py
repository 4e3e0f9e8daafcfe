"""Pre-trade gate: each rule, their order, the signal boundary, and generated-input properties."""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors._runtime.clock import Instant
from actors._runtime.trading import TradingState
from actors.execution.gate import (
    RULES,
    Accept,
    Decision,
    GateState,
    InvalidKind,
    Reject,
    RejectCode,
    check,
    reduces_exposure,
    roll_session,
    validate_order,
    validate_signal,
)
from actors.execution.gate_config import GateConfig, fit_to_venue, session_id
from actors.execution.messages import Side, SubmitOrder

NY = zoneinfo.ZoneInfo("America/New_York")
# 2023-11-14 17:13:20 in New York (EST): just after the 17:00 session boundary.
NOW = 1_700_000_000.0
BOOT = "boot-1"


def at(t: float) -> Instant:
    """A reading at wall time ``t`` with the elapsed clock in step with the wall (no step)."""
    return Instant(wall=t, elapsed=t, boot=BOOT)

CONFIG = GateConfig(
    max_position=100.0,
    max_gross_position=30_000.0,
    max_order_notional=5_000.0,
    max_order_quantity=40.0,
    price_collar_pct=5.0,
    max_orders_per_window=3,
    rate_window_s=1.0,
    daily_loss_limit=1_000.0,
    session_reset="17:00",
    timezone="America/New_York",
    duplicate_window_s=3_600.0,
)

# Limits no generated order reaches, so a property test sees only the rule it is about.
LOOSE = GateConfig(
    max_position=1e12,
    max_gross_position=1e18,
    max_order_notional=1e18,
    max_order_quantity=1e12,
    price_collar_pct=1e6,
    max_orders_per_window=1_000_000,
    rate_window_s=1.0,
    daily_loss_limit=1e18,
)


def order(**fields: Any) -> SubmitOrder:
    """Build a plain, acceptable order, with some fields replaced."""
    values: dict[str, Any] = {
        "intent_id": "i-1",
        "instrument": "ABC",
        "side": Side.BUY,
        "quantity": 10.0,
        "reference_price": 100.0,
    }
    values.update(fields)
    return SubmitOrder(**values)


def run(
    submitted: SubmitOrder,
    *,
    state: GateState | None = None,
    trading: TradingState = TradingState.ACTIVE,
    positions: Mapping[str, float] | None = None,
    last_prices: Mapping[str, float] | None = None,
    equity: float = 10_000.0,
    config: GateConfig = CONFIG,
    now: float | Instant = NOW,
) -> Decision:
    """Call the gate with defaults under which ``order()`` is accepted (a float ``now`` is a
    reading with both clocks at it)."""
    return check(
        submitted,
        state=GateState() if state is None else state,
        trading=trading,
        positions={} if positions is None else positions,
        last_prices={"ABC": 100.0} if last_prices is None else last_prices,
        equity=equity,
        config=config,
        now=at(now) if isinstance(now, float) else now,
    )


def ny(year: int, month: int, day: int, hour: int, minute: int = 0) -> float:
    """Epoch seconds of a New York wall-clock time."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=NY).timestamp()


# --- one example per reject code -------------------------------------------------------------

_SEEN = GateState(recent_intents=(("i-1", NOW - 10.0),), order_times=(), boot=BOOT)
_BUSY = GateState(order_times=(NOW - 0.9, NOW - 0.5, NOW - 0.1), boot=BOOT)
_LOSING = GateState(session_id="2023-11-14", session_start_equity=11_000.0)

CASES: dict[RejectCode, tuple[SubmitOrder, dict[str, Any], tuple[str, ...]]] = {
    RejectCode.INVALID_ORDER: (order(quantity=math.nan), {}, ("quantity", "nan")),
    RejectCode.INVALID_ACCOUNT: (order(), {"positions": {"XYZ": math.inf}}, ("XYZ", "inf")),
    RejectCode.TRADING_STATE: (order(), {"trading": TradingState.PAUSED}, ("PAUSED",)),
    RejectCode.REDUCE_ONLY: (
        order(reduce_only=True),
        {"positions": {"ABC": 5.0}},
        ("reduce_only", "5.0", "15.0"),
    ),
    RejectCode.DUPLICATE_INTENT: (order(), {"state": _SEEN}, ("'i-1'", "3600.0")),
    RejectCode.THROTTLED: (order(), {"state": _BUSY}, ("3 orders", "max_orders_per_window 3")),
    RejectCode.MAX_QUANTITY: (order(quantity=41.0), {}, ("41.0", "max_order_quantity 40.0")),
    RejectCode.MAX_NOTIONAL: (
        order(quantity=30.0, limit_price=200.0, reference_price=200.0),
        {"last_prices": {"ABC": 200.0}},
        ("6000.0", "max_order_notional 5000.0"),
    ),
    RejectCode.NO_MARKET_PRICE: (order(), {"last_prices": {}}, ("ABC", "price collar")),
    RejectCode.PRICE_COLLAR: (
        order(limit_price=106.0),
        {},
        ("limit_price 106.0", "6% from last price 100.0", "price_collar_pct 5.0"),
    ),
    RejectCode.MAX_POSITION: (
        order(quantity=20.0),
        {"positions": {"ABC": 90.0}},
        ("110.0", "max_position 100.0"),
    ),
    RejectCode.MAX_GROSS: (
        order(quantity=21.0),
        {"positions": {"ABC": 50.0, "XYZ": 100.0}, "last_prices": {"ABC": 100.0, "XYZ": 230.0}},
        ("30100.0", "max_gross_position 30000.0"),
    ),
    RejectCode.DAILY_LOSS: (
        order(),
        {"state": _LOSING},
        ("loss 1000.0", "daily_loss_limit 1000.0"),
    ),
}


@pytest.mark.parametrize("code", list(CASES), ids=lambda code: code.value)
def test_each_code_has_a_reason_naming_value_and_limit(code: RejectCode) -> None:
    """Every reject code is reachable, and its reason names the offending value and the limit."""
    submitted, kwargs, fragments = CASES[code]
    decision = run(submitted, **kwargs)
    assert isinstance(decision, Reject)
    assert decision.code is code
    for fragment in fragments:
        assert fragment in decision.reason


def test_every_reject_code_has_an_example() -> None:
    """The example table above covers every code the gate can emit (a new code needs a case)."""
    assert set(CASES) == set(RejectCode)


def test_gross_limit_is_notional_not_units() -> None:
    """Gross is sum of abs(position) x price: 70 x 100 + 100 x 230 = 30000 passes, 30100 not."""
    prices = {"ABC": 100.0, "XYZ": 230.0}
    held = {"ABC": 50.0, "XYZ": 100.0}
    fits = run(order(quantity=20.0), positions=held, last_prices=prices)
    assert isinstance(fits, Accept)
    over = run(order(quantity=21.0), positions=held, last_prices=prices)
    assert isinstance(over, Reject)
    assert over.code is RejectCode.MAX_GROSS
    assert "30100.0" in over.reason


def test_gross_needs_a_price_for_every_held_instrument() -> None:
    """A held instrument without a last price makes gross unknowable: refuse (fail closed)."""
    decision = run(order(), positions={"XYZ": 3.0})
    assert isinstance(decision, Reject)
    assert decision.code is RejectCode.NO_MARKET_PRICE
    assert "XYZ" in decision.reason


def test_collar_checks_the_reference_price_of_a_market_order() -> None:
    """A market order whose reference price is far from the market is refused by the collar."""
    decision = run(order(reference_price=94.0))
    assert isinstance(decision, Reject)
    assert decision.code is RejectCode.PRICE_COLLAR
    assert "reference_price 94.0" in decision.reason


def test_limits_are_inclusive() -> None:
    """A value equal to its limit passes: quantity 40, notional 5000, position 100, collar 5%."""
    config = msgspec.structs.replace(CONFIG, max_gross_position=1e9)
    at_limits = order(quantity=40.0, limit_price=105.0, reference_price=100.0)
    notional_at_limit = msgspec.structs.replace(
        CONFIG, max_order_notional=40.0 * 105.0, max_gross_position=1e9
    )
    assert isinstance(run(at_limits, config=notional_at_limit), Accept)
    assert isinstance(run(order(quantity=40.0), positions={"ABC": 60.0}, config=config), Accept)


# --- rule order ------------------------------------------------------------------------------


def test_invalid_numbers_win_over_the_trading_state() -> None:
    """A NaN order in a halted tree is reported as invalid: rule 1 runs first."""
    decision = run(order(quantity=math.nan), trading=TradingState.HALTED)
    assert isinstance(decision, Reject)
    assert decision.code is RejectCode.INVALID_ORDER


def test_trading_state_wins_over_duplicates_and_limits() -> None:
    """A duplicate, oversized order while paused is refused for the trading state."""
    decision = run(order(quantity=1e6), state=_SEEN, trading=TradingState.PAUSED)
    assert isinstance(decision, Reject)
    assert decision.code is RejectCode.TRADING_STATE


def test_rule_table_is_in_the_documented_order() -> None:
    """The rule tuple lists the rules in the order the module docstring promises."""
    names = [rule.__name__ for rule in RULES]
    assert names == [
        "_valid_numbers",
        "_trading_state",
        "_duplicate",
        "_throttle",
        "_max_quantity",
        "_max_notional",
        "_price_collar",
        "_max_position",
        "_max_gross",
        "_daily_loss",
    ]


# --- state bookkeeping -----------------------------------------------------------------------


def test_accept_counts_the_order_and_reject_does_not() -> None:
    """An accepted order adds its time and intent; a rejected one leaves both untouched."""
    accepted = run(order())
    assert isinstance(accepted, Accept)
    assert accepted.state.order_times == (NOW,)
    assert accepted.state.recent_intents == (("i-1", NOW),)
    rejected = run(order(intent_id="i-2", quantity=1e6), state=accepted.state, now=NOW + 0.1)
    assert isinstance(rejected, Reject)
    assert rejected.state.order_times == (NOW,)
    assert [i for i, _ in rejected.state.recent_intents] == ["i-1"]


def test_rejected_orders_do_not_consume_throttle_budget() -> None:
    """Many refused orders in a window leave the full budget for valid ones."""
    state = GateState()
    for n in range(10):
        decision = run(order(intent_id=f"bad-{n}", quantity=-1.0), state=state, now=NOW + n * 0.01)
        state = decision.state
    for n in range(3):
        decision = run(order(intent_id=f"ok-{n}"), state=state, now=NOW + 0.2 + n * 0.01)
        assert isinstance(decision, Accept)
        state = decision.state
    fourth = run(order(intent_id="ok-3"), state=state, now=NOW + 0.3)
    assert isinstance(fourth, Reject)
    assert fourth.code is RejectCode.THROTTLED


def test_duplicate_window_expires() -> None:
    """An intent id is refused within duplicate_window_s and accepted again once it has passed."""
    first = run(order())
    assert isinstance(first, Accept)
    again = run(order(), state=first.state, now=NOW + 3_599.0)
    assert isinstance(again, Reject)
    assert again.code is RejectCode.DUPLICATE_INTENT
    later = run(order(), state=first.state, now=NOW + 3_600.0)
    assert isinstance(later, Accept)


def test_a_clock_stepping_back_keeps_the_windows_in_order_and_strict() -> None:
    """Wall time stepped back 5 s: the next order is stamped no earlier than the last one, so
    the windows stay sorted (expiry cuts a prefix) and nothing leaves them early."""
    first = run(order(intent_id="a"), now=NOW + 5.0)
    assert isinstance(first, Accept)
    second = run(order(intent_id="b"), state=first.state, now=NOW)
    assert isinstance(second, Accept)
    assert second.state.order_times == (NOW + 5.0, NOW + 5.0)
    assert second.state.recent_intents == (("a", NOW + 5.0), ("b", NOW + 5.0))
    again = run(order(intent_id="a"), state=second.state, now=NOW + 1.0)
    assert isinstance(again, Reject)
    assert again.code is RejectCode.DUPLICATE_INTENT


def test_reducing_orders_pass_position_gross_and_daily_loss_limits() -> None:
    """Over every exposure limit and the daily loss, a sell that shrinks a long still passes."""
    positions = {"ABC": 500.0, "XYZ": 1_000.0}
    prices = {"ABC": 100.0, "XYZ": 100.0}
    sell = order(side=Side.SELL, quantity=10.0)
    decision = run(sell, state=_LOSING, positions=positions, last_prices=prices)
    assert isinstance(decision, Accept)
    buy = run(order(), state=_LOSING, positions=positions, last_prices=prices)
    assert isinstance(buy, Reject)
    assert buy.code is RejectCode.MAX_POSITION


# --- sessions and daily loss -----------------------------------------------------------------


def test_session_id_follows_the_local_reset_time() -> None:
    """Before 17:00 New York time the session is the previous day's; from 17:00 it is today's."""
    assert session_id(ny(2024, 3, 8, 16, 59), "17:00", "America/New_York") == "2024-03-07"
    assert session_id(ny(2024, 3, 8, 17, 0), "17:00", "America/New_York") == "2024-03-08"


def test_session_boundary_holds_across_daylight_saving() -> None:
    """Across the March DST change, the boundary stays at 17:00 local (21:00 then 22:00 UTC)."""
    before_dst = dt.datetime(2024, 3, 8, 22, 0, tzinfo=dt.UTC).timestamp()  # 17:00 EST
    after_dst = dt.datetime(2024, 3, 11, 21, 0, tzinfo=dt.UTC).timestamp()  # 17:00 EDT
    assert session_id(before_dst - 1, "17:00", "America/New_York") == "2024-03-07"
    assert session_id(before_dst, "17:00", "America/New_York") == "2024-03-08"
    assert session_id(after_dst - 1, "17:00", "America/New_York") == "2024-03-10"
    assert session_id(after_dst, "17:00", "America/New_York") == "2024-03-11"


def _session_uncached(now: float, reset: str, timezone: str) -> str:
    local = dt.datetime.fromtimestamp(now, zoneinfo.ZoneInfo(timezone))
    hour, minute = (int(x) for x in reset.split(":"))
    start = local.date()
    if local.time() < dt.time(hour, minute):
        start -= dt.timedelta(days=1)
    return start.isoformat()


@settings(max_examples=300)
@given(
    now=st.floats(min_value=1.6e9, max_value=2.0e9),
    reset=st.sampled_from(["00:00", "17:00", "23:59", "02:30"]),
    timezone=st.sampled_from(["America/New_York", "Europe/London", "Asia/Kolkata", "UTC"]),
)
def test_session_id_is_computed_per_second_exactly(now: float, reset: str, timezone: str) -> None:
    """Cached per whole second, the answer is that of the exact instant, on both sides of a
    boundary (the instant just before it, at it, and just after it)."""
    for t in (now, math.floor(now) + 0.999999, float(math.floor(now))):
        assert session_id(t, reset, timezone) == _session_uncached(t, reset, timezone)
    boundary = dt.datetime.combine(
        dt.datetime.fromtimestamp(now, zoneinfo.ZoneInfo(timezone)).date(),
        dt.time(*(int(x) for x in reset.split(":"))), zoneinfo.ZoneInfo(timezone),
    ).timestamp()
    for t in (boundary - 1e-6, boundary, boundary + 1e-6):
        assert session_id(t, reset, timezone) == _session_uncached(t, reset, timezone)


def test_new_session_resets_the_loss_baseline() -> None:
    """A loss that blocks trading at 16:59 is forgotten at 17:00: the new session starts afresh."""
    state = roll_session(GateState(), 11_000.0, at(ny(2024, 3, 7, 18)), CONFIG)
    blocked = run(order(), state=state, equity=9_900.0, now=ny(2024, 3, 8, 16, 59))
    assert isinstance(blocked, Reject)
    assert blocked.code is RejectCode.DAILY_LOSS
    fresh = run(order(), state=blocked.state, equity=9_900.0, now=ny(2024, 3, 8, 17, 0))
    assert isinstance(fresh, Accept)
    assert fresh.state.session_start_equity == 9_900.0
    assert fresh.state.session_id == "2024-03-08"


def test_non_finite_equity_never_becomes_the_baseline() -> None:
    """A NaN mark at the session start is skipped; the next finite mark is the baseline."""
    state = roll_session(GateState(), math.nan, at(NOW), CONFIG)
    assert state.session_start_equity is None
    state = roll_session(state, 5_000.0, at(NOW + 1), CONFIG)
    assert state.session_start_equity == 5_000.0


# --- config ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_position", math.nan),
        ("daily_loss_limit", 0.0),
        ("price_collar_pct", -1.0),
        ("max_orders_per_window", 0),
        ("session_reset", "24:00"),
        ("session_reset", "5pm"),
        ("timezone", "Mars/Olympus"),
    ],
)
def test_config_refuses_meaningless_limits(field: str, value: object) -> None:
    """A limit that would disable its rule, or an unreadable session, is a decode error."""
    raw = msgspec.to_builtins(CONFIG)
    raw[field] = value
    with pytest.raises(msgspec.ValidationError, match=field):
        msgspec.convert(raw, GateConfig)


def test_config_refuses_unknown_fields() -> None:
    """A misspelt key in the config is an error, not a silently ignored limit."""
    raw = msgspec.to_builtins(CONFIG)
    raw["max_postion"] = 5
    with pytest.raises(msgspec.ValidationError, match="max_postion"):
        msgspec.convert(raw, GateConfig)


# --- signal boundary -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field", "kind"),
    [
        ({"quantity": math.inf}, "quantity", InvalidKind.NOT_FINITE),
        ({"quantity": 0.0}, "quantity", InvalidKind.NOT_POSITIVE),
        ({"reference_price": -1.0}, "reference_price", InvalidKind.NOT_POSITIVE),
        ({"limit_price": math.nan}, "limit_price", InvalidKind.NOT_FINITE),
        ({"quantity": True}, "quantity", InvalidKind.NOT_A_NUMBER),
        ({"instrument": ""}, "instrument", InvalidKind.EMPTY),
    ],
)
def test_validate_signal_names_field_and_kind(
    kwargs: dict[str, Any], field: str, kind: InvalidKind
) -> None:
    """Each bad value is reported with its field and a typed kind."""
    values: dict[str, Any] = {"instrument": "ABC", "quantity": 1.0, "reference_price": 1.0}
    values.update(kwargs)
    problem = validate_signal(**values)
    assert problem is not None
    assert (problem.field, problem.kind) == (field, kind)
    assert field in problem.reason


def test_validate_order_refuses_an_empty_intent_id() -> None:
    """An order without an intent id could never be deduplicated, so it is invalid."""
    problem = validate_order(order(intent_id=""))
    assert problem is not None
    assert problem.kind is InvalidKind.EMPTY


# --- properties ------------------------------------------------------------------------------

any_float = st.floats(allow_nan=True, allow_infinity=True)
prices = st.floats(min_value=0.01, max_value=1e6)
quantities = st.floats(min_value=1e-6, max_value=1e6)
positions_st = st.floats(min_value=-1e6, max_value=1e6)
sides = st.sampled_from(Side)


@given(
    quantity=any_float,
    reference_price=any_float,
    limit_price=st.none() | any_float,
    position=any_float,
    other_position=any_float,
    last_price=any_float,
    equity=any_float,
    side=sides,
)
def test_no_nan_or_inf_ever_passes(
    quantity: float,
    reference_price: float,
    limit_price: float | None,
    position: float,
    other_position: float,
    last_price: float,
    equity: float,
    side: Side,
) -> None:
    """Whatever the numbers, an accepted order had finite values and positive quantity, prices."""
    submitted = order(
        side=side, quantity=quantity, reference_price=reference_price, limit_price=limit_price
    )
    decision = run(
        submitted,
        positions={"ABC": position, "XYZ": other_position},
        last_prices={"ABC": last_price, "XYZ": 1.0},
        equity=equity,
        config=LOOSE,
    )
    if isinstance(decision, Accept):
        numbers = [quantity, reference_price, position, other_position, last_price, equity]
        if limit_price is not None:
            numbers.append(limit_price)
        assert all(math.isfinite(n) for n in numbers)
        assert quantity > 0
        assert reference_price > 0
        assert limit_price is None or limit_price > 0
        assert last_price > 0


NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])


@pytest.mark.parametrize(
    "poisoned",
    [
        "quantity",
        "reference_price",
        "limit_price",
        "position",
        "other_position",
        "last_price",
        "equity",
    ],
)
@given(
    bad=NON_FINITE,
    side=sides,
    quantity=quantities,
    position=positions_st,
    other_position=positions_st,
    reduce_only=st.booleans(),
    trading=st.sampled_from([TradingState.ACTIVE, TradingState.REDUCING]),
)
def test_one_non_finite_field_is_always_refused(
    poisoned: str,
    bad: float,
    side: Side,
    quantity: float,
    position: float,
    other_position: float,
    reduce_only: bool,
    trading: TradingState,
) -> None:
    """With every other value sound (so no other rule is the reason), a single NaN/Inf in any
    number the gate reads - order, positions, market price or equity - gets the order refused."""
    values: dict[str, float] = {
        "quantity": quantity,
        "reference_price": 100.0,
        "limit_price": 100.0,
        "position": position,
        "other_position": other_position,
        "last_price": 100.0,
        "equity": 10_000.0,
    }
    values[poisoned] = bad
    submitted = order(
        side=side,
        quantity=values["quantity"],
        reference_price=values["reference_price"],
        limit_price=values["limit_price"],
        reduce_only=reduce_only,
    )
    decision = run(
        submitted,
        trading=trading,
        positions={"ABC": values["position"], "XYZ": values["other_position"]},
        last_prices={"ABC": values["last_price"], "XYZ": 100.0},
        equity=values["equity"],
        config=LOOSE,
    )
    assert isinstance(decision, Reject)


@given(quantity=st.floats(max_value=0.0) | st.just(-0.0), side=sides, position=positions_st)
def test_zero_or_negative_quantity_never_passes(
    quantity: float, side: Side, position: float
) -> None:
    """A quantity <= 0 is refused as an invalid order, whatever the side and position."""
    decision = run(order(quantity=quantity, side=side), positions={"ABC": position}, config=LOOSE)
    assert isinstance(decision, Reject)
    assert decision.code is RejectCode.INVALID_ORDER


@given(
    trading=st.sampled_from([TradingState.PAUSED, TradingState.HALTED]),
    side=sides,
    quantity=quantities,
    position=positions_st,
    reduce_only=st.booleans(),
)
def test_paused_and_halted_refuse_everything(
    trading: TradingState, side: Side, quantity: float, position: float, reduce_only: bool
) -> None:
    """PAUSED and HALTED refuse every valid order, reducing or not."""
    submitted = order(side=side, quantity=quantity, reduce_only=reduce_only)
    decision = run(submitted, trading=trading, positions={"ABC": position}, config=LOOSE)
    assert isinstance(decision, Reject)
    assert decision.code is RejectCode.TRADING_STATE


@given(side=sides, quantity=quantities, position=positions_st)
def test_reducing_accepts_exactly_the_exposure_reducing_orders(
    side: Side, quantity: float, position: float
) -> None:
    """In REDUCING an order passes iff it moves the position toward zero without crossing it."""
    decision = run(
        order(side=side, quantity=quantity),
        trading=TradingState.REDUCING,
        positions={"ABC": position},
        config=LOOSE,
    )
    # Independent of the gate's formula: exact rationals, position after vs before.
    before = Fraction(position)
    after = before + (Fraction(quantity) if side is Side.BUY else -Fraction(quantity))
    reduces = before != 0 and abs(after) < abs(before) and after * before >= 0
    assert isinstance(decision, Accept) == reduces
    if isinstance(decision, Reject):
        assert decision.code is RejectCode.TRADING_STATE


@given(position=positions_st, delta=positions_st)
def test_reduces_exposure_never_crosses_zero(position: float, delta: float) -> None:
    """A reducing change never flips the sign of the position nor grows its size."""
    if reduces_exposure(position, delta):
        before = Fraction(position)
        after = before + Fraction(delta)
        assert after * before >= 0
        assert abs(after) < abs(before)


@settings(max_examples=200)
@given(
    steps=st.lists(
        st.tuples(st.integers(min_value=0, max_value=6), st.booleans()), min_size=1, max_size=60
    ),
    limit=st.integers(min_value=1, max_value=5),
)
def test_throttle_never_exceeds_the_rate_in_any_window(
    steps: list[tuple[int, bool]], limit: int
) -> None:
    """No half-open window of rate_window_s holds more than max_orders_per_window accepted orders.

    Invalid orders are mixed in; a throttle refusal happens only when the window is really full.
    """
    config = msgspec.structs.replace(LOOSE, max_orders_per_window=limit, rate_window_s=1.0)
    state = GateState()
    now = NOW
    accepted: list[float] = []
    for n, (gap, valid) in enumerate(steps):
        now += gap * 0.25  # quarter seconds are exact in binary, so window edges are exact
        submitted = order(intent_id=f"i-{n}", quantity=1.0 if valid else -1.0)
        decision = run(submitted, state=state, config=config, now=now)
        state = decision.state
        if isinstance(decision, Accept):
            accepted.append(now)
        elif decision.code is RejectCode.THROTTLED:
            assert sum(1 for t in accepted if now - 1.0 < t <= now) == limit
        else:
            assert not valid
    for start in accepted:
        assert sum(1 for t in accepted if start <= t < start + 1.0) <= limit


# --- the throttle kept below the venue's published order limits ---------------------------

GATE_500 = msgspec.structs.replace(CONFIG, max_orders_per_window=500, rate_window_s=1.0)
"""The default throttle: 500 orders a second."""


def test_a_throttle_above_the_venues_order_limit_becomes_nine_tenths_of_it() -> None:
    """Binance's 50 orders per 10 s against a configured 500 per second: 45 per 10 s."""
    fitted = fit_to_venue(GATE_500, [(50, 10.0), (160_000, 86_400.0)])
    assert (fitted.max_orders_per_window, fitted.rate_window_s) == (45, 10.0)


def test_a_throttle_already_below_the_venues_limit_is_kept() -> None:
    """2 per second is at most 20 in any 10 s: within 90 % of 50 per 10 s, left alone."""
    cfg = msgspec.structs.replace(GATE_500, max_orders_per_window=2, rate_window_s=1.0)
    assert fit_to_venue(cfg, [(50, 10.0)]) is cfg
    assert fit_to_venue(cfg, []) is cfg


def test_a_short_window_that_bursts_past_a_longer_limit_is_fitted() -> None:
    """5 per second allows 50 in 10 s: past 45, so fitted, although 5/s is the same rate."""
    cfg = msgspec.structs.replace(GATE_500, max_orders_per_window=5, rate_window_s=1.0)
    fitted = fit_to_venue(cfg, [(50, 10.0)])
    assert (fitted.max_orders_per_window, fitted.rate_window_s) == (45, 10.0)


def test_the_tightest_of_several_limits_wins_and_day_windows_are_left_to_the_venue() -> None:
    """10 per second and 100 per 10 s (the same rate): the throttle holds both; a daily limit
    (one timestamp per order for a day) is not taken."""
    fitted = fit_to_venue(GATE_500, [(10, 1.0), (100, 10.0), (5, 86_400.0)])
    assert fitted.max_orders_per_window / fitted.rate_window_s <= 9.0
    assert fitted.rate_window_s <= 10.0
