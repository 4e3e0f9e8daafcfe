"""Appending entries to the day files: resume after a crash, record torn lines, roll over days.

The writer owns ``<root>/journal/`` while open (an flock on ``journal/.lock`` keeps a second
writer out, since two writers would fork the chain). Old content is never rewritten: the only
byte ever added to a line already on disk is the newline that terminates a torn last line, so
that the ``TornEntryDetected`` record which preserves it starts on a line of its own.
"""

from __future__ import annotations

import enum
import fcntl
import os
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import msgspec

from actors.journal.chain import GENESIS, Entry, format_at, make_line
from actors.journal.errors import JournalCorrupted, JournalError, JournalLocked, JournalNotOpen
from actors.journal.layout import (
    LOCK_NAME,
    RawLine,
    create_day_file,
    day_path,
    journal_dir,
    list_days,
    read_last_line,
    read_lines,
)
from actors.journal.torn import MAX_TORN_RUN, TORN_EVENT, check_line, torn_fields

# fdatasync flushes the data and the size an append changes, skipping unrelated metadata; not
# every platform has it.
_datasync = getattr(os, "fdatasync", os.fsync)


class FsyncPolicy(enum.Enum):
    """When the writer forces appended entries to disk."""

    EVERY_ENTRY = "every_entry"
    """fsync after each append (the default): a returned entry survives a power cut."""
    BATCH = "batch"
    """fsync on `JournalWriter.flush`, on day rollover and on close; the caller decides when."""
    NONE = "none"
    """Never fsync; the OS writes back when it likes (a process crash still loses nothing)."""


class Head(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The end of the chain: the last good entry's sequence number and hash."""

    seq: int
    """0 before the first entry."""
    hash: str
    """`GENESIS` before the first entry."""


class JournalWriter:
    """Appends entries to the journal under ``root``; one instance per process, opened once.

    Usage::

        with JournalWriter(state_dir) as journal:      # open(): resume, record torn lines
            journal.append("OrderFilled", {"qty": 3}, at=time.time())
    """

    def __init__(self, root: Path, fsync: FsyncPolicy = FsyncPolicy.EVERY_ENTRY) -> None:
        """Prepare a writer; nothing is touched on disk until `open`.

        Args:
            root: The state directory; day files go in ``root / "journal"``.
            fsync: When to force entries to disk; `FsyncPolicy.EVERY_ENTRY` by default.
        """
        self._root = root
        self._policy = fsync
        self._head = Head(seq=0, hash=GENESIS)
        self._day: str | None = None
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._dirty = False
        self._failed: BaseException | None = None

    @property
    def head(self) -> Head:
        """The last good entry (seq and hash), which the next append links to."""
        self._require_open()
        return self._head

    @property
    def day(self) -> str | None:
        """The date of the day file appends go to now, or None before the first entry ever."""
        self._require_open()
        return self._day

    def open(self, at: float | None = None) -> Entry | None:
        """Lock the journal and resume from the last good entry; record torn lines, if any.

        Reads only the latest day file(s): normally just the tail of the latest one. When the
        last line(s) are bad (no trailing newline, unparseable, or a hash that does not match),
        they are left in place, the last one gets its missing newline, and a
        ``TornEntryDetected`` entry preserving their bytes is appended; it links to the last
        good entry, and the chain goes on from it.

        Args:
            at: Time (epoch seconds) of the ``TornEntryDetected`` entry; ``time.time()`` if None.

        Returns:
            The ``TornEntryDetected`` entry when one was recorded (worth an alert), else None.

        Raises:
            JournalLocked: Another writer has the journal open.
            JournalCorrupted: More than `MAX_TORN_RUN` bad lines at the tail.
        """
        if self._lock_fd is not None:
            raise JournalError("writer is already open")
        folder = journal_dir(self._root)
        folder.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _lock(folder / LOCK_NAME)
        try:
            head, bad, reasons = self._find_resume_point()
            days = list_days(self._root)
            self._head = head
            self._day = days[-1] if days else None
            self._failed = None
            if not bad:
                return None
            if not bad[-1].terminated:
                self._terminate(bad[-1])
            record = self.append(
                TORN_EVENT, torn_fields(bad, reasons), time.time() if at is None else at
            )
            if self._policy is not FsyncPolicy.NONE:
                self.flush()
        except BaseException:
            self.close()
            raise
        return record

    def append(self, event: str, fields: Mapping[str, Any], at: float) -> Entry:
        """Append one entry and return it (with its seq and hash).

        The entry goes to the day file of its UTC date, created when needed; if ``at`` falls
        before the current day file's date (a clock stepped back over midnight), it goes to the
        current file instead, so that file order always stays chain order.

        Args:
            event: Event name, past tense (``OrderFilled``).
            fields: JSON-encodable values; NaN and Infinity are refused.
            at: Time of the event, epoch seconds.

        Raises:
            InvalidJournalValue: The event name, a field or ``at`` cannot be journaled; nothing
                was written and the writer stays usable.
            JournalError: An earlier write failed; reopen the writer so it can recover.
            OSError: The write or fsync failed; the writer refuses further appends.
        """
        self._require_open()
        if self._failed is not None:
            raise JournalError("an earlier write failed; close and reopen to recover")
        entry, line = make_line(self._head.seq + 1, format_at(at), event, fields, self._head.hash)
        data = (line + "\n").encode("ascii")
        try:
            day = entry.day if self._day is None else max(entry.day, self._day)
            if day != self._day or self._fd is None:
                self._switch_to(day)
            assert self._fd is not None  # _switch_to opened it
            _write_all(self._fd, data)
            if self._policy is FsyncPolicy.EVERY_ENTRY:
                _datasync(self._fd)
            else:
                self._dirty = True
        except BaseException as exc:
            # The file may now end in a partial line: only a reopen may continue the chain.
            self._failed = exc
            raise
        self._head = Head(seq=entry.seq, hash=entry.hash)
        return entry

    def flush(self) -> None:
        """Force what was appended so far to disk (the `FsyncPolicy.BATCH` commit point)."""
        self._require_open()
        if self._fd is not None and self._dirty:
            _datasync(self._fd)
            self._dirty = False

    def close(self) -> None:
        """Flush (unless the policy is ``none``), close the day file and release the lock."""
        try:
            if self._fd is not None and self._dirty and self._policy is not FsyncPolicy.NONE:
                _datasync(self._fd)
        finally:
            self._dirty = False
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if self._lock_fd is not None:
                os.close(self._lock_fd)  # closing the descriptor releases the flock
                self._lock_fd = None

    def __enter__(self) -> Self:
        """Open the writer."""
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the writer."""
        self.close()

    # --- internals -------------------------------------------------------------------------

    def _require_open(self) -> None:
        if self._lock_fd is None:
            raise JournalNotOpen("call open() first")

    def _find_resume_point(self) -> tuple[Head, list[RawLine], list[str]]:
        """The last good entry, and the bad lines after it (oldest first) with their reasons."""
        bad: list[RawLine] = []
        reasons: list[str] = []
        for day in reversed(list_days(self._root)):
            if not bad:
                fast = _good_last_line(self._root, day)
                if fast is not None:
                    return Head(seq=fast.seq, hash=fast.hash), [], []
            for line in reversed(read_lines(self._root, day)):
                checked = check_line(line)
                if isinstance(checked, Entry):
                    bad.reverse()
                    reasons.reverse()
                    return Head(seq=checked.seq, hash=checked.hash), bad, reasons
                bad.append(line)
                reasons.append(checked)
                if len(bad) > MAX_TORN_RUN:
                    raise JournalCorrupted(
                        f"more than {MAX_TORN_RUN} bad lines at the end of the journal (up to "
                        f"{line.location}); a crash leaves one: run the verifier and inspect"
                    )
        bad.reverse()
        reasons.reverse()
        return Head(seq=0, hash=GENESIS), bad, reasons

    def _terminate(self, line: RawLine) -> None:
        """Add the newline a torn last line lacks: the only byte ever added to old content."""
        fd = os.open(day_path(self._root, line.day), os.O_WRONLY | os.O_APPEND)
        try:
            _write_all(fd, b"\n")
            if self._policy is not FsyncPolicy.NONE:
                _datasync(fd)
        finally:
            os.close(fd)

    def _switch_to(self, day: str) -> None:
        """Make ``day``'s file the one appends go to, creating it (with its header) if needed."""
        if self._fd is not None:
            if self._dirty and self._policy is FsyncPolicy.BATCH:
                # flush() only reaches the current file; commit the old day before leaving it.
                _datasync(self._fd)
            self._dirty = False
            os.close(self._fd)
            self._fd = None
        path = day_path(self._root, day)
        if not path.exists():
            create_day_file(self._root, day, durable=self._policy is not FsyncPolicy.NONE)
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        self._day = day


def _good_last_line(root: Path, day: str) -> Entry | None:
    """The day file's last entry if it is good, reading only the file's tail; else None."""
    raw = read_last_line(day_path(root, day))
    if raw is None:
        return None
    checked = check_line(RawLine(day=day, number=0, raw=raw, terminated=True))
    return checked if isinstance(checked, Entry) else None


def _lock(path: Path) -> int:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise JournalLocked(f"{path} is held by another journal writer") from exc
    return fd


def _write_all(fd: int, data: bytes) -> None:
    """Write every byte; one write() call in practice, so a line lands whole or torn once."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]
