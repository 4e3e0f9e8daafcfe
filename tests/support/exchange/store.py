"""The book's durable copy in SQLite: orders, trades, balances, client ids, counters, prices."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path

from tests.support.exchange.book import Book, Order, Trade

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trades (id INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS balances (asset TEXT PRIMARY KEY, free TEXT, locked TEXT);
CREATE TABLE IF NOT EXISTS client_ids (cid TEXT PRIMARY KEY, n INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
"""


class Store:
    """Write-through persistence: ``save`` after every change commits before the answer."""

    def __init__(self, path: str | Path, synchronous: str = "FULL") -> None:
        """Open (or create) the book's file; ``synchronous`` as SQLite's pragma (FULL: every
        answer follows an fsync; NORMAL or OFF for benchmarks that measure the client)."""
        if synchronous.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA, got {synchronous!r}")
        self.db = sqlite3.connect(str(path), isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={synchronous.upper()}")
        self.db.executescript(_SCHEMA)
        self._saved_trade_id = 0

    def fresh(self) -> bool:
        """Whether no book was ever saved here."""
        return self.db.execute("SELECT 1 FROM meta WHERE k='next_order_id'").fetchone() is None

    def load(self, book: Book) -> None:
        """Fill ``book`` from the file (prices only for symbols the book knows)."""
        for (body,) in self.db.execute("SELECT body FROM orders ORDER BY id"):
            o = Order(**json.loads(body))
            book.orders[o.orderId] = o
        for (body,) in self.db.execute("SELECT body FROM trades ORDER BY id"):
            book.trades.append(Trade(**json.loads(body)))
        rows = self.db.execute("SELECT asset, free, locked FROM balances")
        book.balances = {a: [Decimal(f), Decimal(lk)] for a, f, lk in rows}
        book.client_ids = dict(self.db.execute("SELECT cid, n FROM client_ids").fetchall())
        meta = {k: json.loads(v) for k, v in self.db.execute("SELECT k, v FROM meta")}
        book.next_order_id = meta.get("next_order_id", 1)
        book.next_trade_id = meta.get("next_trade_id", 1)
        book.duplicates = meta.get("duplicates", 0)
        for sym, p in meta.get("prices", {}).items():
            if sym in book.prices:
                book.prices[sym] = Decimal(p)
        self._saved_trade_id = book.trades[-1].id if book.trades else 0

    def save(self, book: Book) -> None:
        """Commit what changed since the last save in one transaction."""
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            for oid in sorted(book.dirty_orders):
                db.execute("INSERT OR REPLACE INTO orders VALUES (?, ?)",
                           (oid, json.dumps(asdict(book.orders[oid]))))
            for t in book.trades:
                if t.id > self._saved_trade_id:
                    db.execute("INSERT OR REPLACE INTO trades VALUES (?, ?)",
                               (t.id, json.dumps(asdict(t))))
            db.executemany("INSERT OR REPLACE INTO balances VALUES (?, ?, ?)",
                           [(a, str(f), str(lk)) for a, (f, lk) in book.balances.items()])
            db.executemany("INSERT OR REPLACE INTO client_ids VALUES (?, ?)",
                           [(c, book.client_ids[c]) for c in sorted(book.dirty_client_ids)])
            meta = {
                "next_order_id": book.next_order_id,
                "next_trade_id": book.next_trade_id,
                "duplicates": book.duplicates,
                "prices": {s: str(p) for s, p in book.prices.items()},
            }
            db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                           [(k, json.dumps(v)) for k, v in meta.items()])
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        book.dirty_orders.clear()
        book.dirty_client_ids.clear()
        if book.trades:
            self._saved_trade_id = book.trades[-1].id

    def close(self) -> None:
        """Close the file."""
        self.db.close()
