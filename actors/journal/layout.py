"""Day files on disk: where they live, their header, reading their lines, creating them.

``<root>/journal/YYYY-MM-DD.md``, one per UTC day that has entries. A file starts with the
header line ``# Quantfund journal YYYY-MM-DD`` and a blank line, which are not part of the chain;
every other line is an entry line. Locations are written relative to ``root``
(``journal/2026-11-23.md:17``) so they read the same on any machine.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import msgspec

JOURNAL_DIR = "journal"
"""Folder of the day files, under the state directory."""

LOCK_NAME = ".lock"
"""Lock file a writer holds (flock) while open."""

_DAY_FILE_RE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})\.md")


class RawLine(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One line of a day file as bytes, with where it is."""

    day: str
    """UTC date of the file (``YYYY-MM-DD``)."""
    number: int
    """1-based line number in the file (the header is line 1)."""
    raw: bytes
    """The line's bytes without the newline."""
    terminated: bool
    """False only for a last line with no trailing newline (a torn write)."""

    @property
    def location(self) -> str:
        """``journal/YYYY-MM-DD.md:N``."""
        return f"{file_location(self.day)}:{self.number}"


def journal_dir(root: Path) -> Path:
    """The folder holding the day files."""
    return root / JOURNAL_DIR


def day_path(root: Path, day: str) -> Path:
    """Path of one day's file."""
    return journal_dir(root) / f"{day}.md"


def file_location(day: str) -> str:
    """A day file's location relative to the state directory."""
    return f"{JOURNAL_DIR}/{day}.md"


def header_bytes(day: str) -> bytes:
    """The header line of a day file, without its newline."""
    return f"# Quantfund journal {day}".encode("ascii")


def list_days(root: Path) -> list[str]:
    """Dates that have a day file, oldest first; other names in the folder are ignored."""
    folder = journal_dir(root)
    if not folder.is_dir():
        return []
    days = [m.group(1) for p in folder.iterdir() if (m := _DAY_FILE_RE.fullmatch(p.name))]
    return sorted(days)


def split_lines(day: str, data: bytes) -> list[RawLine]:
    """The entry lines of a day file's content (the header and its blank line left out)."""
    if not data:
        return []
    parts = data.split(b"\n")
    terminated = data.endswith(b"\n")
    if terminated:
        parts.pop()  # the empty string after the final newline is not a line
    lines: list[RawLine] = []
    skip = 0
    if parts and parts[0] == header_bytes(day):
        skip = 2 if len(parts) > 1 and parts[1] == b"" else 1
    last = len(parts) - 1
    for index in range(skip, len(parts)):
        lines.append(
            RawLine(
                day=day,
                number=index + 1,
                raw=parts[index],
                terminated=terminated or index != last,
            )
        )
    return lines


def read_lines(root: Path, day: str) -> list[RawLine]:
    """The entry lines of one day file."""
    return split_lines(day, day_path(root, day).read_bytes())


def read_last_line(path: Path, block: int = 65536) -> bytes | None:
    """The file's last line if it is complete, by reading only its tail; None when unsure.

    None means "read the whole file": the file does not end with a newline, or the last line
    is longer than ``block`` bytes. Used so that opening a writer on a large day file costs one
    small read in the normal case.
    """
    with path.open("rb") as handle:
        size = handle.seek(0, os.SEEK_END)
        start = max(0, size - block)
        handle.seek(start)
        data = handle.read()
    if not data.endswith(b"\n"):
        return None
    cut = data.rfind(b"\n", 0, len(data) - 1)
    if cut == -1 and start > 0:
        return None
    return data[cut + 1 : -1]


def create_day_file(root: Path, day: str, *, durable: bool) -> Path:
    """Create a day file holding only its header, atomically; an existing file is kept as is.

    The header is written to a temporary file and hard-linked into place, so a crash never
    leaves a half-written header and an existing day file is never overwritten.
    """
    folder = journal_dir(root)
    path = day_path(root, day)
    tmp = folder / f".{day}.md.tmp"
    with tmp.open("wb") as handle:
        handle.write(header_bytes(day) + b"\n\n")
        handle.flush()
        if durable:
            os.fsync(handle.fileno())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    if durable:
        sync_dir(folder)
    return path


def sync_dir(folder: Path) -> None:
    """fsync a directory so a file created in it survives a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
