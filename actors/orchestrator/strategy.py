"""The strategy plugin API: what a client's strategy receives, what it returns, and how it is
told the trading state.

**Naming it.** A strategy is a class named in config as ``module:Class``
(``[orchestrator] strategy``), importable from the working directory, and constructed once per
process start with the keyword arguments of ``[orchestrator.strategy_params]``::

    [orchestrator]
    strategy = "mypkg.alpha:MeanReversion"
    [orchestrator.strategy_params]
    window = 20

**What it implements** (:class:`Strategy`; duck-typed, no base class needed):

- ``on_bar(bar, ctx) -> list[Signal]``, called once per loop iteration. ``bar`` (:class:`Bar`)
  carries the iteration number, the feed time ``ts`` (epoch seconds of the feed's clock; a CSV
  replay gives the bar's own time) and ``prices`` (instrument -> last price, the bar's close).
  ``ctx`` (:class:`StrategyContext`) carries ``positions`` (instrument -> signed quantity, as
  execution last reported fills) and ``trading_state``. It returns the orders it wants as
  :class:`Signal` s (instrument, side, positive quantity, optional limit price); often none.
- ``state() -> dict`` returns plain data (msgpack-able: numbers, strings, lists, dicts) that the
  orchestrator persists after every bar; ``restore(state)`` gets it back after a restart, before
  the first ``on_bar``, so the strategy resumes where it was.

**The trading state.** ``ctx.trading_state`` is the tree's current state (``ACTIVE``,
``REDUCING``, ``PAUSED``, ``HALTED``), updated from the bus before each bar. A strategy may use it
to explain itself or to stop computing, but it cannot override it: the orchestrator turns no
signal into an intent unless the state allows it (only exposure-reducing ones in ``REDUCING``,
none in ``PAUSED``/``HALTED``), and execution's gate and the halts store check again.

**What happens to a signal.** It is checked at the boundary (:func:`check_signal`): an object
that is not a ``Signal``, an unknown instrument, a side that is not a ``Side``, a quantity or
limit price that is not a finite number > 0, or a feed price that is NaN/Inf/<= 0, are refused
with a reason and published as ``SignalRejected``; they never become intents. A strategy that
raises skips that bar (``StrategyFailed``); the loop goes on. A good signal becomes a
``SubmitOrder`` intent to execution, with the bar's price as the reference price.

Two examples are in ``actors/orchestrator/examples.py``: ``Crossover`` and ``EveryN``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from actors._runtime.trading import TradingState
from actors.execution.gate import validate_signal
from actors.execution.messages import Side


@dataclass(frozen=True)
class Bar:
    """Prices of one iteration."""

    iteration: int
    """Loop iteration number."""
    ts: float
    """Feed time (epoch seconds)."""
    prices: dict[str, float]
    """Instrument -> last price."""


@dataclass(frozen=True)
class StrategyContext:
    """What the strategy may know besides prices."""

    positions: dict[str, float]
    """Signed positions as last reported by execution."""
    trading_state: TradingState
    """Current trading state."""


@dataclass(frozen=True)
class Signal:
    """An order the strategy wants."""

    instrument: str
    """Instrument symbol."""
    side: Side
    """Buy or sell."""
    quantity: float
    """Positive quantity."""
    limit_price: float | None = None
    """Limit price; None for a market order."""


class Strategy(Protocol):
    """What a strategy plugin implements."""

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> list[Signal]:
        """React to one bar; return the orders wanted (often none)."""

    def state(self) -> dict[str, Any]:
        """Plain data to persist, so a restart resumes the strategy where it was."""

    def restore(self, state: dict[str, Any]) -> None:
        """Reload what ``state`` returned."""


class SignalRejected(Exception):
    """A signal failed the boundary checks; the message names the field and value."""

    def __init__(self, reason: str, *, code: str, instrument: str = "") -> None:
        """Record the reason, a machine-readable code and the instrument (if known)."""
        super().__init__(reason)
        self.code = code
        self.instrument = instrument


def check_signal(signal: Any, prices: dict[str, float]) -> Signal:
    """Validate one signal at the boundary, with the same numeric checks execution's gate runs
    (``gate.validate_signal``).

    Args:
        signal: what the strategy returned.
        prices: the bar's prices; the instrument must be one of them, and its price becomes the
            order's reference price.

    Returns:
        The signal, unchanged.

    Raises:
        SignalRejected: naming the field and the value.
    """
    if not isinstance(signal, Signal):
        raise SignalRejected(
            f"strategy returned {type(signal).__name__}, not a Signal", code="not_a_signal"
        )
    if not isinstance(signal.instrument, str) or signal.instrument not in prices:
        raise SignalRejected(
            f"unknown instrument {signal.instrument!r}", code="unknown_instrument",
            instrument=str(signal.instrument),
        )
    if not isinstance(signal.side, Side):
        raise SignalRejected(
            f"side {signal.side!r} is not a Side", code="bad_side", instrument=signal.instrument
        )
    problem = validate_signal(
        instrument=signal.instrument, quantity=signal.quantity,
        reference_price=prices[signal.instrument], limit_price=signal.limit_price,
    )
    if problem is not None:
        raise SignalRejected(
            problem.reason, code=problem.kind.value, instrument=signal.instrument
        )
    return signal
