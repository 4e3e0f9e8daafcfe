"""Checking the whole journal: walk every day file's chain and name the first broken link.

Every entry must parse, match its own hash, follow the previous entry (``seq`` one more,
``prev`` equal to its hash), across day files. Bad lines are a break unless the
``TornEntryDetected`` record right after them names them byte for byte (then they are listed in
``torn_entries``). With anchors (date -> the day's final hash, published elsewhere) a cut tail
of a day, or a deleted anchored day, is found too; without them, anyone able to rewrite the
files can rebuild a consistent chain, which no unkeyed hash chain can prevent.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from datetime import date
from pathlib import Path

import msgspec

from actors.journal.chain import GENESIS, Entry
from actors.journal.errors import JournalChainBroken
from actors.journal.layout import RawLine, day_path, file_location, list_days, read_lines
from actors.journal.torn import MAX_TORN_RUN, check_line, claims


class VerifyReport(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What `verify` found."""

    ok: bool
    """True when no break was found."""
    entries_checked: int
    """Good entries on the chain up to the first break (or in all, when ok)."""
    days_checked: int
    """Day files read."""
    first_break: str | None
    """Where the chain first breaks: ``journal/YYYY-MM-DD.md:N`` (or just the file)."""
    problem: str | None
    """What is wrong there, in words."""
    torn_entries: list[str]
    """Locations of torn lines properly recorded by a ``TornEntryDetected`` entry."""
    last_seq: int = 0
    """Seq of the last good entry checked."""
    last_hash: str = GENESIS
    """Hash of the last good entry checked."""

    def raise_if_broken(self) -> None:
        """Raise `JournalChainBroken` naming the first break, if there is one."""
        if not self.ok:
            raise JournalChainBroken(f"{self.first_break}: {self.problem}")


class _Break(msgspec.Struct, frozen=True):
    location: str
    problem: str


class _Link(msgspec.Struct, frozen=True):
    """The end of the chain so far."""

    seq: int
    hash: str
    day: str | None
    location: str | None


class _Snapshot(msgspec.Struct, frozen=True):
    """The walk's state before a line, so a later torn record can roll back over that line."""

    link: _Link
    checked: int
    torn: int
    pending: int


class _Walk:
    """Follows the chain line by line over all day files, oldest first."""

    def __init__(self) -> None:
        self.link = _Link(seq=0, hash=GENESIS, day=None, location=None)
        self.checked = 0
        self.torn: list[str] = []
        self.pending: list[tuple[RawLine, str]] = []
        # A record can name at most MAX_TORN_RUN lines, all directly in front of it.
        self.window: deque[tuple[RawLine, _Snapshot]] = deque(maxlen=MAX_TORN_RUN)

    def feed(self, line: RawLine) -> _Break | None:
        """Take the next line; return the break it reveals, if any."""
        before = _Snapshot(self.link, self.checked, len(self.torn), len(self.pending))
        checked = check_line(line)
        if isinstance(checked, Entry):
            if not self._excused_by(checked, line):
                if self.pending:
                    return self.unexcused()
                problem = _link_problem(self.link, checked, line)
                if problem is not None:
                    return _Break(line.location, problem)
                self._accept(checked, line)
        else:
            self.pending.append((line, checked))
            if len(self.pending) > MAX_TORN_RUN:
                return self.unexcused()
        self.window.append((line, before))
        return None

    def unexcused(self) -> _Break | None:
        """The break made by the first bad line no torn record names, if any."""
        if not self.pending:
            return None
        line, reason = self.pending[0]
        if reason.startswith("hash mismatch"):
            return _Break(line.location, reason)
        return _Break(
            line.location,
            f"{reason}; not recorded by a TornEntryDetected entry (an unrecorded torn write, "
            "or the line was edited)",
        )

    def _excused_by(self, entry: Entry, line: RawLine) -> bool:
        """Accept ``entry`` if it is a torn record naming exactly the lines in front of it."""
        named = claims(entry)
        if named is None or len(named) > len(self.window):
            return False
        recent = list(self.window)[-len(named) :]
        for claim, (seen, _) in zip(named, recent, strict=True):
            if claim.location != seen.location or claim.raw != seen.raw:
                return False
        start = recent[0][1]
        if start.pending or _link_problem(start.link, entry, line) is not None:
            return False
        # Roll back over the named lines: they are off the chain, the record continues it.
        self.link = start.link
        self.checked = start.checked
        del self.torn[start.torn :]
        self.pending.clear()
        self.torn.extend(claim.location for claim in named)
        self._accept(entry, line)
        return True

    def _accept(self, entry: Entry, line: RawLine) -> None:
        self.link = _Link(seq=entry.seq, hash=entry.hash, day=line.day, location=line.location)
        self.checked += 1


def verify(root: Path, *, anchors: Mapping[str, str] | None = None) -> VerifyReport:
    """Check the journal under ``root`` and report the first broken link.

    Args:
        root: The state directory (day files are in ``root / "journal"``).
        anchors: Optional date (``YYYY-MM-DD``) -> that day's final hash, as published by
            `day_final_hash` somewhere the journal's writer cannot rewrite.

    Returns:
        A report; ``ok`` is False and ``first_break`` / ``problem`` say where and what when a
        break is found.
    """
    anchors = anchors or {}
    present = list_days(root)
    walk = _Walk()
    days_checked = 0
    found: _Break | None = None
    for day in sorted(set(present) | set(anchors)):
        if day not in present:
            found = _Break(
                file_location(day),
                f"day file {file_location(day)} is missing, but it has an anchor "
                f"(final hash {anchors[day]})",
            )
            break
        lines = read_lines(root, day)
        days_checked += 1
        for line in lines:
            found = walk.feed(line)
            if found is not None:
                break
        if found is None and day in anchors:
            found = _anchor_problem(day, lines, anchors[day])
        if found is not None:
            break
    if found is None:
        found = walk.unexcused()
    return VerifyReport(
        ok=found is None,
        entries_checked=walk.checked,
        days_checked=days_checked,
        first_break=None if found is None else found.location,
        problem=None if found is None else found.problem,
        torn_entries=list(walk.torn),
        last_seq=walk.link.seq,
        last_hash=walk.link.hash,
    )


def day_final_hash(root: Path, day: str) -> str | None:
    """The hash of the last entry in ``day``'s file that matches its own hash, to anchor it.

    Publish it once the day is over (after the first entry of the next day); `verify` with the
    anchor then notices entries cut from, or added to, the end of that day.

    Returns:
        The hash, or None when the file does not exist or holds no entry.
    """
    if not day_path(root, day).exists():
        return None
    entry = last_entry(read_lines(root, day))
    return None if entry is None else entry.hash


def last_entry(lines: list[RawLine]) -> Entry | None:
    """A day's last good entry: the one its anchor holds the hash of."""
    # Termination is ignored on purpose: a complete entry that lost only its newline in a crash
    # has the same final hash before and after the writer terminates it.
    for line in reversed(lines):
        checked = check_line(RawLine(line.day, line.number, line.raw, terminated=True))
        if isinstance(checked, Entry):
            return checked
    return None


def _anchor_problem(day: str, lines: list[RawLine], anchor: str) -> _Break | None:
    entry = last_entry(lines)
    final = GENESIS if entry is None else entry.hash
    if final == anchor:
        return None
    end = lines[-1].number + 1 if lines else 3
    return _Break(
        f"{file_location(day)}:{end}",
        f"the day ends with hash {final} but its anchor is {anchor}: entries were cut from "
        "(or added to) the end of the day",
    )


def _link_problem(link: _Link, entry: Entry, line: RawLine) -> str | None:
    """Why ``entry`` does not follow ``link``, or None when it does."""
    if entry.seq == link.seq + 1 and entry.prev == link.hash:
        return None
    if link.location is None:
        return (
            f"the journal starts at seq {entry.seq}, not 1 with prev=GENESIS: its first "
            "entries or day files are missing"
        )
    if link.day is not None and link.day != line.day and entry.seq > link.seq + 1:
        return _day_boundary_problem(link, entry, line)
    if entry.seq > link.seq + 1:
        return (
            f"seq jumps from {link.seq} ({link.location}) to {entry.seq}: "
            f"{entry.seq - link.seq - 1} entries deleted"
        )
    if entry.seq <= link.seq:
        return (
            f"seq {entry.seq} follows seq {link.seq} ({link.location}): entry inserted or "
            "entries reordered"
        )
    return (
        f"prev does not match the hash of the previous entry ({link.location}): that entry "
        "was replaced, or this one was inserted in its place"
    )


def _day_boundary_problem(link: _Link, entry: Entry, line: RawLine) -> str:
    assert link.day is not None  # only called across a day boundary
    previous = file_location(link.day)
    try:
        gap_days = (date.fromisoformat(line.day) - date.fromisoformat(link.day)).days - 1
    except ValueError:  # a file named like a day that is not a date (2026-11-99.md)
        gap_days = 1
    what = (
        f"a day file between {link.day} and {line.day} is missing (or the end of {previous} "
        "was cut)"
        if gap_days > 0
        else f"entries at the end of {previous} were cut"
    )
    missing = entry.seq - link.seq - 1
    return (
        f"chain broken at the first entry of {file_location(line.day)}: it does not link to "
        f"the last entry of {previous} ({link.location}, seq {link.seq}); "
        f"{missing} entries missing: {what}"
    )
