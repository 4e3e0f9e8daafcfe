"""Tests of torn-line recovery: a bad last line is recorded, never repaired, and verify accepts
exactly what was recorded (actors/journal/torn.py with writer.py and verify.py)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from actors.journal.chain import format_line, make_entry
from actors.journal.errors import JournalCorrupted
from actors.journal.layout import day_path
from actors.journal.torn import MAX_TORN_RUN, TORN_EVENT
from actors.journal.verify import verify
from actors.journal.writer import JournalWriter

from .helpers import DAY1, DAY2, at, build, lines, location


def _append_raw(root: Path, day: str, data: bytes) -> None:
    with day_path(root, day).open("ab") as handle:
        handle.write(data)


def test_a_torn_last_line_is_recorded_not_repaired(root: Path) -> None:
    """A partial last line stays byte for byte; only its newline is added; a TornEntryDetected
    entry preserving its bytes follows and links to the last good entry; verify is ok and
    lists the torn line."""
    written = build(root, {DAY1: 3})
    torn = b"- 000004 | 2026-11-23T09:00:03.0000"
    _append_raw(root, DAY1, torn)
    before = day_path(root, DAY1).read_bytes()

    journal = JournalWriter(root)
    record = journal.open(at=at(DAY1, 10))
    assert record is not None
    after_recovery = day_path(root, DAY1).read_bytes()
    nxt = journal.append("OrderFilled", {"qty": 1}, at=at(DAY1, 11))
    journal.close()

    assert record.event == TORN_EVENT
    assert (record.seq, record.prev) == (4, written[-1].hash)
    (item,) = record.fields["torn"]
    assert item["location"] == location(DAY1, 6)
    assert item["length"] == len(torn)
    assert base64.b64decode(item["base64"]) == torn
    assert "no trailing newline" in item["reason"]
    # The old content is untouched except for one newline; the record starts its own line.
    assert after_recovery.startswith(before + b"\n" + format_line(record).encode() + b"\n")
    assert (nxt.seq, nxt.prev) == (5, record.hash)
    report = verify(root)
    assert report.ok, report.problem
    assert report.torn_entries == [location(DAY1, 6)]
    assert report.entries_checked == 5


def test_a_complete_entry_missing_only_its_newline_is_recorded_too(root: Path) -> None:
    """No trailing newline counts as torn even if the bytes parse: it is recorded, the chain
    continues from the entry before it, and verify accepts that."""
    written = build(root, {DAY1: 2})
    complete = make_entry(3, "2026-11-23T09:00:02.000000Z", "OrderFilled", {}, written[-1].hash)
    _append_raw(root, DAY1, format_line(complete).encode())
    with JournalWriter(root) as journal:
        assert journal.head.seq == 3
        assert journal.head.hash != complete.hash
    report = verify(root)
    assert report.ok, report.problem
    assert report.torn_entries == [location(DAY1, 5)]


def test_garbage_bytes_from_a_power_cut_are_recorded(root: Path) -> None:
    """A tail of NUL and non-ASCII bytes (what a power cut can leave) is preserved exactly."""
    build(root, {DAY1: 1})
    garbage = b"\x00\x00\xff\xfe- 00"
    _append_raw(root, DAY1, garbage)
    journal = JournalWriter(root)
    record = journal.open(at=at(DAY1, 10))
    journal.close()
    assert record is not None
    assert base64.b64decode(record.fields["torn"][0]["base64"]) == garbage
    report = verify(root)
    assert report.ok, report.problem
    assert report.torn_entries == [location(DAY1, 4)]


def test_reopening_after_recovery_records_nothing_more(root: Path) -> None:
    """Recovery is done once: a second open sees a good last line and records nothing."""
    build(root, {DAY1: 1})
    _append_raw(root, DAY1, b"- 0000")
    first = JournalWriter(root)
    assert first.open(at=at(DAY1, 10)) is not None
    first.close()
    content = day_path(root, DAY1).read_bytes()
    second = JournalWriter(root)
    assert second.open(at=at(DAY1, 11)) is None
    second.close()
    assert day_path(root, DAY1).read_bytes() == content


def test_a_torn_record_is_recorded_with_the_line_it_was_recording(root: Path) -> None:
    """Crash during recovery itself: the next open records both bad lines in one entry."""
    build(root, {DAY1: 2})
    _append_raw(root, DAY1, b"- 000003 | 20")
    journal = JournalWriter(root)
    record = journal.open(at=at(DAY1, 10))
    journal.close()
    assert record is not None
    # Simulate the record's own write being cut: drop its last 40 bytes (and its newline).
    content = day_path(root, DAY1).read_bytes()
    day_path(root, DAY1).write_bytes(content[:-41])
    second = JournalWriter(root)
    again = second.open(at=at(DAY1, 11))
    second.close()
    assert again is not None
    assert [item["location"] for item in again.fields["torn"]] == [
        location(DAY1, 5),
        location(DAY1, 6),
    ]
    report = verify(root)
    assert report.ok, report.problem
    assert report.torn_entries == [location(DAY1, 5), location(DAY1, 6)]


def test_torn_line_at_end_of_day_recorded_in_the_next_day_file(root: Path) -> None:
    """When recovery happens the next day, the record goes into the new day's file; the torn
    line in yesterday's file still gets its newline, and the chain spans both files."""
    written = build(root, {DAY1: 2})
    _append_raw(root, DAY1, b"- 000003 | 2026-11-23T23:59:59.9")
    journal = JournalWriter(root)
    record = journal.open(at=at(DAY2, 0, 5))
    journal.close()
    assert record is not None
    assert record.prev == written[-1].hash
    assert day_path(root, DAY1).read_bytes().endswith(b"23:59:59.9\n")
    assert lines(root, DAY2)[2] == format_line(record).encode() + b"\n"
    report = verify(root)
    assert report.ok, report.problem
    assert report.torn_entries == [location(DAY1, 5)]


def test_torn_first_entry_of_a_new_day_file(root: Path) -> None:
    """A crash during the first write into a fresh day file: resume looks back to yesterday."""
    written = build(root, {DAY1: 2})
    day_path(root, DAY2).write_bytes(f"# Quantfund journal {DAY2}\n\n- 000003 | 2".encode())
    journal = JournalWriter(root)
    record = journal.open(at=at(DAY2, 1))
    journal.close()
    assert record is not None
    assert (record.seq, record.prev) == (3, written[-1].hash)
    report = verify(root)
    assert report.ok, report.problem
    assert report.torn_entries == [location(DAY2, 3)]


def test_too_many_bad_lines_refuse_to_open(root: Path) -> None:
    """More bad lines than a crash can leave is corruption: open refuses rather than paper over
    it, and releases the lock so a person (or the verifier) can look."""
    build(root, {DAY1: 1})
    _append_raw(root, DAY1, b"garbage\n" * (MAX_TORN_RUN + 1))
    with pytest.raises(JournalCorrupted, match="bad lines"):
        JournalWriter(root).open()
    with pytest.raises(JournalCorrupted):
        JournalWriter(root).open()  # not JournalLocked: the failed open let go of the lock
