"""Shared helpers of the journal tests: fixed dates, building a journal, editing its lines."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from actors.journal.chain import Entry
from actors.journal.layout import day_path
from actors.journal.writer import FsyncPolicy, JournalWriter

DAY1 = "2026-11-23"
DAY2 = "2026-11-24"
DAY3 = "2026-11-25"
FIRST_ENTRY_LINE = 3
"""Line number of a day file's first entry (after the header and its blank line)."""


def at(day: str, hour: int = 12, minute: int = 0, second: int = 0, micro: int = 0) -> float:
    """Epoch seconds of a UTC wall-clock time on ``day``."""
    year, month, dom = (int(part) for part in day.split("-"))
    return datetime(year, month, dom, hour, minute, second, micro, tzinfo=UTC).timestamp()


def build(root: Path, per_day: dict[str, int]) -> list[Entry]:
    """Write ``per_day[day]`` entries on each day (in date order) and return them all."""
    written: list[Entry] = []
    with JournalWriter(root, fsync=FsyncPolicy.NONE) as journal:
        for day, count in sorted(per_day.items()):
            for i in range(count):
                fields = {"n": len(written) + 1, "qty": i, "side": "buy", "px": 101.25}
                written.append(journal.append("OrderFilled", fields, at=at(day, 9, 0, i)))
    return written


def lines(root: Path, day: str) -> list[bytes]:
    """The day file's lines with their newlines (index 0 is line 1)."""
    return day_path(root, day).read_bytes().splitlines(keepends=True)


def rewrite(root: Path, day: str, new_lines: list[bytes]) -> None:
    """Replace the day file's content with these lines."""
    day_path(root, day).write_bytes(b"".join(new_lines))


def location(day: str, number: int) -> str:
    """``journal/<day>.md:<number>``."""
    return f"journal/{day}.md:{number}"
