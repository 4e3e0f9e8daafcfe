"""The ``paper`` broker: a simulated venue whose order book lives in its own store.

The venue's book is a SQLite file of its own (``paper-venue.sqlite`` in the state directory),
not execution's state, so after execution crashes the venue still knows what it accepted,
filled or cancelled, exactly like a real venue; execution reconciles against it by client
order id. Like a real venue it is idempotent by client order id: the same id twice never makes
two orders. An order rests ``latency_s`` and then fills at the market price of that moment,
moved against the taker by ``slippage_bps``.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from actors._runtime.messages import Event
from actors.execution.broker import BrokerOrder, BrokerReport
from actors.execution.messages import OrderStatus, Side
from actors.execution.reconcile import Fill

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    client_order_id TEXT PRIMARY KEY, instrument TEXT NOT NULL, side TEXT NOT NULL,
    quantity REAL NOT NULL, status TEXT NOT NULL, accepted_at REAL NOT NULL,
    fill_after REAL NOT NULL, fill_price REAL, closed_at REAL
);
-- What rests, by when it fills: ``match`` runs at every price tick and must not read every
-- order the venue ever had.
CREATE INDEX IF NOT EXISTS orders_resting ON orders (status, fill_after);
"""


class PaperVenue:
    """A venue with a durable book; one writer (the broker), any number of readers (drills)."""

    name = "paper"

    def __init__(
        self, path: Path, *, latency_s: float, slippage_bps: float,
        clock: Callable[[], float] = time.time, synchronous: str = "NORMAL",
    ) -> None:
        """Open (creating) the venue's book."""
        if synchronous not in {"OFF", "NORMAL", "FULL", "EXTRA"}:
            raise ValueError(f"synchronous must be OFF, NORMAL, FULL or EXTRA: {synchronous!r}")
        self.path = path
        self.latency_s = latency_s
        self.slippage = slippage_bps / 10_000
        self.clock = clock
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives the death of any process (what the venue stands for:
        # the other side of execution's crashes); only an OS crash could lose the last few. It
        # saves one fsync on every order and every fill on the tick-to-order path.
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        self.db.executescript(_SCHEMA)
        self.prices: dict[str, float] = {}

    def _report(self, row: tuple[str, str, float, float | None] | None, coid: str) -> BrokerReport:
        if row is None:
            return BrokerReport(coid, OrderStatus.REJECTED, reason="unknown at the venue")
        status, _side, quantity, price = row
        st = OrderStatus(status)
        filled = quantity if st is OrderStatus.FILLED else 0.0
        return BrokerReport(coid, st, filled, price or 0.0)

    def _row(self, coid: str) -> tuple[str, str, float, float | None] | None:
        row: tuple[str, str, float, float | None] | None = self.db.execute(
            "SELECT status, side, quantity, fill_price FROM orders WHERE client_order_id=?",
            (coid,),
        ).fetchone()
        return row

    def submit(self, order: BrokerOrder) -> BrokerReport:
        """Accept an order (once per client order id); it rests until its latency passed."""
        now = self.clock()
        self.db.execute(
            "INSERT OR IGNORE INTO orders(client_order_id, instrument, side, quantity, status, "
            "accepted_at, fill_after) VALUES(?, ?, ?, ?, ?, ?, ?)",
            (order.client_order_id, order.instrument, order.side.value, order.quantity,
             OrderStatus.SUBMITTED.value, now, now + self.latency_s),
        )
        if order.instrument not in self.prices:
            self.prices[order.instrument] = order.reference_price
        return self._report(self._row(order.client_order_id), order.client_order_id)

    def cancel(self, client_order_id: str) -> BrokerReport:
        """Cancel a resting order; a filled or unknown one is reported as it is."""
        self.db.execute(
            "UPDATE orders SET status=?, closed_at=? WHERE client_order_id=? AND status=?",
            (OrderStatus.CANCELLED.value, self.clock(), client_order_id,
             OrderStatus.SUBMITTED.value),
        )
        return self._report(self._row(client_order_id), client_order_id)

    def cancel_all(self, client_order_ids: list[str]) -> list[BrokerReport]:
        """Cancel many in one transaction (one fsync, not one per order)."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            reports = [self.cancel(coid) for coid in client_order_ids]
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return reports

    def lookup(self, client_order_id: str) -> BrokerReport | None:
        """What the venue knows of an order (None: never seen)."""
        row = self._row(client_order_id)
        return None if row is None else self._report(row, client_order_id)

    def positions(self) -> dict[str, float]:
        """Net filled quantity by instrument."""
        net: dict[str, float] = {}
        for instrument, side, qty in self.db.execute(
            "SELECT instrument, side, sum(quantity) FROM orders WHERE status = ? "
            "GROUP BY instrument, side", (OrderStatus.FILLED.value,)
        ):
            sign = 1.0 if side == Side.BUY.value else -1.0
            net[instrument] = net.get(instrument, 0.0) + sign * float(qty)
        return {k: v for k, v in net.items() if abs(v) > 1e-12}

    def mark(self, instrument: str, price: float) -> None:
        """A market price: the next fills of ``instrument`` happen at it."""
        self.prices[instrument] = price

    def match(self) -> list[BrokerReport]:
        """Fill every resting order whose latency passed, at the market price with slippage."""
        now = self.clock()
        due = self.db.execute(
            "SELECT client_order_id, instrument, side FROM orders "
            "WHERE status=? AND fill_after<=? ORDER BY accepted_at",
            (OrderStatus.SUBMITTED.value, now),
        ).fetchall()
        if not due:
            return []
        reports = []
        self.db.execute("BEGIN IMMEDIATE")  # every fill of this match in one commit
        try:
            for coid, instrument, side in due:
                market = self.prices.get(instrument)
                if market is None:
                    continue
                price = market * (
                    1 + self.slippage if side == Side.BUY.value else 1 - self.slippage
                )
                self.db.execute(
                    "UPDATE orders SET status=?, fill_price=?, closed_at=? "
                    "WHERE client_order_id=? AND status=?",
                    (OrderStatus.FILLED.value, price, now, coid, OrderStatus.SUBMITTED.value),
                )
                reports.append(self._report(self._row(coid), coid))
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")
        return reports

    def open_orders(self) -> list[str]:
        """Client order ids resting at the venue."""
        return [r[0] for r in self.db.execute(
            "SELECT client_order_id FROM orders WHERE status=?", (OrderStatus.SUBMITTED.value,)
        )]

    def order_fills(self) -> dict[str, Fill]:
        """A simulated venue is execution's own: nothing to reconcile periodically."""
        return {}

    def order_rate_limit(self) -> list[tuple[int, float]]:
        """A simulated venue publishes no order limit: the configured throttle holds."""
        return []

    def events(self) -> list[Event]:
        """A simulated venue has nothing to say on the bus."""
        return []

    def close(self) -> None:
        """Close the book."""
        self.db.close()
