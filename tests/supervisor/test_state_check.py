"""The start check over real state files: a lost, emptied, garbage or older store is never new."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import msgspec
import pytest

from actors._runtime.store import StateStore
from actors._runtime.trading import TradingState
from actors.journal.halts_seen import HALTS_SEEN_KEY, HaltsSeen
from actors.journal.writer import FsyncPolicy, JournalWriter
from supervisor import state_check
from supervisor.cli import main
from supervisor.halts import HaltsStore
from supervisor.trading_state import Source, transition

STORES = ["journal", "alerter", "heartbeat", "breaker", "execution", "orchestrator"]


def _kv(path: Path, writes: dict[str, bytes]) -> None:
    async def go() -> None:
        store = await StateStore.open(path)
        await store.commit(writes)
        await store.close()

    asyncio.run(go())


def _tree(state: Path, halts_rows: int = 2) -> None:
    """A state directory as a tree that ran and changed state leaves it."""
    store = HaltsStore.open(state / "halts.sqlite")
    current, last = TradingState.ACTIVE, None
    for i in range(halts_rows):
        target = TradingState.HALTED if current is TradingState.ACTIVE else TradingState.ACTIVE
        change = transition(current, target, source=Source.OPERATOR, reason=f"r{i}", at=1.0 + i)
        last = store.append_transition(change, who="t")
        current = target
    store.close()
    assert last is not None
    seen = HaltsSeen(last.seq, current.value, last.hash, "2026-12-02")
    _kv(state / "journal.sqlite", {HALTS_SEEN_KEY: msgspec.msgpack.encode(seen)})
    _kv(state / "breaker.sqlite", {"breaker": msgspec.msgpack.encode({"halted": True})})
    _kv(state / "execution.sqlite", {"book": msgspec.msgpack.encode({"portfolio": {}})})
    for name in ("alerter", "heartbeat", "orchestrator"):
        _kv(state / f"{name}.sqlite", {"x": msgspec.msgpack.encode(1)})
    sqlite3.connect(state / "alerter-outbox.sqlite").execute("CREATE TABLE alerts (n)").close()
    with JournalWriter(state, fsync=FsyncPolicy.NONE) as journal:
        journal.append("OrderFilled", {"i": 1}, at=1_764_633_600.0)


def _problems(state: Path) -> dict[str, str]:
    report = state_check.check(state, STORES, full=True)
    return {f.store: f.detail for f in report.problems()}


def test_a_fresh_directory_and_an_intact_tree_pass(tmp_path: Path) -> None:
    """No history anywhere is a new tree; a tree's own files hold."""
    assert state_check.check(tmp_path, STORES).ok
    _tree(tmp_path)
    assert _problems(tmp_path) == {}


@pytest.mark.parametrize("store", ["halts", *STORES])
@pytest.mark.parametrize("damage", ["deleted", "zero-byte", "random-bytes"])
def test_a_damaged_store_fails_where_there_is_history(
    tmp_path: Path, store: str, damage: str
) -> None:
    """Deleted, truncated to 0 bytes (SQLite would open it as new) or garbage, in the halts
    store or any actor's: each is named, and ``quantfund state check`` exits non-zero."""
    _tree(tmp_path)
    path = tmp_path / f"{store}.sqlite"
    for side in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        side.unlink(missing_ok=True)
    if damage == "deleted":
        path.unlink()
    elif damage == "zero-byte":
        path.write_bytes(b"")
    else:
        path.write_bytes(bytes(range(256)) * 16)
    found = _problems(tmp_path)
    assert store in found, found
    expect = {"deleted": "missing", "zero-byte": "empty", "random-bytes": "not an SQLite"}[damage]
    assert expect in found[store]
    assert main(["state", "check", "--state-dir", str(tmp_path)]) == 1


def test_an_older_copy_of_the_halts_store_is_behind_the_journal(tmp_path: Path) -> None:
    """A restored copy lacks the last row the journal recorded: the tree must not trust it."""
    _tree(tmp_path, halts_rows=1)
    (tmp_path / "later").mkdir()
    _tree(tmp_path / "later", halts_rows=2)
    # The journal saw row 2; put back a store that ends at row 1.
    shutil.copyfile(tmp_path / "later" / "journal.sqlite", tmp_path / "journal.sqlite")
    found = _problems(tmp_path)
    assert "behind the journal" in found["halts"]
    assert main(["halts", "verify", "--state-dir", str(tmp_path)]) == 1


@pytest.mark.parametrize("store", STORES)
def test_an_edited_row_fails(tmp_path: Path, store: str) -> None:
    """A value that no longer decodes, in any actor's store, is named by its key."""
    _tree(tmp_path)
    con = sqlite3.connect(tmp_path / f"{store}.sqlite")
    key = con.execute("SELECT key FROM kv ORDER BY key LIMIT 1").fetchone()[0]
    con.execute("UPDATE kv SET value = x'c1c1c1' WHERE key = ?", (key,))
    con.commit()
    con.close()
    assert f"'{key}' does not decode" in _problems(tmp_path)[store]
    assert main(["state", "check", "--state-dir", str(tmp_path)]) == 1


def test_state_check_cli_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``quantfund state check`` exits 0 on a sound directory and 1 with a store lost."""
    state = tmp_path / "s"
    state.mkdir()
    _tree(state)
    assert main(["state", "check", "--state-dir", str(state)]) == 0
    (state / "breaker.sqlite").unlink()
    assert main(["state", "check", "--state-dir", str(state)]) == 1
    assert "BAD breaker" in capsys.readouterr().out


def test_an_actor_store_with_no_rows_yet_is_not_lost(tmp_path: Path) -> None:
    """A tree killed young leaves an actor's file before its first row (the kill-supervisor
    drill): that is not lost state, so it must not halt the restarted tree."""
    _tree(tmp_path)
    con = sqlite3.connect(tmp_path / "orchestrator.sqlite")
    con.execute("DELETE FROM kv")
    con.commit()
    con.close()
    assert _problems(tmp_path) == {}
