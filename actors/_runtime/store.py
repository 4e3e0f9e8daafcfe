"""An actor's persisted state: a key-value table and a dedupe table in SQLite (WAL).

One file per actor, one writer (the actor process). Every change an actor makes while handling a
message is committed in one transaction before the message is acknowledged.

The connection is used from the event loop's own thread, and from the actor thread during a
hook that flushes (``BaseActor.flush``): the loop awaits every call into the actor thread, so
the two never use it at once. The runtime awaits every commit before it does anything else
(persist, then send), so a worker thread (aiosqlite) bought no concurrency;
it cost a thread hop, two wake-ups, per statement: four per commit, 0.1-0.2 ms each and far more
under CPU contention, against ~15 us for a NORMAL commit itself. The methods stay coroutines so
that callers need not change if a store ever needs a thread again; ``commit_now`` is the one
synchronous entry, for a flushing hook (a store with a thread of its own would have to block
the actor thread there until its commit is done).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# How many processed command ids are remembered for dedupe; older ones are pruned. A sender
# retries within seconds, so this bounds the table without weakening exactly-once in practice.
SEEN_KEEP = 10_000

# With synchronous=NORMAL a commit is in the OS's page cache when it returns: it survives the
# death of any process, and the WAL is fsynced only at checkpoints. A thread fsyncs the WAL at
# most this long after a commit, off the event loop, so that an OS crash or a power loss can
# take at most the last ~this many seconds of commits, not the kernel's writeback delay (~30 s).
# SQLite's WAL is a chain of checksummed frames: what survives is always a prefix of the
# commits, never a later one without an earlier one. See docs/adr/0004.
WAL_SYNC_INTERVAL_S = 0.05

# Checkpoints (copy the WAL into the file, fsync both) are the other fsyncs of a NORMAL store.
# SQLite runs them inside whichever commit crosses 1,000 WAL pages: a few-ms stall between a
# commit and the reply or broker call it guards, once in a few hundred commits, which is the
# p99 of a path of several commits. For a NORMAL store the runtime runs them instead between
# two messages (``checkpoint_if_due``, PASSIVE, in the writer's own connection so that it
# completes and the WAL restarts); the autocheckpoint stays as a backstop far above that.
CHECKPOINT_EVERY = 200
"""Commits between two checkpoints of a NORMAL store (~1,000 WAL pages, SQLite's default)."""
_BACKSTOP_PAGES = 8_000
_WAL_LIMIT_BYTES = 8 * 1024 * 1024

COLD_PREFIX = "cold/"
"""Keys under this prefix are committed like any other but not loaded at start (``load``):
state that only grows (execution's closed orders) is read back when asked for, so that a start
costs what is live, not the whole history."""
_COLD_END = COLD_PREFIX[:-1] + chr(ord(COLD_PREFIX[-1]) + 1)  # first key past the prefix

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS seen (
    n INTEGER PRIMARY KEY AUTOINCREMENT, msg_id TEXT UNIQUE NOT NULL, reply BLOB, at REAL NOT NULL
);
"""


class StateStore:
    """Access to one actor's SQLite state file."""

    def __init__(self, db: sqlite3.Connection, path: Path, *, wal_sync: bool = False) -> None:
        """Wrap an open connection; use ``StateStore.open``."""
        self._db = db
        self.path = path
        self.last_commit = time.monotonic()
        self._commits = 0
        self._syncer = _WalSyncer(path) if wal_sync else None
        self._since_check = 0

    @classmethod
    async def open(cls, path: Path, *, synchronous: str = "FULL") -> StateStore:
        """Open (creating if needed) the state file in WAL mode."""
        if synchronous not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        # Not bound to the opening thread: a flushing hook commits from the actor thread.
        db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={synchronous}")
        db.executescript(_SCHEMA)
        if synchronous == "NORMAL":
            db.execute(f"PRAGMA wal_autocheckpoint={_BACKSTOP_PAGES}")
            # A WAL that grew while checkpoints lagged is cut back when it restarts.
            db.execute(f"PRAGMA journal_size_limit={_WAL_LIMIT_BYTES}")
        return cls(db, path, wal_sync=synchronous == "NORMAL")

    async def load(self) -> tuple[dict[str, bytes], dict[str, bytes]]:
        """What a start needs: the key-value state but the ``COLD_PREFIX`` keys (a range the
        primary key skips), and the remembered command replies."""
        kv = {str(k): bytes(v) for k, v in self._db.execute(
            "SELECT key, value FROM kv WHERE key < ? OR key >= ?", (COLD_PREFIX, _COLD_END))}
        seen = {
            str(m): bytes(r or b"")
            for m, r in self._db.execute("SELECT msg_id, reply FROM seen ORDER BY n")
        }
        return kv, seen

    async def commit(
        self, writes: Mapping[str, bytes | None], seen: Mapping[str, bytes] | None = None
    ) -> None:
        """Apply ``writes`` (None deletes) and record ``seen`` replies in one transaction."""
        self.commit_now(writes, seen)

    def commit_now(
        self, writes: Mapping[str, bytes | None], seen: Mapping[str, bytes] | None = None
    ) -> None:
        """``commit``, from a thread with no event loop (a flushing hook on the actor thread)."""
        if not writes and not seen:
            return
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            puts = [(k, v) for k, v in writes.items() if v is not None]
            dels = [(k,) for k, v in writes.items() if v is None]
            if puts:
                db.executemany(
                    "INSERT INTO kv(key, value) VALUES(?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                    puts,
                )
            if dels:
                db.executemany("DELETE FROM kv WHERE key=?", dels)
            if seen:
                now = time.time()
                db.executemany(
                    "INSERT OR REPLACE INTO seen(msg_id, reply, at) VALUES(?, ?, ?)",
                    [(m, r, now) for m, r in seen.items()],
                )
                self._commits += 1
                if self._commits % 1000 == 0:
                    db.execute(
                        "DELETE FROM seen WHERE n <= (SELECT MAX(n) FROM seen) - ?", (SEEN_KEEP,)
                    )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self.last_commit = time.monotonic()
        if self._syncer is not None:
            self._syncer.commits += 1  # no wake-up here: the syncer looks on its own clock
            if self._syncer.pending_since is None:
                self._syncer.pending_since = self.last_commit
            self._since_check += 1

    def wal_unsynced_s(self, now: float) -> float:
        """How long the oldest commit not yet fsynced has waited at monotonic ``now`` (WAL
        fsync lag): 0 when all are synced, and always for a store synced at each commit."""
        since = None if self._syncer is None else self._syncer.pending_since
        return 0.0 if since is None else max(0.0, now - since)

    def checkpoint_if_due(self) -> None:
        """Between two messages: checkpoint a NORMAL store's WAL every ``CHECKPOINT_EVERY``
        commits (the WAL's file keeps its size when it restarts, so size cannot tell)."""
        if self._since_check >= CHECKPOINT_EVERY:
            self._since_check = 0
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    async def close(self) -> None:
        """Close the connection (a last checkpoint syncs what is left)."""
        if self._syncer is not None:
            self._syncer.stop()
        self._db.close()


class _WalSyncer(threading.Thread):
    """fsyncs a store's WAL soon after commits (``WAL_SYNC_INTERVAL_S``), never on the loop."""

    def __init__(self, path: Path) -> None:
        super().__init__(name="wal-sync", daemon=True)
        self.wal = path.with_name(path.name + "-wal")
        self.commits = 0
        self.pending_since: float | None = None
        """Monotonic time of the oldest commit not yet fsynced (None: all are)."""
        self._stopping = threading.Event()
        self.start()

    def run(self) -> None:
        synced = 0
        # On a clock of its own rather than woken by each commit: a wake-up right after a
        # commit would compete for the CPU (and the GIL) with the reply that commit guards.
        while not self._stopping.wait(WAL_SYNC_INTERVAL_S):
            if self.commits == synced:
                continue
            synced = self.commits  # one fsync for every commit of the interval
            started = time.monotonic()
            try:
                fd = os.open(self.wal, os.O_RDONLY)
            except FileNotFoundError:
                self.pending_since = None  # no WAL: a checkpoint synced it into the file
                continue
            try:
                os.fsync(fd)  # the file's data, whichever descriptor wrote it
            except OSError:
                continue  # SQLite's own sync at the next checkpoint still happens
            finally:
                os.close(fd)
            # Commits made during the fsync wait from (at latest) its start: the lag reported
            # errs long, never short, and a slow fsync shows while it lasts.
            self.pending_since = None if self.commits == synced else started

    def stop(self) -> None:
        self._stopping.set()
        self.join(timeout=1.0)


def connect_readonly(path: Path, **kwargs: Any) -> sqlite3.Connection:
    """A read-only connection to an SQLite file that must already exist (``mode=ro``): it can
    neither write to the file nor create a missing one. The path goes in as a ``file:`` URI,
    percent-encoded, so a directory named with ``?``, ``#`` or ``%`` is read, not misparsed.
    ``kwargs`` go to ``sqlite3.connect``."""
    con: sqlite3.Connection = sqlite3.connect(
        f"{path.absolute().as_uri()}?mode=ro", uri=True, **kwargs
    )
    return con


def read_snapshot(path: Path) -> dict[str, bytes]:
    """What a restart of the owner would load: read a copy of the file and its WAL.

    A reader of the live file can miss a transaction whose commit frame is in the WAL but not
    yet in the shared-memory index (the writer was stopped in between); crash recovery rebuilds
    the index from the WAL and does see it. Copying the file and the WAL, without the index,
    and opening the copy runs that same recovery, so the answer is exact. The owner must not be
    writing meanwhile (stopped or dead).
    """
    import shutil
    import sqlite3
    import tempfile

    with tempfile.TemporaryDirectory(prefix="qf-snap") as tmp:
        copy = Path(tmp) / path.name
        shutil.copyfile(path, copy)
        wal = path.with_name(path.name + "-wal")
        if wal.exists():
            shutil.copyfile(wal, copy.with_name(copy.name + "-wal"))
        con = sqlite3.connect(copy)
        try:
            return {str(k): bytes(v) for k, v in con.execute("SELECT key, value FROM kv")}
        finally:
            con.close()
