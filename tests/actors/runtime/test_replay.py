"""Bus replay's pure parts: which events a restarted subscriber is given, and the journal's
memory of what it already recorded."""

from __future__ import annotations

from pathlib import Path

from actors._runtime.replay import select
from actors.journal.recent import RecentIds, tail_msg_ids
from actors.journal.writer import FsyncPolicy, JournalWriter

RING = [(seq, b"A." if seq % 2 else b"B.", f"e{seq}".encode()) for seq in range(10, 21)]


def test_select_gives_the_range_after_the_position_up_to_the_ping() -> None:
    """Only events after ``after`` and up to ``until`` are replayed, in bus order."""
    events, evicted = select(RING, 12, 15, ("*",), 9)
    assert [e.seq for e in events] == [13, 14, 15]
    assert [e.data for e in events] == [b"e13", b"e14", b"e15"]
    assert evicted == 0


def test_select_filters_by_topic() -> None:
    """A subscriber gets only its topics back ("A" is the odd sequence numbers here)."""
    events, _ = select(RING, 9, 20, ("A",), 9)
    assert [e.seq for e in events] == [11, 13, 15, 17, 19]


def test_select_counts_what_the_ring_no_longer_holds() -> None:
    """A position older than the ring's evictions: the gap is counted, never hidden; sequence
    numbers the ring never held (pings) are not counted as lost."""
    events, evicted = select(RING, 4, 12, ("*",), 9)
    assert [e.seq for e in events] == [10, 11, 12]
    assert evicted == 5  # 5..9 are gone
    _, evicted = select(RING, 0, 3, ("*",), 9)
    assert evicted == 3  # all of 1..3 gone
    _, evicted = select([], 0, 1, ("*",), 0)
    assert evicted == 0  # a first start: seq 1 is the subscriber's own ping


def test_recent_ids_forget_the_oldest_beyond_the_bound() -> None:
    """The set is bounded and forgets in insertion order."""
    recent = RecentIds(["a", "b", "c"], keep=3)
    recent.add("d")
    assert "a" not in recent
    assert all(x in recent for x in "bcd")
    assert len(recent) == 3


def test_tail_msg_ids_reads_the_ids_the_journal_recorded(tmp_path: Path) -> None:
    """The ids come back from the day file in order, also when only its tail is read, and a
    nested ``msg_id`` inside a field's text is not mistaken for an entry's own."""
    with JournalWriter(tmp_path, fsync=FsyncPolicy.NONE) as journal:
        for i in range(200):
            journal.append("X", {"msg_id": f"id{i:03d}", "note": '"msg_id":"fake"'}, at=1e9 + i)
    ids = tail_msg_ids(tmp_path)
    assert ids == [f"id{i:03d}" for i in range(200)]
    tail = tail_msg_ids(tmp_path, tail_bytes=2000)
    assert 0 < len(tail) < 200
    assert tail == ids[-len(tail):]
    assert tail_msg_ids(tmp_path / "nothing") == []
