"""The halts store: the supervisor's append-only, hash-chained record of trading-state changes.

One SQLite file, one writer (the supervisor), stdlib ``sqlite3`` on the supervisor's loop. WAL
mode. By default ``synchronous=FULL``: a row is on disk before ``append`` returns (the CLI's
fallback writes this way). The supervisor opens it with ``synchronous=NORMAL`` and calls
``sync`` right after publishing, before it answers the operator (docs/adr/0006): a committed row
survives the death of any process at once, and a power loss once ``sync`` has returned. Either
way a halt is in the store before it is published, and a tree restarted after a halt reads
``HALTED`` back (DESIGN.md sections 3-4).

Rows carry ``seq`` (1..n, contiguous), ``at``, ``kind``, ``state`` (the trading state after the
row; null for rows that do not change it), ``source``, ``who``, ``reason``, ``payload`` (canonical
JSON), ``prev_hash`` and ``hash`` (see ``supervisor.halts_chain`` for what the hash covers).
Triggers refuse UPDATE, DELETE and any INSERT that does not take the next seq; that is defence in
depth only. Tampering that bypasses them (dropped triggers, an edited file) is what ``verify``
catches: ``PRAGMA integrity_check``, seq contiguous from 1, each ``prev_hash`` equal to the
previous row's hash, each hash recomputing.

Limitations, stated so nobody relies on more: a bare chain cannot see the *last* rows removed
(deleted, or lost by truncating an un-checkpointed ``-wal`` file), nor a suffix rewritten by
someone who recomputes the following hashes, nor the whole file deleted (``open`` then starts a
fresh store; ``HaltsStore.created`` says so). Anchoring the chain head elsewhere (the journal)
is what closes these.

Opening a store that fails verification still succeeds when SQLite can read it, so the
supervisor can read what is there, record what it decides and stay ``HALTED``; ``verified()``
tells it. Do not use a store's connection in a forked child: open stores only in the supervisor.
"""

from __future__ import annotations

import enum
import math
import os
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from actors._runtime.store import connect_readonly
from actors._runtime.trading import TradingState
from supervisor.errors import HaltsStoreTampered
from supervisor.halts_chain import (
    COLUMNS,
    GENESIS_HASH,
    VerifyReport,
    canonical_payload,
    check_chain,
    row_hash,
)
from supervisor.trading_state import Source, Transition

__all__ = ["HaltRow", "HaltsStore", "RowKind", "VerifyReport", "verify"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS halts (
    seq INTEGER PRIMARY KEY, at REAL NOT NULL, kind TEXT NOT NULL, state TEXT,
    source TEXT NOT NULL, who TEXT NOT NULL, reason TEXT NOT NULL, payload TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS halts_no_update BEFORE UPDATE ON halts
BEGIN SELECT RAISE(ABORT, 'halts store is append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS halts_no_delete BEFORE DELETE ON halts
BEGIN SELECT RAISE(ABORT, 'halts store is append-only: DELETE refused'); END;
-- REPLACE deletes without firing DELETE triggers; refusing any seq but the next one stops it.
CREATE TRIGGER IF NOT EXISTS halts_next_seq_only BEFORE INSERT ON halts
WHEN NEW.seq IS NOT (SELECT coalesce(max(seq), 0) + 1 FROM halts)
BEGIN SELECT RAISE(ABORT, 'halts store is append-only: INSERT must take the next seq'); END;
"""

_SELECT_ALL = (
    "SELECT seq, at, kind, state, source, who, reason, payload, prev_hash, hash"
    " FROM halts ORDER BY seq"
)


class RowKind(enum.StrEnum):
    """What a halts-store row records; raw values are what the file holds."""

    TRANSITION = "transition"
    """A trading-state change allowed by the transition table (``state`` is set)."""
    ADMIN = "admin"
    """An operator command through the admin socket or CLI."""
    BREAKER_TRIP = "breaker_trip"
    """A circuit-breaker rule fired."""
    ANCHOR = "anchor"
    """The chain head as anchored elsewhere (journal)."""
    NOTE = "note"
    """Anything else worth keeping next to the halts."""


class HaltRow(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One row of the halts store, as written."""

    seq: int
    """Position in the chain, 1..n."""
    at: float
    """When, in seconds since the epoch."""
    kind: RowKind
    """What the row records."""
    state: TradingState | None
    """Trading state after the row; None when the row does not change it."""
    source: Source
    """Who caused it."""
    who: str
    """The actor or person behind ``source``."""
    reason: str
    """Why."""
    payload: str
    """Extra detail as canonical JSON text."""
    prev_hash: str
    """Hash of the previous row (64 zeros for the first)."""
    hash: str
    """SHA-256 hex of this row's content including ``prev_hash``."""


def _decode(raw: bytes) -> str:
    # A file edited outside SQLite may hold invalid UTF-8; decode losslessly so verification
    # sees a changed value instead of an exception.
    return raw.decode("utf-8", "surrogateescape")


def _connect(path: Path, *, readonly: bool) -> sqlite3.Connection:
    if readonly:
        # mode=ro: verification must never write to the evidence, nor create a missing file.
        conn = connect_readonly(path, isolation_level=None)
    else:
        conn = sqlite3.connect(path, isolation_level=None)
    conn.text_factory = _decode
    return conn


def _has_table(conn: sqlite3.Connection) -> bool:
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='halts'")
    return found.fetchone() is not None


def _unreadable(exc: sqlite3.Error | str) -> VerifyReport:
    return VerifyReport(False, 0, None, f"file truncated or not a database: {exc}")


def _verify_connection(conn: sqlite3.Connection) -> VerifyReport:
    try:
        found = [str(r[0]) for r in conn.execute("PRAGMA integrity_check(5)")]
        if found != ["ok"]:
            detail = " ".join(" ".join(found).split())
            return VerifyReport(False, 0, None, f"integrity_check failed: {detail}")
        if not _has_table(conn):
            return _unreadable("no halts table")
        rows = conn.execute(_SELECT_ALL).fetchall()
    except sqlite3.DatabaseError as exc:
        return _unreadable(exc)
    return check_chain(rows)


def verify(path: Path | str) -> VerifyReport:
    """Verify the halts store at ``path`` without writing to it.

    Args:
        path: The store's SQLite file.

    Returns:
        ``ok``, or the first problem: file missing, file truncated or not a database,
        integrity_check failed, missing row (gap), forged seq, reordered rows, hash mismatch,
        prev-hash link broken. Never raises for a bad file.
    """
    path = Path(path)
    if not path.is_file():
        return VerifyReport(False, 0, None, f"file missing: {path}")
    try:
        conn = _connect(path, readonly=True)
    except sqlite3.Error as exc:
        return _unreadable(exc)
    try:
        return _verify_connection(conn)
    finally:
        conn.close()


class HaltsStore:
    """The open halts store: append rows, read them, read the sticky trading state."""

    def __init__(self, conn: sqlite3.Connection, path: Path, *, created: bool) -> None:
        """Wrap an open connection; use ``HaltsStore.open``."""
        self._conn = conn
        self.path = path
        """The SQLite file."""
        self.created = created
        """True when this open found no halts table (new, emptied or replaced file): no history."""

    @classmethod
    def open(cls, path: Path | str, *, synchronous: str = "FULL") -> HaltsStore:
        """Open the store, creating its directory, file and schema when missing.

        A store that fails verification still opens when SQLite can read it; check
        ``verified()``.

        Args:
            path: The store's SQLite file.
            synchronous: ``FULL`` (each commit fsyncs the WAL) or ``NORMAL`` (the caller calls
                ``sync`` when a row must survive a power loss).

        Returns:
            The open store, in WAL mode.

        Raises:
            HaltsStoreTampered: SQLite cannot read the file at all (truncated header, garbage).
            ValueError: ``synchronous`` is neither FULL nor NORMAL.
        """
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = _connect(path, readonly=False)
        try:
            created = not _has_table(conn)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={synchronous}")
            conn.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise HaltsStoreTampered(f"{path}: {_unreadable(exc).problem}") from exc
        return cls(conn, path, created=created)

    @classmethod
    def open_readonly(cls, path: Path | str) -> HaltsStore:
        """Open an existing store for reading only (``mode=ro``: nothing created or written).

        Raises:
            HaltsStoreTampered: The file cannot be opened or read as a halts store.
        """
        path = Path(path)
        try:
            conn = _connect(path, readonly=True)
            if not _has_table(conn):
                conn.close()
                raise HaltsStoreTampered(f"{path}: no halts table")
        except sqlite3.Error as exc:
            raise HaltsStoreTampered(f"{path}: {_unreadable(exc).problem}") from exc
        return cls(conn, path, created=False)

    def head_seq(self) -> int:
        """The last row's seq; 0 for a store with no rows."""
        found = self._conn.execute("SELECT max(seq) FROM halts").fetchone()
        return int(found[0] or 0)

    def row(self, seq: int) -> HaltRow | None:
        """The row at ``seq``, or None.

        Raises:
            HaltsStoreTampered: The row holds a value no append writes.
        """
        raw = self._conn.execute(_SELECT_ALL.replace(" ORDER BY seq", " WHERE seq = ?"),
                                 (seq,)).fetchone()
        return None if raw is None else self._decode_row(raw)

    def append(
        self,
        kind: RowKind,
        *,
        source: Source,
        who: str,
        reason: str,
        state: TradingState | None = None,
        payload: Mapping[str, Any] | None = None,
        at: float,
    ) -> HaltRow:
        """Append one row, chained to the last, and commit it durably before returning.

        Args:
            kind: What the row records.
            source: Who caused it.
            who: The actor or person behind ``source``.
            reason: Why; must not be blank.
            state: Trading state after the row; required for ``RowKind.TRANSITION``.
            payload: Extra JSON-serialisable detail.
            at: When, in seconds since the epoch (the caller's clock).

        Returns:
            The row as written.

        Raises:
            ValueError: Blank reason or who, non-finite ``at``, a transition without a state,
                or a payload that is not JSON (NaN included).
            TypeError: A payload value is not JSON-serialisable.
        """
        if not reason.strip() or not who.strip():
            raise ValueError("a halts row needs a non-blank reason and who")
        if kind is RowKind.TRANSITION and state is None:
            raise ValueError("a transition row needs the state it moves to")
        # The REAL column hands back a float; hash the same type that will be read back.
        at = float(at)
        if not math.isfinite(at):
            raise ValueError(f"at must be a finite epoch time, not {at!r}")
        text = canonical_payload(payload)
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            last = conn.execute("SELECT seq, hash FROM halts ORDER BY seq DESC LIMIT 1").fetchone()
            seq, prev = (1, GENESIS_HASH) if last is None else (int(last[0]) + 1, str(last[1]))
            state_raw = None if state is None else state.value
            values = (seq, at, kind.value, state_raw, source.value, who, reason, text, prev)
            digest = row_hash(values)
            conn.execute(
                "INSERT INTO halts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (*values, digest)
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return HaltRow(seq, at, kind, state, source, who, reason, text, prev, digest)

    def sync(self) -> None:
        """Force every committed row to disk (fsync of the WAL, where commits land).

        Thread-safe with respect to the writer: it touches only a descriptor of its own.

        Raises:
            OSError: The fsync failed.
        """
        wal = self.path.with_name(self.path.name + "-wal")
        try:
            fd = os.open(wal, os.O_RDONLY)
        except FileNotFoundError:
            return  # checkpointed and removed: the rows are in the main file, synced by SQLite
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def append_transition(
        self, change: Transition, *, who: str, payload: Mapping[str, Any] | None = None
    ) -> HaltRow:
        """Append a ``RowKind.TRANSITION`` row for a change the transition table allowed.

        Args:
            change: The allowed transition (its state, source, reason and time are recorded).
            who: The actor or person behind ``change.source``.
            payload: Extra detail; ``previous`` is added so the row stands on its own.

        Returns:
            The row as written; its ``seq`` goes into ``TradingStateChanged``.
        """
        detail = {**(payload or {}), "previous": change.previous.value}
        return self.append(
            RowKind.TRANSITION,
            source=change.source,
            who=who,
            reason=change.reason,
            state=change.state,
            payload=detail,
            at=change.at,
        )

    def rows(self) -> list[HaltRow]:
        """Every row, in seq order.

        Raises:
            HaltsStoreTampered: A row holds a value no append writes (unknown kind, wrong type).
        """
        return [self._decode_row(raw) for raw in self._conn.execute(_SELECT_ALL)]

    def _decode_row(self, raw: tuple[Any, ...]) -> HaltRow:
        try:
            return msgspec.convert(dict(zip(COLUMNS, raw, strict=True)), HaltRow)
        except msgspec.ValidationError as exc:
            raise HaltsStoreTampered(f"{self.path}: row {raw[0]} unreadable: {exc}") from exc

    def current_state(self) -> TradingState:
        """The state of the last row that carries one; ``ACTIVE`` for a store with none.

        A state value no append writes reads as ``HALTED``: fail safe, and ``verified()``
        reports the row.
        """
        last = self._conn.execute(
            "SELECT state FROM halts WHERE state IS NOT NULL ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        if last is None:
            return TradingState.ACTIVE
        try:
            return TradingState(last[0])
        except ValueError:
            return TradingState.HALTED

    def verified(self) -> VerifyReport:
        """Verify the store now, through this connection (see ``verify``)."""
        return _verify_connection(self._conn)

    def close(self) -> None:
        """Close the connection; SQLite checkpoints the WAL into the file."""
        self._conn.close()
