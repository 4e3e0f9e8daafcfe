"""The trading gate the runtime sets before it acknowledges a state (layer 4, ADR 0005)."""

from __future__ import annotations

from actors._runtime.trading import TradingGate, TradingState, TradingStateChanged


def _change(state: TradingState, seq: int) -> TradingStateChanged:
    return TradingStateChanged(previous=TradingState.ACTIVE, state=state, source="operator",
                               reason="test", seq=seq)


def test_a_gate_starts_halted_until_told() -> None:
    assert TradingGate().state is TradingState.HALTED


def test_the_gate_follows_newer_changes_and_ignores_older_ones() -> None:
    gate = TradingGate(TradingState.ACTIVE)
    assert gate.apply(_change(TradingState.HALTED, 5))
    assert gate.state is TradingState.HALTED
    # The copy of seq 4 sent to a child at Ready, arriving after seq 5 on the bus.
    assert not gate.apply(_change(TradingState.ACTIVE, 4))
    assert gate.state is TradingState.HALTED
    assert gate.apply(_change(TradingState.HALTED, 5))  # the same change again: harmless
    assert gate.apply(_change(TradingState.REDUCING, 6))
    assert gate.state is TradingState.REDUCING


def test_restore_sets_the_state_read_at_start() -> None:
    gate = TradingGate()
    gate.restore(TradingState.PAUSED)
    assert gate.state is TradingState.PAUSED
    assert gate.apply(_change(TradingState.ACTIVE, 1))
