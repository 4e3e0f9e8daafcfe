"""Tests of actors/journal/writer.py: appending, day rollover, resume, lock, fsync policy."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import actors.journal.writer as writer_module
from actors.journal.chain import GENESIS, hash_matches, parse_raw
from actors.journal.errors import (
    InvalidJournalValue,
    JournalError,
    JournalLocked,
    JournalNotOpen,
)
from actors.journal.layout import day_path
from actors.journal.verify import verify
from actors.journal.writer import FsyncPolicy, Head, JournalWriter

from .helpers import DAY1, DAY2, DAY3, at, build, lines


def test_first_entry_starts_the_chain_in_a_new_day_file(root: Path) -> None:
    """The first entry is seq 1 linking to GENESIS, in a file created with its header."""
    with JournalWriter(root) as journal:
        assert journal.head == Head(seq=0, hash=GENESIS)
        entry = journal.append("JournalStarted", {"version": 1}, at=at(DAY1))
        assert journal.head == Head(seq=1, hash=entry.hash)
    assert entry.seq == 1
    assert entry.prev == GENESIS
    assert lines(root, DAY1)[:2] == [f"# Quantfund journal {DAY1}\n".encode(), b"\n"]
    assert parse_raw(lines(root, DAY1)[2].rstrip(b"\n")) == entry


def test_round_trip_through_the_file(root: Path) -> None:
    """What append returns is exactly what is read back from the file, hash included."""
    written = build(root, {DAY1: 5})
    parsed = [parse_raw(raw.rstrip(b"\n")) for raw in lines(root, DAY1)[2:]]
    assert parsed == written
    assert all(hash_matches(entry) for entry in parsed)


def test_chain_continues_across_midnight(root: Path) -> None:
    """Entries either side of midnight UTC land in their own day files, still one chain."""
    with JournalWriter(root) as journal:
        before = journal.append("OrderSent", {"id": 1}, at=at(DAY1, 23, 59, 59, 999_000))
        after = journal.append("OrderFilled", {"id": 1}, at=at(DAY2, 0, 0, 0, 1_000))
    assert before.at == f"{DAY1}T23:59:59.999000Z"
    assert after.at == f"{DAY2}T00:00:00.001000Z"
    assert parse_raw(lines(root, DAY1)[-1].rstrip(b"\n")) == before
    assert parse_raw(lines(root, DAY2)[2].rstrip(b"\n")) == after
    assert after.prev == before.hash
    assert after.seq == before.seq + 1
    report = verify(root)
    assert report.ok, report.problem
    assert (report.entries_checked, report.days_checked) == (2, 2)


def test_resume_after_reopen(root: Path) -> None:
    """A reopened writer continues from the last entry on disk: next seq, prev = last hash."""
    written = build(root, {DAY1: 3, DAY2: 4})
    with JournalWriter(root) as journal:
        assert journal.head == Head(seq=7, hash=written[-1].hash)
        assert journal.day == DAY2
        nxt = journal.append("OrderFilled", {"qty": 1}, at=at(DAY2, 18))
    assert (nxt.seq, nxt.prev) == (8, written[-1].hash)
    assert verify(root).ok


def test_resume_skips_a_day_file_that_holds_only_its_header(root: Path) -> None:
    """A crash right after a new day file was created leaves a header-only file; resume looks
    back to the previous day for the last entry, and appends go on in the newest file."""
    written = build(root, {DAY1: 2})
    day_path(root, DAY2).write_bytes(f"# Quantfund journal {DAY2}\n\n".encode())
    with JournalWriter(root) as journal:
        assert journal.head.hash == written[-1].hash
        entry = journal.append("OrderFilled", {}, at=at(DAY2))
    assert parse_raw(lines(root, DAY2)[2].rstrip(b"\n")) == entry
    assert verify(root).ok


def test_clock_stepping_back_over_midnight_keeps_file_order(root: Path) -> None:
    """An entry dated before the current day file goes into the current file (chain order =
    file order); its time text stays the true (earlier) time."""
    with JournalWriter(root) as journal:
        journal.append("A", {}, at=at(DAY2, 0, 0, 1))
        late = journal.append("B", {}, at=at(DAY1, 23, 59, 59))
    assert not day_path(root, DAY1).exists()
    assert parse_raw(lines(root, DAY2)[-1].rstrip(b"\n")) == late
    assert verify(root).ok


def test_days_without_entries_have_no_file(root: Path) -> None:
    """Rollover creates a file only for a day that gets an entry; the chain skips empty days."""
    with JournalWriter(root) as journal:
        journal.append("A", {}, at=at(DAY1))
        journal.append("B", {}, at=at(DAY3))
    assert not day_path(root, DAY2).exists()
    assert verify(root).ok


def test_a_second_writer_is_locked_out(root: Path) -> None:
    """Two writers would fork the chain: the second open fails until the first closes."""
    first = JournalWriter(root)
    first.open()
    try:
        with pytest.raises(JournalLocked):
            JournalWriter(root).open()
    finally:
        first.close()
    with JournalWriter(root) as again:
        assert again.head.seq == 0


def test_use_before_open_is_an_error(root: Path) -> None:
    """append/head before open() (or after close()) raise JournalNotOpen, not a bare crash."""
    journal = JournalWriter(root)
    with pytest.raises(JournalNotOpen):
        journal.append("A", {}, at=at(DAY1))
    journal.open()
    journal.close()
    with pytest.raises(JournalNotOpen):
        _ = journal.head


def test_a_refused_value_leaves_the_writer_usable(root: Path) -> None:
    """NaN is refused with nothing written; the next append still gets the next seq."""
    with JournalWriter(root) as journal:
        journal.append("A", {}, at=at(DAY1))
        with pytest.raises(InvalidJournalValue, match="NaN"):
            journal.append("PriceSeen", {"px": float("nan")}, at=at(DAY1))
        with pytest.raises(InvalidJournalValue, match="finite"):
            journal.append("PriceSeen", {}, at=float("inf"))
        entry = journal.append("B", {}, at=at(DAY1))
    assert entry.seq == 2
    assert len(lines(root, DAY1)) == 4
    assert verify(root).ok


def test_a_failed_write_stops_appends_until_reopen(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an OSError mid-write the file may end in a partial line, so the writer refuses to
    continue; a reopen records the torn line and resumes."""
    journal = JournalWriter(root)
    journal.open()
    journal.append("A", {}, at=at(DAY1))

    def half_then_fail(fd: int, data: bytes) -> None:
        os.write(fd, data[:10])
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writer_module, "_write_all", half_then_fail)
    with pytest.raises(OSError, match="No space"):
        journal.append("B", {}, at=at(DAY1))
    monkeypatch.undo()
    with pytest.raises(JournalError, match="earlier write failed"):
        journal.append("C", {}, at=at(DAY1))
    journal.close()
    with JournalWriter(root) as reopened:
        assert reopened.head.seq == 2  # seq 2 is the TornEntryDetected record
    report = verify(root)
    assert report.ok, report.problem
    assert report.torn_entries == [f"journal/{DAY1}.md:4"]


class _SyncCounter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, fd: int) -> None:
        self.calls += 1


@pytest.mark.parametrize(
    ("policy", "after_appends", "after_flush", "after_close"),
    [
        (FsyncPolicy.EVERY_ENTRY, 3, 3, 3),
        (FsyncPolicy.BATCH, 0, 1, 1),
        (FsyncPolicy.NONE, 0, 1, 1),
    ],
)
def test_fsync_policy_decides_when_entries_are_forced_to_disk(
    root: Path,
    monkeypatch: pytest.MonkeyPatch,
    policy: FsyncPolicy,
    after_appends: int,
    after_flush: int,
    after_close: int,
) -> None:
    """every_entry syncs each append; batch only on flush; none never on its own (an explicit
    flush() still syncs what is pending, and close() then has nothing left to sync)."""
    counter = _SyncCounter()
    monkeypatch.setattr(writer_module, "_datasync", counter)
    journal = JournalWriter(root, fsync=policy)
    journal.open()
    for i in range(3):
        journal.append("A", {"i": i}, at=at(DAY1))
    assert counter.calls == after_appends
    journal.flush()
    assert counter.calls == after_flush
    journal.close()
    assert counter.calls == after_close


def test_batch_policy_syncs_the_old_day_on_rollover(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """flush() only reaches the current file, so batch mode commits a day before leaving it."""
    counter = _SyncCounter()
    monkeypatch.setattr(writer_module, "_datasync", counter)
    with JournalWriter(root, fsync=FsyncPolicy.BATCH) as journal:
        journal.append("A", {}, at=at(DAY1))
        journal.append("B", {}, at=at(DAY2))
        assert counter.calls == 1


def test_policy_is_mapped_from_its_config_value() -> None:
    """Config spells the policy as every_entry / batch / none."""
    assert [FsyncPolicy(v) for v in ("every_entry", "batch", "none")] == list(FsyncPolicy)
    with pytest.raises(ValueError, match="sometimes"):
        FsyncPolicy("sometimes")
