"""Read-only views of the state files while their owners may be writing them.

``actors._runtime.store.read_snapshot`` copies a file and its WAL: exact when the owner is
stopped, but racy while it writes (a checkpoint between the two copies pairs an old file with a
reset WAL). A drill reads a live tree, so these open the file itself read-only (``mode=ro``) and
read inside one transaction: SQLite then gives a consistent snapshot of what was committed.
Nothing here creates a missing file or writes to an existing one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import msgspec

from actors._runtime.store import connect_readonly
from actors.breaker.actor import Persisted
from actors.execution.actor import Book, OrderRecord, stored_orders

# Named once, in supervisor.state_files (the start check reads the same files).
from supervisor.state_files import OUTBOX_FILE, VENUE_FILE


@contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to ``path`` with one read transaction open (a snapshot)."""
    con = connect_readonly(path, isolation_level=None)
    try:
        con.execute("BEGIN")
        yield con
    finally:
        con.close()


def read_kv(path: Path) -> dict[str, bytes]:
    """An actor's key-value state (``actors._runtime.store``); empty when the file is absent."""
    if not path.is_file():
        return {}
    with read_only(path) as con:
        return {str(k): bytes(v) for k, v in con.execute("SELECT key, value FROM kv")}


@dataclass(frozen=True)
class VenueOrder:
    """One order as the paper venue holds it."""

    client_order_id: str
    instrument: str
    side: str
    quantity: float
    status: str


def venue_orders(state_dir: Path) -> list[VenueOrder] | None:
    """Every order row at the paper venue (a duplicate id would show twice); None: no venue."""
    path = state_dir / VENUE_FILE
    if not path.is_file():
        return None
    with read_only(path) as con:
        try:
            rows = con.execute(
                "SELECT client_order_id, instrument, side, quantity, status FROM orders"
            ).fetchall()
        except sqlite3.OperationalError:  # created, table not yet: no order yet
            return []
    return [VenueOrder(str(c), str(i), str(s), float(q), str(st)) for c, i, s, q, st in rows]


@dataclass(frozen=True)
class ExecutionState:
    """Execution's persisted book and orders, keyed as stored (``order/<client order id>``,
    ``cold/order/<client order id>`` once final)."""

    book: Book | None
    orders: dict[str, OrderRecord]


def execution_state(state_dir: Path) -> ExecutionState:
    """Execution's persisted state (empty before its first start)."""
    kv = read_kv(state_dir / "execution.sqlite")
    book = msgspec.msgpack.decode(kv["book"], type=Book) if "book" in kv else None
    return ExecutionState(book, stored_orders(kv))


def outbox_keys(state_dir: Path) -> set[str] | None:
    """Dedupe keys (bus message ids) of the alerts in the alerter's outbox; None: no outbox."""
    path = state_dir / OUTBOX_FILE
    if not path.is_file():
        return None
    with read_only(path) as con:
        try:
            rows = con.execute("SELECT dedupe_key FROM alerts WHERE dedupe_key IS NOT NULL")
            return {str(r[0]) for r in rows}
        except sqlite3.OperationalError:
            return set()


def breaker_state(state_dir: Path) -> Persisted | None:
    """The breaker's persisted counters and rules' state; None before its first write."""
    raw = read_kv(state_dir / "breaker.sqlite").get("breaker")
    return None if raw is None else msgspec.msgpack.decode(raw, type=Persisted)
