"""Pre-trade gate: decide whether one order may reach a broker, from values and a clock passed in.

The gate is pure. Execution hands it the order, the gate's own remembered state, the trading
state, positions, last prices, account equity and ``now``; it answers ``Accept(state)`` or
``Reject(code, reason, state)`` and the caller persists the returned state.

Rules run in this order and the first failure wins (so a reason always names the most basic
problem, and an order in a forbidden trading state is refused before anything else is looked at):

1. ``invalid_order`` / ``invalid_account``: NaN, Inf, zero or negative quantity or prices, empty
   ids; then non-finite positions or equity (the gate fails closed on a corrupt account).
2. ``trading_state``: nothing unless ``ACTIVE``, except exposure-reducing orders in ``REDUCING``;
   ``PAUSED`` and ``HALTED`` refuse everything. ``reduce_only``: an order flagged reduce-only
   that does not reduce exposure.
3. ``duplicate_intent``: the intent id was accepted within ``duplicate_window_s``.
4. ``throttled``: ``max_orders_per_window`` orders were already accepted in the last
   ``rate_window_s`` seconds.
5. ``max_quantity``, 6. ``max_notional``: per-order size.
7. ``no_market_price`` / ``price_collar``: the limit and reference prices must lie within
   ``price_collar_pct`` of the last market price, which must exist.
8. ``max_position``: post-trade abs(position) in the instrument.
9. ``max_gross``: post-trade gross notional (``no_market_price`` if a held instrument has none).
10. ``daily_loss``: equity has fallen by ``daily_loss_limit`` since the session started.

An order *reduces exposure* iff it moves its instrument's position toward zero without crossing
it. Such an order skips rules 8-10: those limits exist to stop exposure growing, and refusing a
reduction would trap the book in the very risk they guard against (after the daily loss limit the
gate is effectively reduce-only; the breaker and the trading state stop trading outright).

Only accepted orders are remembered: a rejected order consumes no throttle budget and does not
block a later retry of its intent id, so a burst of refused orders cannot lock out good ones.

``now`` is a reading of both clocks (docs/adr/0010). The throttle and duplicate windows are
durations, measured on its elapsed reading: a wall clock stepped back an hour would otherwise
keep the throttle full (every order refused) for that hour, and one stepped forward would empty
both windows at once. Entries from another boot (or a state written before readings were kept)
count as accepted now: they stay one full window. The session boundary is calendar time, read
on the wall clock, and never goes backwards (``later_session``).
"""

from __future__ import annotations

import bisect
import dataclasses
import enum
import math
import operator
from collections.abc import Callable, Mapping

import msgspec

from actors._runtime.clock import Instant
from actors._runtime.trading import TradingState
from actors.execution.gate_config import GateConfig, later_session
from actors.execution.messages import Side, SubmitOrder


class RejectCode(enum.Enum):
    """Why the gate refused an order (the wire value goes into ``OrderRejected.code``)."""

    INVALID_ORDER = "invalid_order"
    INVALID_ACCOUNT = "invalid_account"
    TRADING_STATE = "trading_state"
    REDUCE_ONLY = "reduce_only"
    DUPLICATE_INTENT = "duplicate_intent"
    THROTTLED = "throttled"
    MAX_QUANTITY = "max_quantity"
    MAX_NOTIONAL = "max_notional"
    NO_MARKET_PRICE = "no_market_price"
    PRICE_COLLAR = "price_collar"
    MAX_POSITION = "max_position"
    MAX_GROSS = "max_gross"
    DAILY_LOSS = "daily_loss"


class InvalidKind(enum.Enum):
    """What is wrong with one value at the signal boundary."""

    NOT_A_NUMBER = "not_a_number"
    NOT_FINITE = "not_finite"
    NOT_POSITIVE = "not_positive"
    EMPTY = "empty"


class Invalid(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A value refused at the signal boundary."""

    field: str
    """Name of the offending field."""
    kind: InvalidKind
    """What is wrong with it."""
    reason: str
    """Sentence naming the field and its value."""


class GateState(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the gate remembers between orders; execution persists it with its orders."""

    order_times: tuple[float, ...] = ()
    """Acceptance times (elapsed readings on ``boot``) of orders still inside the throttle
    window, oldest first."""
    recent_intents: tuple[tuple[str, float], ...] = ()
    """(intent id, acceptance time as an elapsed reading) of intents still inside the duplicate
    window."""
    session_id: str = ""
    """Session the loss baseline belongs to (local ISO date it started); empty before the first."""
    session_start_equity: float | None = None
    """Equity at the first finite mark of the session: the daily-loss baseline."""
    boot: str = ""
    """Boot the acceptance times were read on ('' in a state written before they were elapsed
    readings, when they were wall times)."""


class Accept(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The order may go to the broker."""

    state: GateState
    """Gate state to persist, with the order counted."""


class Reject(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The order must not go to the broker."""

    code: RejectCode
    """Which rule refused it."""
    reason: str
    """Sentence naming the offending value and the limit."""
    state: GateState
    """Gate state to persist (expired entries pruned, session rolled; the order not counted)."""


Decision = Accept | Reject


# --- signal boundary -------------------------------------------------------------------------


def check_number(field: str, value: object, *, positive: bool = True) -> Invalid | None:
    """Return what is wrong with ``value`` (named ``field``), or None if it is a finite number.

    Bools and non-numbers are refused: callers that bypass msgspec can hand anything over.
    With ``positive`` (the default) the value must also be > 0.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return Invalid(field, InvalidKind.NOT_A_NUMBER, f"{field} is not a number: {value!r}")
    if not math.isfinite(value):
        return Invalid(field, InvalidKind.NOT_FINITE, f"{field} is not finite: {value!r}")
    if positive and value <= 0:
        return Invalid(field, InvalidKind.NOT_POSITIVE, f"{field} must be > 0, got {value!r}")
    return None


def validate_signal(
    *, instrument: str, quantity: float, reference_price: float, limit_price: float | None = None
) -> Invalid | None:
    """Check a signal before it becomes an intent: a non-empty instrument, and a quantity,
    reference price and (if any) limit price that are finite and > 0.

    Returns:
        None if every value is acceptable, else the first problem (in argument order).
    """
    if not instrument:
        return Invalid("instrument", InvalidKind.EMPTY, "instrument is empty")
    problem = check_number("quantity", quantity) or check_number("reference_price", reference_price)
    if problem is None and limit_price is not None:
        problem = check_number("limit_price", limit_price)
    return problem


def validate_order(order: SubmitOrder) -> Invalid | None:
    """Check every value of an order intent (rule 1 of the gate); None if all are sound."""
    if not order.intent_id:
        return Invalid("intent_id", InvalidKind.EMPTY, "intent_id is empty")
    return validate_signal(
        instrument=order.instrument,
        quantity=order.quantity,
        reference_price=order.reference_price,
        limit_price=order.limit_price,
    )


# --- exposure --------------------------------------------------------------------------------


def signed_quantity(order: SubmitOrder) -> float:
    """Return the position change the order would cause if filled (+ buys, - sells)."""
    return order.quantity if order.side is Side.BUY else -order.quantity


def reduces_exposure(position: float, delta: float) -> bool:
    """Tell whether signed change ``delta`` moves ``position`` toward zero without crossing it:
    position != 0, delta opposes it, and abs(delta) <= abs(position)."""
    if position > 0:
        return -position <= delta < 0
    if position < 0:
        return 0 < delta <= -position
    return False


def roll_session(state: GateState, equity: float, now: Instant, config: GateConfig) -> GateState:
    """Start a new loss session when the wall clock has crossed the session boundary forward.

    Call it on every equity mark as well as from :func:`check`, so the baseline is the first mark
    after the boundary rather than the equity at the first order of the day.

    Returns:
        ``state``, or a copy with ``equity`` as the new baseline if a new session began (a
        non-finite equity never becomes a baseline; the next finite mark does).
    """
    current = later_session(state.session_id, now.wall, config.session_reset, config.timezone)
    if current == state.session_id and state.session_start_equity is not None:
        return state
    if not math.isfinite(equity):
        return state
    return msgspec.structs.replace(state, session_id=current, session_start_equity=equity)


# --- rules -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class _Context:
    """Everything a rule may look at, computed once per check."""

    order: SubmitOrder
    state: GateState
    trading: TradingState
    positions: Mapping[str, float]
    last_prices: Mapping[str, float]
    equity: float
    config: GateConfig
    position: float
    post: float
    reducing: bool
    elapsed: float


_Failure = tuple[RejectCode, str] | None


def _valid_numbers(ctx: _Context) -> _Failure:
    problem = validate_order(ctx.order)
    if problem is not None:
        return RejectCode.INVALID_ORDER, problem.reason
    for instrument, position in ctx.positions.items():
        if check_number(f"position[{instrument}]", position, positive=False) is not None:
            return RejectCode.INVALID_ACCOUNT, f"position in {instrument} is {position!r}"
    if check_number("equity", ctx.equity, positive=False) is not None:
        return RejectCode.INVALID_ACCOUNT, f"equity is {ctx.equity!r}"
    return None


def _trading_state(ctx: _Context) -> _Failure:
    trading = ctx.trading
    if trading in (TradingState.PAUSED, TradingState.HALTED):
        return RejectCode.TRADING_STATE, f"trading is {trading.value}: no new orders"
    if trading is not TradingState.ACTIVE and not ctx.reducing:
        return RejectCode.TRADING_STATE, (
            f"trading is {trading.value}: only exposure-reducing orders; position "
            f"{ctx.position} would become {ctx.post}"
        )
    if ctx.order.reduce_only and not ctx.reducing:
        return RejectCode.REDUCE_ONLY, (
            f"reduce_only order would move position {ctx.position} to {ctx.post}"
        )
    return None


def _duplicate(ctx: _Context) -> _Failure:
    intent_id = ctx.order.intent_id
    # dict() of the pairs is built in C: hundreds of entries cost microseconds, not a loop.
    accepted_at = dict(ctx.state.recent_intents).get(intent_id)
    if accepted_at is not None:
        return RejectCode.DUPLICATE_INTENT, (
            f"intent {intent_id!r} was accepted {ctx.elapsed - accepted_at:.3f} s ago, within "
            f"duplicate_window_s {ctx.config.duplicate_window_s}"
        )
    return None


def _throttle(ctx: _Context) -> _Failure:
    count = len(ctx.state.order_times)
    limit = ctx.config.max_orders_per_window
    if count >= limit:
        return RejectCode.THROTTLED, (
            f"{count} orders accepted in the last {ctx.config.rate_window_s} s reach "
            f"max_orders_per_window {limit}"
        )
    return None


def _max_quantity(ctx: _Context) -> _Failure:
    limit = ctx.config.max_order_quantity
    if ctx.order.quantity > limit:
        return RejectCode.MAX_QUANTITY, (
            f"quantity {ctx.order.quantity} exceeds max_order_quantity {limit}"
        )
    return None


def _max_notional(ctx: _Context) -> _Failure:
    # The order's own price, so the rule does not depend on market data; the collar (next)
    # bounds how far that price may sit from the market.
    order = ctx.order
    price = order.limit_price if order.limit_price is not None else order.reference_price
    notional = order.quantity * price
    limit = ctx.config.max_order_notional
    if notional > limit:
        return RejectCode.MAX_NOTIONAL, f"notional {notional} exceeds max_order_notional {limit}"
    return None


def _market_price(last_prices: Mapping[str, float], instrument: str) -> float | None:
    price = last_prices.get(instrument)
    if price is None or check_number("price", price) is not None:
        return None
    return price


def _price_collar(ctx: _Context) -> _Failure:
    order = ctx.order
    last = _market_price(ctx.last_prices, order.instrument)
    if last is None:
        return RejectCode.NO_MARKET_PRICE, (
            f"no valid last price for {order.instrument} "
            f"(got {ctx.last_prices.get(order.instrument)!r}); cannot apply the price collar"
        )
    collar = ctx.config.price_collar_pct
    prices = [("reference_price", order.reference_price)]
    if order.limit_price is not None:
        prices.insert(0, ("limit_price", order.limit_price))
    for name, price in prices:
        # Compared without dividing, so a price exactly at the collar passes whatever rounding
        # the percentage in the reason suffers.
        if abs(price - last) * 100.0 > collar * last:
            deviation = abs(price - last) / last * 100.0
            return RejectCode.PRICE_COLLAR, (
                f"{name} {price} is {deviation:.4g}% from last price {last}, beyond "
                f"price_collar_pct {collar}"
            )
    return None


def _max_position(ctx: _Context) -> _Failure:
    limit = ctx.config.max_position
    if not ctx.reducing and abs(ctx.post) > limit:
        return RejectCode.MAX_POSITION, (
            f"position in {ctx.order.instrument} would be {ctx.post}, beyond max_position {limit}"
        )
    return None


def _max_gross(ctx: _Context) -> _Failure:
    if ctx.reducing:
        return None
    after = dict(ctx.positions)
    after[ctx.order.instrument] = ctx.post
    gross = 0.0
    for instrument, position in after.items():
        if position == 0:
            continue
        price = _market_price(ctx.last_prices, instrument)
        if price is None:
            return RejectCode.NO_MARKET_PRICE, (
                f"no valid last price for held {instrument}; cannot compute gross notional"
            )
        gross += abs(position) * price
    limit = ctx.config.max_gross_position
    if gross > limit:
        return RejectCode.MAX_GROSS, (
            f"gross notional would be {gross}, beyond max_gross_position {limit}"
        )
    return None


def session_loss(state: GateState, equity: float) -> float | None:
    """Equity fallen since the session's baseline (negative: a gain); None before a baseline."""
    baseline = state.session_start_equity
    return None if baseline is None else baseline - equity


def orders_in_window(state: GateState, now: Instant, config: GateConfig) -> int:
    """Orders the throttle counts at ``now``: accepted within the last ``rate_window_s``."""
    return len(_prune(_on_this_boot(state, now), now.elapsed, config).order_times)


def _daily_loss(ctx: _Context) -> _Failure:
    loss = session_loss(ctx.state, ctx.equity)
    if ctx.reducing or loss is None:
        # baseline is None only if equity was never finite, which rule 1 already refused.
        return None
    limit = ctx.config.daily_loss_limit
    if loss >= limit:
        return RejectCode.DAILY_LOSS, (
            f"session {ctx.state.session_id} loss {loss} reached daily_loss_limit {limit}"
        )
    return None


RULES: tuple[Callable[[_Context], _Failure], ...] = (
    _valid_numbers,
    _trading_state,
    _duplicate,
    _throttle,
    _max_quantity,
    _max_notional,
    _price_collar,
    _max_position,
    _max_gross,
    _daily_loss,
)
"""The gate's rules in the order they run (see the module docstring)."""


def _on_this_boot(state: GateState, now: Instant) -> GateState:
    """Entries read on another boot (or wall times of an older state) count as accepted now:
    how long ago they were is not provable, so they stay one full window rather than none."""
    if state.boot == now.boot:
        return state
    return msgspec.structs.replace(
        state,
        boot=now.boot,
        order_times=(now.elapsed,) * len(state.order_times),
        recent_intents=tuple((intent, now.elapsed) for intent, _ in state.recent_intents),
    )


def _prune(state: GateState, now: float, config: GateConfig) -> GateState:
    """Forget order times and intent ids that have left their windows (``now``: elapsed).

    Both are appended in time order (stamps never decrease), so what has expired is a
    prefix: found by bisection and cut with one slice, not by visiting every entry.
    """
    times, intents = state.order_times, state.recent_intents
    cut_times = bisect.bisect_right(times, now - config.rate_window_s)
    cut_intents = bisect.bisect_right(
        intents, now - config.duplicate_window_s, key=operator.itemgetter(1)
    )
    if not cut_times and not cut_intents:
        return state
    return msgspec.structs.replace(
        state, order_times=times[cut_times:], recent_intents=intents[cut_intents:]
    )


def check(
    order: SubmitOrder,
    *,
    state: GateState,
    trading: TradingState,
    positions: Mapping[str, float],
    last_prices: Mapping[str, float],
    equity: float,
    config: GateConfig,
    now: Instant,
) -> Decision:
    """Decide whether an order may go to the broker.

    Args:
        order: the intent to check.
        state: the gate's state from the previous decision (``GateState()`` at first).
        trading: the current trading state.
        positions: signed position per instrument (missing means flat).
        last_prices: last market price per instrument.
        equity: account equity (cash + marked positions) now; only its fall since the session
            start matters, i.e. realized + unrealized PnL of the session.
        config: the gate's limits.
        now: the clocks' reading: the windows run on its elapsed time, the session on its
            wall time (either may be stepped; see the module docstring).

    Returns:
        ``Accept`` with the order counted, or ``Reject`` with the first failing rule; either way
        the state to persist.
    """
    state = _prune(_on_this_boot(state, now), now.elapsed, config)
    state = roll_session(state, equity, now, config)
    # Garbage (NaN position, a non-number quantity from an unchecked caller) only has to survive
    # building the context: rule 1 refuses it before any rule reads these derived values.
    position = positions.get(order.instrument, 0.0)
    delta = signed_quantity(order) if check_number("q", order.quantity) is None else 0.0
    ctx = _Context(
        order=order,
        state=state,
        trading=trading,
        positions=positions,
        last_prices=last_prices,
        equity=equity,
        config=config,
        position=position,
        post=position + delta,
        reducing=reduces_exposure(position, delta),
        elapsed=now.elapsed,
    )
    for rule in RULES:
        failure = rule(ctx)
        if failure is not None:
            code, reason = failure
            return Reject(code=code, reason=reason, state=state)
    # Stamped no earlier than the last entry, so that the windows stay in time order (what
    # ``_prune`` relies on) even if an elapsed reading ever went back (a VM restored from a
    # snapshot); such an entry expires late, which errs on the strict side.
    stamp = max(
        (now.elapsed, *state.order_times[-1:], *(t for _, t in state.recent_intents[-1:]))
    )
    return Accept(
        state=msgspec.structs.replace(
            state,
            order_times=(*state.order_times, stamp),
            recent_intents=(*state.recent_intents, (order.intent_id, stamp)),
        )
    )
