"""Trading safety end to end, in paper mode over real processes: numbers that are not numbers
never reach the venue, and the circuit breaker trips, pauses, resumes by itself and halts.

The strategies below are plugins the tree's orchestrator imports by ``module:Class``.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
import zmq

from actors import wire
from actors._runtime import endpoints
from actors._runtime.store import connect_readonly, read_snapshot
from actors._runtime.trading import TradingState
from actors.breaker.actor import Persisted
from actors.execution.messages import OrderRejected, Side, SubmitOrder
from actors.orchestrator.strategy import Bar, Signal, StrategyContext
from supervisor.halts import HaltsStore, RowKind
from tests.support.tree import TreeRun
from tests.support.venue import venue_total

# --- strategy plugins (imported by the orchestrator process) -------------------------------


class BadNumbers:
    """Every bar: one good order, then NaN, Inf and negative quantities and limit prices."""

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> list[Any]:
        """One sane signal (so the path is shown to work) and five that must be refused."""
        instrument = next(iter(bar.prices))
        side = Side.SELL if ctx.positions.get(instrument, 0.0) > 0 else Side.BUY
        return [
            Signal(instrument, side, 1.0),
            Signal(instrument, Side.BUY, math.nan),
            Signal(instrument, Side.BUY, math.inf),
            Signal(instrument, Side.SELL, -math.inf),
            Signal(instrument, Side.BUY, 1.0, limit_price=math.nan),
            Signal(instrument, Side.BUY, 1.0, limit_price=math.inf),
        ]

    def state(self) -> dict[str, Any]:
        """Stateless."""
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        """Stateless."""


class Loser:
    """Round trips that always lose: buy when flat, sell when long (slippage does the rest)."""

    def on_bar(self, bar: Bar, ctx: StrategyContext) -> list[Signal]:
        """One order per bar toward the other side."""
        instrument = next(iter(bar.prices))
        if ctx.positions.get(instrument, 0.0) > 0:
            return [Signal(instrument, Side.SELL, 1.0)]
        return [Signal(instrument, Side.BUY, 1.0)]

    def state(self) -> dict[str, Any]:
        """Stateless."""
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        """Stateless."""


HERE = "tests.integration.test_trading_safety"

BAD_NUMBERS = f"""
[execution]
broker = "paper"
paper_latency_s = 0.0
[orchestrator]
interval_s = 0.05
strategy = "{HERE}:BadNumbers"
[orchestrator.feed]
instruments = ["BTC-USD"]
"""

# Constant price 100 and 100 bps of slippage: every round trip loses 2 (buy 101, sell 99).
LOSING = f"""
[execution]
broker = "paper"
paper_latency_s = 0.0
paper_slippage_bps = 100.0
[orchestrator]
interval_s = 0.05
strategy = "{HERE}:Loser"
[orchestrator.feed]
instruments = ["BTC-USD"]
volatility = 0.0
[breaker]
max_consecutive_losses = 2
max_drawdown_pct = 90.0
daily_loss_limit = 1000000.0
sharpe_window = 50
sharpe_min_trades = 50
reset_window_s = 1.0
max_trips_per_24h = 3
check_interval_s = 0.05
"""


def _journal(state_dir: Path) -> str:
    return "".join(p.read_text() for p in sorted((state_dir / "journal").glob("*.md")))


def _wait(pred: Any, timeout: float = 15.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _venue_quantities(state_dir: Path) -> list[float]:

    con = connect_readonly(state_dir / "paper-venue.sqlite")
    try:
        return [float(r[0]) for r in con.execute("SELECT quantity FROM orders")]
    finally:
        con.close()


def _submit(run_dir: Path, cmd: SubmitOrder) -> object:
    ctx = zmq.Context()
    dealer = ctx.socket(zmq.DEALER)
    dealer.connect(endpoints.commands(run_dir, "execution"))
    dealer.send(wire.codec().encode("pytest", cmd))
    try:
        assert dealer.poll(5000), "execution did not answer"
        return wire.codec().decode(dealer.recv()).payload
    finally:
        dealer.close(linger=0)
        ctx.term()


@pytest.mark.timeout(90)
def test_nan_and_inf_from_a_strategy_never_reach_the_venue(tree_factory: Any) -> None:
    """A strategy emitting NaN/Inf/negative quantities and NaN/Inf limit prices: each is
    refused at the signal boundary with a reason naming the field (SignalRejected, journaled),
    while its sane signals trade; the same numbers sent straight to execution (past the
    orchestrator) are refused by the gate as invalid_order; the venue only ever holds finite,
    positive quantities."""
    tree = tree_factory(BAD_NUMBERS)
    tree.wait_started()
    _wait(lambda: venue_total(tree.state_dir) >= 5, what="sane orders at the venue")
    for field, value in (("quantity", math.nan), ("quantity", math.inf),
                         ("reference_price", math.nan), ("limit_price", -math.inf)):
        kwargs: dict[str, Any] = {"quantity": 1.0, "reference_price": 100.0, field: value}
        before = venue_total(tree.state_dir)
        reply = _submit(tree.run_dir, SubmitOrder(
            intent_id=f"direct-{field}-{value}", instrument="BTC-USD", side=Side.BUY, **kwargs))
        assert isinstance(reply, OrderRejected), reply
        assert reply.code == "invalid_order"
        assert field in reply.reason
        assert venue_total(tree.state_dir) <= before + 1  # the strategy's own sane order only
    time.sleep(0.3)  # let the journal write what was published
    quantities = _venue_quantities(tree.state_dir)
    assert quantities
    assert all(math.isfinite(q) and q > 0 for q in quantities), quantities
    journal = _journal(tree.state_dir)
    assert "SignalRejected" in journal
    for reason in ("quantity is not finite: nan", "quantity is not finite: inf",
                   "quantity is not finite: -inf", "limit_price is not finite: nan",
                   "limit_price is not finite: inf"):
        assert reason in journal, reason
    assert journal.count('"code":"invalid_order"') >= 4
    orchestrator = next(a for a in tree.status().actors if a.name == "orchestrator")
    assert orchestrator.restarts == 0  # bad numbers are refused, they crash nothing


@pytest.mark.timeout(120)
def test_a_losing_strategy_trips_the_breaker_which_pauses_resumes_and_halts(
    tree_factory: Any,
) -> None:
    """Consecutive losses trip the breaker: PAUSED (breaker), then ACTIVE by itself after the
    1 s reset window, twice; the 3rd trip within 24 h halts, and the halt holds. Each step is
    in the halts store (transitions with source breaker) and in the journal (BreakerTripped,
    BreakerReset, BreakerHalted and the TradingStateChanged events); the breaker's persisted
    state survives a restart of the tree, which comes back halted."""
    tree = tree_factory(LOSING)
    tree.wait_started()
    seen: list[tuple[str, str]] = []
    after = 0
    for expected in ("PAUSED", "ACTIVE", "PAUSED", "ACTIVE", "HALTED"):
        line = tree.wait_for(
            "trading_state_changed", lambda ln, e=expected: ln["state"] == e, after=after,
            timeout=20,
        )
        seen.append((line["state"], line["source"]))
        after = tree.lines.index(line) + 1
    assert seen == [(s, "breaker") for s in ("PAUSED", "ACTIVE", "PAUSED", "ACTIVE", "HALTED")]
    time.sleep(1.5)  # longer than the reset window: a halt does not resume by itself
    assert tree.status().trading_state == "HALTED"
    frozen = venue_total(tree.state_dir)
    time.sleep(0.5)
    assert venue_total(tree.state_dir) == frozen, "orders reached the venue while halted"
    store = HaltsStore.open(tree.state_dir / "halts.sqlite")
    try:
        rows = [(r.state, r.source.value) for r in store.rows() if r.kind is RowKind.TRANSITION]
    finally:
        store.close()
    assert rows == [(TradingState(s), "breaker") for s, _ in seen]
    journal = _journal(tree.state_dir)
    kinds = [line.split(" | ")[2] for line in journal.splitlines() if line.startswith("- ")]
    audit = [k for k in kinds if k.startswith("Breaker")]
    assert audit == ["BreakerTripped", "BreakerReset", "BreakerTripped", "BreakerReset",
                     "BreakerHalted"]
    assert kinds.count("TradingStateChanged") == 5
    assert "consecutive losing trades" in journal
    tree.stop()
    persisted = msgspec.msgpack.decode(
        read_snapshot(tree.state_dir / "breaker.sqlite")["breaker"], type=Persisted)
    assert persisted.rules.halted
    assert len(persisted.rules.trip_times) == 3
    assert persisted.halts == 1
    again = TreeRun(tree.tmp, LOSING)
    try:
        again.wait_started()
        assert again.status().trading_state == "HALTED"
        breaker = next(a for a in again.status().actors if a.name == "breaker")
        assert breaker.restored.get("trips") == 3
        assert breaker.restored.get("halted") is True
    finally:
        again.stop()
