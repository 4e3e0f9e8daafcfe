"""A halts store that cannot write (disk full): a stricter state takes effect at once and its row
is written as soon as the store takes writes; a looser one is refused until it can be recorded."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path

import pytest

from actors._runtime.errors import unwritable_problem
from actors._runtime.messages import Event
from actors._runtime.trading import TradingState, TradingStateChanged
from supervisor.errors import InvalidTransition
from supervisor.halts import HaltsStore
from supervisor.killswitch import KillSwitch
from supervisor.trading_state import Source

PAD = {"pad": "x" * 50_000}  # a row that needs pages the capped file cannot give


def _cap(ks: KillSwitch, *, full: bool) -> None:
    """Cap (or uncap) the store's file at its current size: SQLite's own SQLITE_FULL."""
    assert ks.store is not None
    conn: sqlite3.Connection = ks.store._conn  # the writer's own connection
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count={pages if full else 1_000_000_000}")


def test_sqlite_full_and_enospc_are_unwritable_other_errors_are_not(tmp_path: Path) -> None:
    """The classifier names a full disk (SQLite's and the OS's) and nothing else."""
    conn = sqlite3.connect(tmp_path / "x.sqlite")
    conn.execute("CREATE TABLE t (v BLOB)")
    conn.execute("PRAGMA max_page_count=2")
    with pytest.raises(sqlite3.Error) as full:
        conn.execute("INSERT INTO t VALUES (?)", (b"x" * 100_000,))
    assert (unwritable_problem(full.value) or "").startswith("SQLITE_FULL")
    assert unwritable_problem(OSError(errno.ENOSPC, "No space left on device")) == (
        "ENOSPC: No space left on device")
    wrapped = RuntimeError("commit failed")
    wrapped.__cause__ = OSError(errno.EROFS, "Read-only file system")
    assert (unwritable_problem(wrapped) or "").startswith("EROFS")
    with pytest.raises(sqlite3.Error) as syntax:
        conn.execute("SELEC 1")
    assert unwritable_problem(syntax.value) is None
    assert unwritable_problem(OSError(errno.ECONNRESET, "reset")) is None


def test_a_halt_holds_in_memory_and_its_row_is_written_once_the_store_takes_writes(
    tmp_path: Path,
) -> None:
    """HALTED takes effect (published) with the store full; a resume is refused while the row
    is pending; once the store writes, the pending row lands first, then the resume's."""
    published: list[Event] = []
    ks = KillSwitch(tmp_path, published.append)
    ks.open()
    try:
        _cap(ks, full=True)
        event = ks.change(TradingState.HALTED, source=Source.SUPERVISOR, who="supervisor",
                          reason="state unwritable", payload=PAD)
        assert ks.state is TradingState.HALTED
        assert event.row_hash == ""
        assert ks.unwritable is not None
        assert ks.unwritable.startswith("SQLITE_FULL")
        assert [e.state for e in published if isinstance(e, TradingStateChanged)] == [
            TradingState.HALTED]
        with pytest.raises(InvalidTransition, match="cannot write"):
            ks.change(TradingState.ACTIVE, source=Source.OPERATOR, who="op", reason="go")
        assert ks.state is TradingState.HALTED
        ks.retry_unpersisted()  # still full: stays pending, no error
        assert len(ks.unpersisted) == 1

        _cap(ks, full=False)
        ks.retry_unpersisted()
        assert not ks.unpersisted
        assert ks.unwritable is None
        ks.change(TradingState.ACTIVE, source=Source.OPERATOR, who="op", reason="space freed")
    finally:
        ks.close()
    store = HaltsStore.open(tmp_path / "halts.sqlite")
    try:
        rows = [(r.state, r.reason) for r in store.rows() if r.state is not None]
        assert store.verified().ok
    finally:
        store.close()
    assert rows[-2:] == [(TradingState.HALTED, "state unwritable"),
                         (TradingState.ACTIVE, "space freed")]
