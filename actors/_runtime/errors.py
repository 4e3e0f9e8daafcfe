"""Errors of the actor runtime, named for what happened."""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path


class StateUnreadable(Exception):
    """An actor's persisted state cannot be trusted: the actor refuses to start from it.

    Raised by the runtime for a state file SQLite cannot read or a row that does not decode,
    and by an actor's ``restore`` for state that contradicts what it can see (execution with no
    book while its venue holds positions). The runtime logs it as one ``state_unreadable`` line
    naming the file, the problem and the remedy, never as a traceback.
    """

    def __init__(self, path: Path | str, problem: str, remedy: str) -> None:
        """Name the file, what is wrong with it, and what an operator can do."""
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem
        self.remedy = remedy


class StoreUnwritable(Exception):
    """A state file cannot be written (disk full, read-only, permission denied).

    The write was rolled back and nothing it guarded was acknowledged or sent. The process
    exits with ``ExitCode.STORE_UNWRITABLE``: the supervisor halts trading, alerts, and starts
    it again only once the state directory takes writes (never counted as a crash loop).
    """

    def __init__(self, path: Path | str, problem: str) -> None:
        """Name the file (or the state directory) and the error."""
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


# SQLite's primary result codes for a write the file system refused (``sqlite3`` gives them as
# ``sqlite_errorcode``; an extended code carries the primary one in its low byte).
_SQLITE_UNWRITABLE = {3: "SQLITE_PERM", 8: "SQLITE_READONLY", 10: "SQLITE_IOERR",
                      13: "SQLITE_FULL", 14: "SQLITE_CANTOPEN"}
_OS_UNWRITABLE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EIO})


def unwritable_problem(exc: BaseException) -> str | None:
    """What made a write fail for want of a writable disk, or None for any other error.

    Looks through the exception's causes, so a wrapped ``ENOSPC`` counts too.
    """
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, StoreUnwritable):
            return cur.problem
        code = getattr(cur, "sqlite_errorcode", None)
        if isinstance(cur, sqlite3.Error) and isinstance(code, int):
            name = _SQLITE_UNWRITABLE.get(code & 0xFF)
            if name is not None:
                return f"{name}: {cur}"
        if isinstance(cur, OSError) and cur.errno in _OS_UNWRITABLE:
            return f"{errno.errorcode[cur.errno]}: {cur.strerror or cur}"
        cur = cur.__cause__ or cur.__context__
    return None
