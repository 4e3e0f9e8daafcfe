"""Circuit-breaker rules: turn equity marks, closed trades and the clock into trips, halts, resumes.

Pure functions over a frozen :class:`BreakerState` and a clock passed in; the breaker actor
persists the returned state before it acts on the returned actions (a ``Trip`` asks for
``PAUSED``, a ``Halt`` for ``HALTED``, a ``Resume`` for ``ACTIVE``).

Rules, in the order they are evaluated (the first that fires names the trip):

- on an equity mark: ``drawdown`` (percent below the running peak of all marks), then
  ``daily_loss`` (equity fallen by the limit since the first mark of the session);
- on a closed trade: ``consecutive_losses`` (a trade with pnl < 0 extends the run, any other ends
  it), then ``sharpe_floor`` (mean / sample stdev of the last ``sharpe_window`` trade PnLs, not
  annualised; inactive below ``sharpe_min_trades`` trades);
- either: ``invalid_input`` for a NaN/Inf equity or PnL, because a breaker that cannot see the
  account must not let it trade.

Escalation and counting:

- A trip pauses for ``reset_window_s``; the trip that makes ``max_trips_per_24h`` trips within the
  last 24 h (a trip exactly 24 h old no longer counts) halts instead.
- Both durations are measured on the elapsed clock, never on the wall clock, so a wall clock
  stepped either way neither ends a pause early nor forgets a trip early (docs/adr/0010). A
  reading from before a reboot proves nothing about the time since: the pause restarts its full
  window and the trip counts for 24 h from the first reading after the reboot.
- The daily-loss session is calendar time, read on the wall clock, and never goes backwards: a
  step forward across the boundary starts the new session, a step back does not re-open the
  previous one nor start the current one again.
- While paused or halted, rules still update their bookkeeping (peak, run of losses, window) but
  a firing rule is not a new trip: one incident is counted once, not once per mark during the
  pause it already caused.
- Rules look at levels, not edges: a condition still true after the pause ends trips again at the
  next mark or trade, so a drawdown or loss that persists escalates to a halt rather than being
  forgiven by waiting.
- Every entry point first applies the clock (:func:`on_clock`): a pause whose window has passed
  resumes before the new input is judged, so a ``Resume`` may precede a ``Trip`` in one answer.
- A halt is sticky: only :func:`operator_reset` clears it.
"""

from __future__ import annotations

import enum
import math
import statistics

import msgspec

from actors._runtime.clock import Instant, carry
from actors.breaker.rules_config import BreakerConfig
from actors.execution.gate_config import later_session

TRIP_WINDOW_S = 86_400.0
"""Trips within this many seconds of elapsed time before now count toward a halt."""


class TripRule(enum.Enum):
    """Which rule fired."""

    DRAWDOWN = "drawdown"
    DAILY_LOSS = "daily_loss"
    CONSECUTIVE_LOSSES = "consecutive_losses"
    SHARPE_FLOOR = "sharpe_floor"
    INVALID_INPUT = "invalid_input"


class BreakerState(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the breaker remembers; persisted before any action is taken."""

    peak_equity: float | None = None
    """Highest equity marked so far (since start or operator reset); None before the first mark."""
    last_equity: float | None = None
    """Most recent finite equity mark."""
    consecutive_losses: int = 0
    """Closed trades in a row with pnl < 0."""
    trade_pnls: tuple[float, ...] = ()
    """PnL of the most recent closed trades, oldest first, at most ``sharpe_window`` long."""
    trip_times: tuple[float, ...] = ()
    """Wall-clock times of the trips counted within the last 24 h, oldest first (for people)."""
    paused_until: float | None = None
    """Wall-clock estimate, made at the trip, of when the current pause ends; None when not
    paused. The pause itself ends on the elapsed clock (``paused_at``)."""
    halted: bool = False
    """True after a halt, until an operator reset."""
    session_id: str = ""
    """Session the daily-loss baseline belongs to (local ISO date it started)."""
    session_start_equity: float | None = None
    """Equity at the first mark of the session: the daily-loss baseline."""
    boot: str = ""
    """Boot on which the elapsed readings below were taken ('' in a state written before them)."""
    trip_elapsed: tuple[float, ...] = ()
    """Elapsed readings of the trips in ``trip_times``, same order: the 24 h is counted on them."""
    paused_at: float | None = None
    """Elapsed reading when the current pause began; it ends ``reset_window_s`` later."""


class Trip(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A rule fired: pause trading until ``pause_until``."""

    rule: TripRule
    """The rule."""
    reason: str
    """Sentence naming the value and the threshold."""
    pause_until: float
    """When the breaker will resume by itself, estimated on the wall clock (epoch seconds)."""


class Halt(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A rule fired for the Nth time within 24 h: halt until an operator resets."""

    rule: TripRule
    """The rule that fired last."""
    reason: str
    """Sentence naming the value, the threshold and the escalation."""
    trips_in_24h: int
    """Trips counted within the last 24 h, this one included."""


class Resume(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The pause is over (or an operator reset the breaker): trading may resume."""

    reason: str
    """Why."""


BreakerAction = Trip | Halt | Resume
Outcome = tuple[BreakerState, list[BreakerAction]]
_Fired = tuple[TripRule, str] | None


def drawdown_pct(peak: float, equity: float) -> float:
    """Return how far equity sits below the peak, in percent of the peak.

    Args:
        peak: running peak equity.
        equity: current equity (<= peak).

    Returns:
        The drawdown; 100 when the peak is not positive (no capital left to measure against).
    """
    if peak <= 0:
        return 100.0
    return (peak - equity) / peak * 100.0


def rolling_sharpe(pnls: tuple[float, ...]) -> float:
    """Return the per-trade Sharpe ratio: mean / sample standard deviation.

    Args:
        pnls: at least two trade PnLs.

    Returns:
        The ratio. With zero dispersion it is +inf, -inf or 0 by the sign of the mean, so a run
        of identical losses is the worst possible Sharpe rather than undefined.
    """
    mean = statistics.fmean(pnls)
    stdev = statistics.stdev(pnls)
    if stdev == 0:
        return math.copysign(math.inf, mean) if mean != 0 else 0.0
    return mean / stdev


def session_loss(state: BreakerState) -> float | None:
    """Equity fallen since the session's first mark (negative: a gain); None before a mark."""
    if state.session_start_equity is None or state.last_equity is None:
        return None
    return state.session_start_equity - state.last_equity


def window_sharpe(state: BreakerState) -> float | None:
    """The rolling Sharpe ratio of the trade window (None below two trades)."""
    return rolling_sharpe(state.trade_pnls) if len(state.trade_pnls) >= 2 else None


def _carried(state: BreakerState, now: Instant) -> BreakerState:
    """The state with every elapsed reading on ``now``'s boot (see :func:`carry`).

    A trip or a pause with no reading on this boot (taken before a reboot, or in a state file
    written before readings were kept) counts from now: how long ago it was is not provable.
    """
    same = state.boot == now.boot
    known = state.trip_elapsed if same else ()
    missing = len(state.trip_times) - len(known)
    trips = tuple(carry(t, state.boot, now) for t in known) + (now.elapsed,) * missing
    paused_at = None
    if state.paused_until is not None:
        began = now.elapsed if state.paused_at is None else state.paused_at
        paused_at = carry(began, state.boot, now)
    if same and trips == state.trip_elapsed and paused_at == state.paused_at:
        return state
    return msgspec.structs.replace(state, boot=now.boot, trip_elapsed=trips, paused_at=paused_at)


def on_clock(state: BreakerState, now: Instant, config: BreakerConfig) -> Outcome:
    """Resume when the pause window has passed; forget trips older than 24 h (elapsed time).

    Args:
        state: breaker state.
        now: the clocks' reading.
        config: thresholds.

    Returns:
        The new state and ``[Resume]`` exactly when ``reset_window_s`` of elapsed time has
        passed since the pause began (never when halted); the wall clock plays no part.
    """
    state = _carried(state, now)
    horizon = now.elapsed - TRIP_WINDOW_S
    pairs = zip(state.trip_times, state.trip_elapsed, strict=True)
    kept = [(wall, elapsed) for wall, elapsed in pairs if elapsed > horizon]
    if len(kept) != len(state.trip_times):
        state = msgspec.structs.replace(
            state, trip_times=tuple(w for w, _ in kept), trip_elapsed=tuple(e for _, e in kept)
        )
    paused_at = state.paused_at
    if state.halted or paused_at is None or now.elapsed < paused_at + config.reset_window_s:
        return state, []
    resume = Resume(
        reason=f"reset window of {config.reset_window_s} s ended "
        f"({now.elapsed - paused_at:.3f} s elapsed since the pause began)"
    )
    return msgspec.structs.replace(state, paused_until=None, paused_at=None), [resume]


def _trip(
    state: BreakerState,
    fired: _Fired,
    now: Instant,
    config: BreakerConfig,
    actions: list[BreakerAction],
) -> Outcome:
    """Count a fired rule as a trip (pause) or halt, unless already paused or halted."""
    if fired is None or state.halted or state.paused_until is not None:
        return state, actions
    rule, reason = fired
    # on_clock has run first: the state's readings are on now's boot.
    trips = (*state.trip_times, now.wall)
    counted = msgspec.structs.replace(
        state, trip_times=trips, trip_elapsed=(*state.trip_elapsed, now.elapsed)
    )
    if len(trips) >= config.max_trips_per_24h:
        halted = msgspec.structs.replace(counted, halted=True, paused_until=None, paused_at=None)
        limit = config.max_trips_per_24h
        reason = f"{reason}; trip {len(trips)} within 24 h reaches max_trips_per_24h {limit}"
        return halted, [*actions, Halt(rule=rule, reason=reason, trips_in_24h=len(trips))]
    until = now.wall + config.reset_window_s
    paused = msgspec.structs.replace(counted, paused_until=until, paused_at=now.elapsed)
    return paused, [*actions, Trip(rule=rule, reason=reason, pause_until=until)]


def _invalid(field: str, value: float) -> _Fired:
    return TripRule.INVALID_INPUT, f"{field} is {value!r}; the breaker cannot judge the account"


def on_equity(state: BreakerState, equity: float, now: Instant, config: BreakerConfig) -> Outcome:
    """Judge an equity mark: drawdown from the running peak, then the session's loss.

    Args:
        state: breaker state.
        equity: account equity marked at ``now``.
        now: the clocks' reading (the wall may step either way between calls).
        config: thresholds.

    Returns:
        The new state and the actions (possibly ``Resume`` then ``Trip``/``Halt``).
    """
    state, actions = on_clock(state, now, config)
    if not math.isfinite(equity):
        return _trip(state, _invalid("equity", equity), now, config, actions)
    peak = equity if state.peak_equity is None else max(state.peak_equity, equity)
    session = later_session(state.session_id, now.wall, config.session_reset, config.timezone)
    baseline = state.session_start_equity
    if session != state.session_id or baseline is None:
        baseline = equity
    state = msgspec.structs.replace(
        state,
        peak_equity=peak,
        last_equity=equity,
        session_id=session,
        session_start_equity=baseline,
    )
    fired: _Fired = None
    drawdown = drawdown_pct(peak, equity)
    loss = session_loss(state)
    assert loss is not None, "a baseline and a mark were just set"
    # Compared without dividing, so a drawdown of exactly the threshold trips whatever rounding
    # the percentage in the reason suffers.
    if peak <= 0 or (peak - equity) * 100.0 >= config.max_drawdown_pct * peak:
        reason = (
            f"equity {equity} is {drawdown:.4g}% below peak {peak}, reaching "
            f"max_drawdown_pct {config.max_drawdown_pct}"
        )
        fired = (TripRule.DRAWDOWN, reason)
    elif loss >= config.daily_loss_limit:
        reason = f"session {session} loss {loss} reached daily_loss_limit {config.daily_loss_limit}"
        fired = (TripRule.DAILY_LOSS, reason)
    return _trip(state, fired, now, config, actions)


def on_trade_closed(
    state: BreakerState, pnl: float, now: Instant, config: BreakerConfig
) -> Outcome:
    """Judge a closed trade: the run of losses, then the rolling Sharpe ratio.

    Args:
        state: breaker state.
        pnl: realised PnL of the closed trade (< 0 is a loss).
        now: the clocks' reading (the wall may step either way between calls).
        config: thresholds.

    Returns:
        The new state and the actions (possibly ``Resume`` then ``Trip``/``Halt``).
    """
    state, actions = on_clock(state, now, config)
    if not math.isfinite(pnl):
        return _trip(state, _invalid("pnl", pnl), now, config, actions)
    losses = state.consecutive_losses + 1 if pnl < 0 else 0
    pnls = (*state.trade_pnls, pnl)[-config.sharpe_window :]
    state = msgspec.structs.replace(state, consecutive_losses=losses, trade_pnls=pnls)
    fired: _Fired = None
    if losses >= config.max_consecutive_losses:
        reason = (
            f"{losses} consecutive losing trades reach max_consecutive_losses "
            f"{config.max_consecutive_losses}"
        )
        fired = (TripRule.CONSECUTIVE_LOSSES, reason)
    elif len(pnls) >= config.sharpe_min_trades:
        sharpe = rolling_sharpe(pnls)
        if sharpe < config.sharpe_floor:
            reason = (
                f"Sharpe {sharpe:.4g} over the last {len(pnls)} trades is below "
                f"sharpe_floor {config.sharpe_floor}"
            )
            fired = (TripRule.SHARPE_FLOOR, reason)
    return _trip(state, fired, now, config, actions)


def operator_reset(state: BreakerState, now: Instant, *, reason: str) -> Outcome:
    """Clear a halt or pause at an operator's request and start every rule afresh.

    The operator has looked at the account and takes responsibility for it, so the evidence
    that tripped the breaker is re-based rather than kept: otherwise the very next mark would
    trip (and, with the old trips still counted, halt) again. The peak and the session baseline
    become the last equity; the run of losses, the Sharpe window and the trip count are emptied.

    Args:
        state: breaker state.
        now: the clocks' reading (the wall time goes into the reason).
        reason: why the operator resets (required: every resume carries a reason).

    Returns:
        The new state, and ``[Resume]`` if the breaker was halted or paused.
    """
    was_stopped = state.halted or state.paused_until is not None
    fresh = msgspec.structs.replace(
        state,
        peak_equity=state.last_equity,
        session_start_equity=state.last_equity if state.session_id else None,
        consecutive_losses=0,
        trade_pnls=(),
        trip_times=(),
        trip_elapsed=(),
        paused_until=None,
        paused_at=None,
        halted=False,
    )
    if not was_stopped:
        return fresh, []
    return fresh, [Resume(reason=f"operator reset at {now.wall}: {reason}")]
