"""Tests of actors/journal/verify.py: each kind of tampering is found at the right file:line."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

from actors.journal.chain import format_line, make_entry, parse_raw
from actors.journal.errors import JournalChainBroken
from actors.journal.layout import day_path
from actors.journal.verify import day_final_hash, verify
from actors.journal.writer import JournalWriter

from .helpers import DAY1, DAY2, DAY3, FIRST_ENTRY_LINE, at, build, lines, location, rewrite

# Line 7 of DAY1 holds seq 5 (entries start on line 3).
LINE = 7


@pytest.fixture
def journal(root: Path) -> Path:
    """Three consecutive days of 8 entries each (seq 1-8, 9-16, 17-24)."""
    build(root, {DAY1: 8, DAY2: 8, DAY3: 8})
    return root


def _broken_at(
    root: Path, where: str, *words: str, anchors: Mapping[str, str] | None = None
) -> None:
    report = verify(root, anchors=anchors)
    assert not report.ok
    assert report.first_break == where, report.problem
    assert report.problem is not None
    for word in words:
        assert word in report.problem, report.problem


def test_an_intact_journal_verifies(journal: Path) -> None:
    """A journal written only by the writer is ok; the report counts entries and days."""
    report = verify(journal)
    assert report.ok
    assert (report.entries_checked, report.days_checked) == (24, 3)
    assert (report.first_break, report.problem, report.torn_entries) == (None, None, [])
    assert report.last_seq == 24
    report.raise_if_broken()


def test_an_empty_state_directory_verifies(root: Path) -> None:
    """No journal yet is not a break (a fresh install)."""
    assert verify(root).ok


def test_edited_entry(journal: Path) -> None:
    """Changing a value in an entry breaks its hash, reported at that line."""
    content = lines(journal, DAY1)
    content[LINE - 1] = content[LINE - 1].replace(b'"qty":4', b'"qty":9')
    rewrite(journal, DAY1, content)
    _broken_at(journal, location(DAY1, LINE), "hash mismatch")


def test_edited_entry_with_recomputed_hash(journal: Path) -> None:
    """An edit whose own hash was recomputed is caught by the next entry's prev link."""
    content = lines(journal, DAY1)
    old = parse_raw(content[LINE - 1].rstrip(b"\n"))
    forged = make_entry(old.seq, old.at, old.event, {**old.fields, "qty": 99}, old.prev)
    content[LINE - 1] = format_line(forged).encode() + b"\n"
    rewrite(journal, DAY1, content)
    _broken_at(journal, location(DAY1, LINE + 1), "prev does not match")


def test_deleted_entry(journal: Path) -> None:
    """Removing a line leaves a seq gap, reported where the entry used to be."""
    content = lines(journal, DAY1)
    del content[LINE - 1]
    rewrite(journal, DAY1, content)
    _broken_at(journal, location(DAY1, LINE), "seq jumps from 4", "1 entries deleted")


def test_inserted_entry(journal: Path) -> None:
    """A copy of another entry slipped in is reported at the inserted line."""
    content = lines(journal, DAY1)
    content.insert(LINE - 1, content[FIRST_ENTRY_LINE - 1])
    rewrite(journal, DAY1, content)
    _broken_at(journal, location(DAY1, LINE), "inserted")


def test_inserted_forged_entry(journal: Path) -> None:
    """A forged entry that links to its predecessor is found at the next (real) entry."""
    content = lines(journal, DAY1)
    previous = parse_raw(content[LINE - 2].rstrip(b"\n"))
    forged = make_entry(previous.seq + 1, previous.at, "OrderFilled", {"x": 1}, previous.hash)
    content.insert(LINE - 1, format_line(forged).encode() + b"\n")
    rewrite(journal, DAY1, content)
    _broken_at(journal, location(DAY1, LINE + 1), "inserted or entries reordered")


def test_reordered_entries(journal: Path) -> None:
    """Swapping two lines is reported at the first of them."""
    content = lines(journal, DAY1)
    content[LINE - 1], content[LINE] = content[LINE], content[LINE - 1]
    rewrite(journal, DAY1, content)
    _broken_at(journal, location(DAY1, LINE), "seq jumps from 4 ")


def test_missing_day_file(root: Path) -> None:
    """Deleting a day file in the middle breaks the link from the previous day; the break is
    reported at the next day's first entry and says a day file is missing."""
    build(root, {DAY1: 3, DAY2: 3, DAY3: 3})
    day_path(root, DAY2).unlink()
    _broken_at(
        root,
        location(DAY3, FIRST_ENTRY_LINE),
        "a day file between 2026-11-23 and 2026-11-25 is missing",
        "3 entries missing",
    )


def test_missing_first_day_file(journal: Path) -> None:
    """Deleting the oldest day file: the journal no longer starts at seq 1."""
    day_path(journal, DAY1).unlink()
    _broken_at(journal, location(DAY2, FIRST_ENTRY_LINE), "starts at seq 9")


def test_cut_tail_of_a_middle_day(journal: Path) -> None:
    """Without anchors, a day whose last entries were cut is found at the next day's link."""
    rewrite(journal, DAY1, lines(journal, DAY1)[:-2])
    _broken_at(
        journal,
        location(DAY2, FIRST_ENTRY_LINE),
        "entries at the end of journal/2026-11-23.md were cut",
    )


def test_truncated_tail_found_only_with_anchors(journal: Path) -> None:
    """Cutting the end of the last day leaves a consistent chain; the day's anchor exposes it,
    reported just past the day's last remaining line."""
    anchors = {day: day_final_hash(journal, day) or "" for day in (DAY1, DAY2, DAY3)}
    assert "" not in anchors.values()
    assert verify(journal, anchors=anchors).ok
    rewrite(journal, DAY3, lines(journal, DAY3)[:-2])
    assert verify(journal).ok  # the limit of an unanchored chain
    _broken_at(journal, location(DAY3, 9), "anchor", anchors=anchors)


def test_missing_anchored_day(journal: Path) -> None:
    """A deleted last day leaves a consistent chain; its anchor says the file is missing."""
    anchors = {DAY3: day_final_hash(journal, DAY3) or ""}
    day_path(journal, DAY3).unlink()
    assert verify(journal).ok
    _broken_at(journal, f"journal/{DAY3}.md", "missing", anchors=anchors)


def test_unrecorded_torn_line(journal: Path) -> None:
    """A torn last line that no writer has recorded yet is a break at that line."""
    with day_path(journal, DAY3).open("ab") as handle:
        handle.write(b"- 000025 | 2026-11-2")
    _broken_at(journal, location(DAY3, 11), "no trailing newline", "not recorded")


def test_unrecorded_bad_line_in_the_middle(journal: Path) -> None:
    """A garbled line that is not followed by a TornEntryDetected record is a break."""
    content = lines(journal, DAY2)
    content.insert(LINE - 1, b"- 0000\n")
    rewrite(journal, DAY2, content)
    _broken_at(journal, location(DAY2, LINE), "malformed line", "not recorded")


def test_a_record_must_name_the_exact_bytes(root: Path) -> None:
    """A TornEntryDetected record whose saved bytes differ from the line does not excuse it."""
    build(root, {DAY1: 2})
    with day_path(root, DAY1).open("ab") as handle:
        handle.write(b"- 000003 | 2026")
    with JournalWriter(root) as journal:
        assert journal.head.seq == 3
    content = lines(root, DAY1)
    content[4] = b"- 000003 | 2027\n"  # the torn line changed after it was recorded
    rewrite(root, DAY1, content)
    _broken_at(root, location(DAY1, 5), "not recorded")


def test_raise_if_broken_names_the_break(journal: Path) -> None:
    """The report turns into JournalChainBroken carrying file:line, for callers that raise."""
    content = lines(journal, DAY2)
    del content[LINE - 1]
    rewrite(journal, DAY2, content)
    with pytest.raises(JournalChainBroken, match=f"journal/{DAY2}.md:{LINE}: seq jumps"):
        verify(journal).raise_if_broken()


def test_day_final_hash(journal: Path) -> None:
    """The anchor of a day is the hash of its last entry; None for a day without a file."""
    last = parse_raw(lines(journal, DAY2)[-1].rstrip(b"\n"))
    assert day_final_hash(journal, DAY2) == last.hash
    assert day_final_hash(journal, "2026-11-30") is None


def test_anchor_of_a_day_with_a_recorded_torn_tail(root: Path) -> None:
    """A torn line at the end of a day does not move the day's anchor, before or after the
    writer recorded it the next day: the anchor stays the last good entry's hash."""
    build(root, {DAY1: 2})
    with day_path(root, DAY1).open("ab") as handle:
        handle.write(b"- 000003 | 2")
    anchor = day_final_hash(root, DAY1)
    journal = JournalWriter(root)
    journal.open(at=at(DAY2))
    journal.close()
    assert day_final_hash(root, DAY1) == anchor
    assert verify(root, anchors={DAY1: anchor or ""}).ok
