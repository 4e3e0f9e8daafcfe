"""Read the paper venue's book and execution's orders from a test (read-only)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import msgspec

from actors._runtime.store import connect_readonly, read_snapshot
from actors.execution.actor import Book, OrderRecord, stored_orders

PAPER = """
[execution]
broker = "paper"
paper_latency_s = 0.05
[orchestrator]
interval_s = 0.02
strategy = "actors.orchestrator.examples:EveryN"
[orchestrator.strategy_params]
every = 1
quantity = 1.0
[breaker]
max_consecutive_losses = 1000000   # EveryN loses slippage on most round trips: not a breaker test
"""


def venue_counts(state_dir: Path) -> dict[str, int]:
    """Orders at the paper venue by status (empty before the first order)."""
    path = state_dir / "paper-venue.sqlite"
    if not path.exists():
        return {}
    con = connect_readonly(path)
    try:
        return dict(con.execute("SELECT status, count(*) FROM orders GROUP BY status"))
    except sqlite3.OperationalError:
        return {}
    finally:
        con.close()


def venue_total(state_dir: Path) -> int:
    """Orders the venue ever accepted."""
    return sum(venue_counts(state_dir).values())


def venue_ids(state_dir: Path) -> list[str]:
    """Every client order id at the venue (duplicates would show twice; the key forbids it)."""
    con = connect_readonly(state_dir / "paper-venue.sqlite")
    try:
        return [r[0] for r in con.execute("SELECT client_order_id FROM orders")]
    finally:
        con.close()


def execution_orders(state_dir: Path) -> tuple[Book | None, list[OrderRecord]]:
    """Execution's persisted book and orders (the process must be stopped or gone)."""
    snap = read_snapshot(state_dir / "execution.sqlite")
    book = msgspec.msgpack.decode(snap["book"], type=Book) if "book" in snap else None
    return book, list(stored_orders(snap).values())
