"""A real tree restarted on a state directory whose stores were lost: it comes back HALTED (or
the actor refuses to start), says why, and only an operator's resume lifts it."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import msgspec
import pytest

from actors._runtime.store import read_snapshot
from actors.execution.actor import Book
from supervisor.admin_messages import CommandReply, HaltRequest, ResumeRequest
from supervisor.cli import main
from supervisor.client import request
from tests.support.tree import TreeRun
from tests.support.venue import PAPER, venue_counts, venue_total

ONE_WAY = PAPER.replace("quantity = 1.0", 'quantity = 0.01\nside = "SELL"')


def _drop(path: Path) -> None:
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        p.unlink(missing_ok=True)


@pytest.mark.parametrize("damage", ["deleted", "zero-byte", "older-copy"])
def test_a_lost_halts_store_does_not_turn_a_halt_into_trading(
    tmp_path: Path, damage: str
) -> None:
    """The issue's own drill: halt, stop, lose the halts store, start: HALTED, not ACTIVE."""
    first = TreeRun(tmp_path, PAPER)
    try:
        first.wait_started()
        halts = first.state_dir / "halts.sqlite"
        if damage == "older-copy":  # a copy taken while the tree was still ACTIVE
            time.sleep(0.3)
            shutil.copyfile(halts, tmp_path / "old.sqlite")
        reply = request(first.run_dir, HaltRequest(reason="incident", who="pytest"), timeout_s=5)
        assert isinstance(reply, CommandReply), reply
        time.sleep(0.5)  # the journal records the change
    finally:
        first.stop()
    _drop(halts)
    if damage == "zero-byte":
        halts.write_bytes(b"")
    elif damage == "older-copy":
        shutil.copyfile(tmp_path / "old.sqlite", halts)
    before = venue_total(first.state_dir)
    second = TreeRun(tmp_path, PAPER)
    try:
        second.wait_started()
        status = second.status()
        assert status.trading_state == "HALTED"
        assert any("halts.sqlite" in p for p in status.state_lost), status.state_lost
        second.wait_for("alert", lambda ln: ln.get("kind") == "StateLost", timeout=10)
        time.sleep(0.5)
        assert venue_total(second.state_dir) == before
        reply = request(second.run_dir, ResumeRequest(reason="checked the venue", who="pytest"),
                        timeout_s=5)
        assert isinstance(reply, CommandReply), reply
        assert second.status().trading_state == "ACTIVE"
    finally:
        second.stop()


def test_execution_refuses_to_start_with_no_book_while_the_venue_holds_positions(
    tmp_path: Path,
) -> None:
    """Execution's state deleted after fills at the paper venue: it will not trade on an empty
    book; the start fails with one line naming the file and the remedy, no traceback."""
    first = TreeRun(tmp_path, ONE_WAY)  # sells only: the fills never net to no position
    try:
        first.wait_started()
        deadline = time.monotonic() + 30
        while venue_counts(first.state_dir).get("FILLED", 0) == 0:
            assert time.monotonic() < deadline, "no order filled at the paper venue"
            time.sleep(0.1)
    finally:
        first.stop()
    _drop(first.state_dir / "execution.sqlite")
    second = TreeRun(tmp_path, ONE_WAY)
    try:
        line = second.wait_for("state_unreadable", timeout=30)
        assert "execution.sqlite" in line["path"]
        assert "venue holds positions" in line["problem"]
        assert second.wait_exit(timeout=30) != 0
        assert not any("Traceback" in raw for raw in second.raw)
    finally:
        second.stop()


def _holds_a_position(copy: Path, live_path: Path) -> bool:
    """Copy execution's live store to ``copy`` (consistently, as a backup tool does); whether
    the copy's book holds a position."""
    copy.unlink(missing_ok=True)
    live, older = sqlite3.connect(live_path), sqlite3.connect(copy)
    try:
        live.backup(older)
    finally:
        older.close()
        live.close()
    book = msgspec.msgpack.decode(read_snapshot(copy)["book"], type=Book)
    return bool(book.portfolio.signed())


def test_an_older_copy_of_executions_store_halts_on_the_positions_mismatch(
    tmp_path: Path,
) -> None:
    """Execution's file put back from an earlier copy: after reconciling, its positions are not
    the paper venue's, so the tree goes HALTED (source execution) naming both figures, and no
    order is sent on the stale book."""
    assert ONE_WAY != PAPER
    first = TreeRun(tmp_path, ONE_WAY)
    copy = tmp_path / "execution-older.sqlite"
    try:
        first.wait_started()
        deadline = time.monotonic() + 30
        while venue_total(first.state_dir) < 5:
            assert time.monotonic() < deadline, "no order reached the paper venue"
            time.sleep(0.1)
        while not _holds_a_position(copy, first.state_dir / "execution.sqlite"):
            # A copy whose book holds nothing yet is "state lost" at the next start, not an
            # older book: on a loaded machine the first fills may not be booked yet.
            assert time.monotonic() < deadline, "execution booked no fill"
            time.sleep(0.1)
        at_copy = venue_total(first.state_dir)
        while venue_total(first.state_dir) < at_copy + 10:  # strategy only sells: it grows
            assert time.monotonic() < deadline, "the venue took no more orders"
            time.sleep(0.1)
    finally:
        first.stop()
    assert main(["state", "check", "--state-dir", str(first.state_dir)]) == 0
    _drop(first.state_dir / "execution.sqlite")
    shutil.copyfile(copy, first.state_dir / "execution.sqlite")
    assert main(["state", "check", "--state-dir", str(first.state_dir)]) == 1
    second = TreeRun(tmp_path, ONE_WAY)
    try:
        second.wait_started()
        halted = second.wait_for(
            "trading_state_changed",
            lambda ln: ln.get("state") == "HALTED" and ln.get("source") == "execution",
            timeout=15,
        )
        assert "positions differ" in halted["reason"], halted
        assert "venue -" in halted["reason"], halted
        before = venue_total(second.state_dir)
        time.sleep(1.0)
        assert second.status().trading_state == "HALTED"
        assert venue_total(second.state_dir) == before
    finally:
        second.stop()
