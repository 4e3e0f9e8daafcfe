"""Layer 3's reader of the halts store: the state in the file, HALTED when it cannot be read."""

from __future__ import annotations

from pathlib import Path

import pytest

from actors._runtime.halts_reader import HALTS_FILE, HaltsReader
from actors._runtime.trading import TradingState
from supervisor.halts import HaltsStore
from supervisor.trading_state import Source, transition


@pytest.mark.parametrize("name", ["plain", "what?mode=rw", "a#b", "100%20off", "sp ace"])
def test_the_reader_finds_the_store_whatever_the_directory_is_called(
    tmp_path: Path, name: str
) -> None:
    """The path goes into a ``file:`` URI percent-encoded: ``?``, ``#`` and ``%`` in a directory
    name neither break the reader (which would read as HALTED for ever) nor reach SQLite as
    URI parameters."""
    state_dir = tmp_path / name
    store = HaltsStore.open(state_dir / HALTS_FILE)
    reader = HaltsReader(state_dir)
    try:
        assert reader.state() == (TradingState.ACTIVE, "halts store")
        change = transition(TradingState.ACTIVE, TradingState.HALTED, source=Source.OPERATOR,
                            reason="test", at=1.0)
        store.append_transition(change, who="t")
        assert reader.state() == (TradingState.HALTED, "halts store")
    finally:
        reader.close()
        store.close()


def test_a_missing_store_reads_as_halted(tmp_path: Path) -> None:
    state, why = HaltsReader(tmp_path).state()
    assert state is TradingState.HALTED
    assert "unreadable" in why
