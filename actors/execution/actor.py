"""Execution: intents become orders written before any broker sees them; positions persisted.

Lifecycle of an order: ``SubmitOrder`` is checked (numbers, trading state: layer 2) and written
as ``PENDING_SUBMIT``, which is committed (``flush``) before the broker is called, in the same
call; just before the call the halts store is read (layer 3); the acknowledgement follows. The
broker's answers (accepted, filled, cancelled) are persisted as they arrive. After a restart
every order not final is reconciled with the broker by client order id: adopted as the venue
has it, or sent if it never got there.

Layer 2 is the pure pre-trade gate (``gate.py``): every new intent is checked against the trading
state, its numbers, duplicates, the order-rate throttle, size and position limits, the price
collar and the daily loss limit; a refusal is published as ``OrderRejected`` with the
``RejectCode`` value and a reason, and counted per code in the book.

Memory holds the open orders and the ``recent_final_orders`` most recently closed ones, not
every order ever made (~500 B each, 50 a second); an older order is read back from execution's
own state file when a repeated intent asks for it. On disk an open order is ``order/<id>`` and a
closed one ``cold/order/<id>``, which a start does not load: a restart reads what is open and
the counts (in the book), however long the history.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
from collections import ChainMap, OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

import msgspec

from actors._runtime import log
from actors._runtime.actor import BaseActor, Summary
from actors._runtime.clock import Clock, SystemClock
from actors._runtime.codec import Envelope
from actors._runtime.errors import StateUnreadable
from actors._runtime.halts_reader import HaltsReader
from actors._runtime.messages import Message
from actors._runtime.store import COLD_PREFIX, connect_readonly
from actors._runtime.trading import TradingState, TradingStateChanged, allows_order
from actors.execution import gate, status_report
from actors.execution.broker import BrokerOrder, BrokerReport
from actors.execution.brokers import make_broker
from actors.execution.config import ExecutionConfig
from actors.execution.fees import fee_increments
from actors.execution.gate_config import fit_to_venue
from actors.execution.markouts import KEY_PREFIX as MARKOUT_KEY
from actors.execution.markouts import Markouts, ShadowRecord
from actors.execution.messages import (
    EquityUpdated,
    ExecutionSnapshot,
    ExecutionStatus,
    FeeCharged,
    LastFill,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderStatus,
    PriceTick,
    Side,
    SubmitOrder,
)
from actors.execution.portfolio import Portfolio
from actors.execution.reconcile import Fill, compare_fills, position_differences
from actors.venue.messages import FeedReconnected, VenueReconciled

RECONCILE_RETRY_S = 5.0
"""After a reconciliation the venue could not answer, the next try is this much later."""
FINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.RECORDED}
)
OPEN = frozenset({OrderStatus.PENDING_SUBMIT, OrderStatus.SUBMITTED})
OPEN_KEY = "order/"
"""Key prefix of an order not final (loaded at start)."""
FINAL_KEY = COLD_PREFIX + OPEN_KEY
"""Key prefix of a final order (not loaded at start; read back on demand)."""


class OrderRecord(msgspec.Struct):
    """An order as execution keeps it (key ``order/<client order id>``)."""

    client_order_id: str
    intent_id: str
    instrument: str
    side: Side
    quantity: float
    reference_price: float
    limit_price: float | None
    status: OrderStatus
    filled: float = 0.0
    reason: str = ""
    avg_fill_price: float = 0.0
    """Average price of ``filled`` (a venue fills an order in parts)."""
    fees: dict[str, float] = msgspec.field(default_factory=dict)
    """Commissions booked for ``filled``, by currency (cumulative)."""


class Book(msgspec.Struct):
    """Account-level state (key ``book``)."""

    portfolio: Portfolio
    handled: int = 0
    ticks: int = 0
    rejected: int = 0
    rejections: dict[str, int] = msgspec.field(default_factory=dict)
    """Rejected intents by reject code."""
    final_counts: dict[str, int] | None = None
    """Orders by final status. None: a book written before final orders went cold, whose
    orders are all under ``order/`` and are counted (and moved) at the next start."""
    last_fill: LastFill | None = None
    """The most recent fill booked (None before the first, or in a book written before it)."""
    fees_due: dict[str, float] = msgspec.field(default_factory=dict)
    """Client order id -> filled quantity whose commission the venue has not said yet (asked
    again at a restart: a fill's cost is never left unbooked)."""


def stored_orders(kv: Mapping[str, bytes]) -> dict[str, OrderRecord]:
    """Execution's orders in a full read of its state file, open and final, by their key
    (``order/<id>`` or ``cold/order/<id>``)."""
    return {key: msgspec.msgpack.decode(raw, type=OrderRecord) for key, raw in kv.items()
            if key.startswith((OPEN_KEY, FINAL_KEY))}


_QTY_TOL = 1e-9
"""Relative tolerance on quantities reported back (a venue's decimals through floats)."""


def client_order_id(intent_id: str) -> str:
    """Deterministic client order id: the same intent can never become two orders."""
    return "QF-" + hashlib.blake2b(intent_id.encode(), digest_size=10).hexdigest()


class ExecutionActor(BaseActor):
    """Order lifecycle, positions and the broker."""

    config_type: ClassVar[type[msgspec.Struct] | None] = ExecutionConfig
    subscriptions: ClassVar[tuple[str, ...]] = ("PriceTick", "TradingStateChanged",
                                                "FeedReconnected")
    accepts_commands: ClassVar[bool] = True

    def restore(self, snapshot: Mapping[str, bytes]) -> None:
        """Load the book (with the counts of final orders) and the open orders; open the
        broker."""
        cfg: ExecutionConfig = self.config
        raw = snapshot.get("book")
        self.book = (
            msgspec.msgpack.decode(raw, type=Book)
            if raw
            else Book(portfolio=Portfolio(cash=cfg.initial_cash))
        )
        # Orders not final, kept apart: the gate and the cancels look at these on every intent
        # and every halt.
        self.open: dict[str, OrderRecord] = {}
        # Closed orders, most recently closed last, at most ``recent_final_orders``: every
        # order ever made would grow without bound; an older one is read back (``_known``).
        self.closed: OrderedDict[str, OrderRecord] = OrderedDict()
        # Orders by final status, kept as they close and persisted in the book: neither a
        # snapshot (every 0.2 s) nor a start may visit every order ever placed.
        legacy = self.book.final_counts is None
        self.final_counts: dict[str, int] = self.book.final_counts or {}
        self.book.final_counts = self.final_counts
        self._legacy_final: list[OrderRecord] = []
        self._db: sqlite3.Connection | None = None
        for key, raw_order in snapshot.items():
            if key.startswith(OPEN_KEY):
                order = msgspec.msgpack.decode(raw_order, type=OrderRecord)
                if order.status in OPEN:
                    self.open[order.client_order_id] = order
                elif legacy:  # counted now, moved under FINAL_KEY by ``on_ready``
                    self._count_final(order)
                    self._legacy_final.append(order)
        self.iterations = self.book.handled
        self.prices: dict[str, float] = {}
        self.priced_at: dict[str, float] = {}
        """Instrument -> wall time its last price was taken."""
        self.markouts = Markouts()
        self.last_ts = 0.0
        self.broker = make_broker(
            cfg.broker, self.state_dir,
            latency_s=cfg.paper_latency_s, slippage_bps=cfg.paper_slippage_bps,
            venue=cfg.venue,
        )
        fitted = fit_to_venue(cfg.gate, self.broker.order_rate_limit())
        if fitted is not cfg.gate:  # the venue's own order limit is the tighter one
            log.get("execution").info(
                "gate_throttle_fitted_to_venue", configured=f"{cfg.gate.max_orders_per_window}/"
                f"{cfg.gate.rate_window_s:g}s", now=f"{fitted.max_orders_per_window}/"
                f"{fitted.rate_window_s:g}s")
            cfg = self.config = msgspec.structs.replace(cfg, gate=fitted)
        if raw is None and (held := self.broker.positions()):
            # No book at all (the file deleted, emptied or replaced) is not a new account: the
            # venue says what we hold, and trading on an empty book would double it.
            shown = ", ".join(f"{k} {v:g}" for k, v in sorted(held.items()))
            raise StateUnreadable(
                self.state_dir / "execution.sqlite",
                f"no position book, but the {cfg.broker} venue holds positions ({shown})",
                "restore execution.sqlite from a backup of this state directory (a simulated "
                "paper venue may instead be moved aside with it, to start both anew)",
            )
        self.halts = HaltsReader(self.state_dir)
        # Sticky: until the supervisor says otherwise, the state is what the halts store says.
        self.trading_gate.restore(self.halts.state()[0])
        self.draining = False
        raw_gate = snapshot.get("gate")
        self.gate_state = (
            msgspec.msgpack.decode(raw_gate, type=gate.GateState) if raw_gate else gate.GateState()
        )
        # The gate's windows and the snapshot pace run on its elapsed reading, the session on
        # its wall reading (docs/adr/0010).
        self.clock: Clock = SystemClock()
        self._snapshot_at = float("-inf")
        self._snapshot_due = True
        self._reconcile_at = float("-inf")
        """When the venue was last reconciled (the tick's clock); -inf: due."""
        self._reconcile_why = "start"
        self._status_at = float("-inf")

    def gauges(self) -> dict[str, float]:
        """The venue broker's round trips by call (none for a simulated venue)."""
        trips = getattr(self.broker, "round_trips", None)
        return {} if trips is None else dict(trips.gauges())

    def summary(self) -> Summary:
        """Orders handled, fills, cash, positions (``pos:<instrument>``), orders by status."""
        out: Summary = {
            "iterations": self.book.handled,
            "orders": len(self.open) + sum(self.final_counts.values()),  # ever made
            "fills": self.book.portfolio.fills,
            "rejected": self.book.rejected,
            "cash": round(self.book.portfolio.cash, 8),
        }
        for instrument, qty in self.book.portfolio.signed().items():
            out[f"pos:{instrument}"] = qty
        for status, count in self.status_counts().items():
            out[f"orders:{status}"] = count
        return out

    def status_counts(self) -> dict[str, int]:
        """Orders by status."""
        counts = dict(self.final_counts)
        for order in self.open.values():
            counts[order.status.value] = counts.get(order.status.value, 0) + 1
        return counts

    def _count_final(self, order: OrderRecord) -> None:
        status = order.status.value
        self.final_counts[status] = self.final_counts.get(status, 0) + 1

    @property
    def orders(self) -> ChainMap[str, OrderRecord]:
        """Orders in memory: the open ones and the most recently closed, not all ever made."""
        return ChainMap(self.open, self.closed)

    def _known(self, coid: str) -> OrderRecord | None:
        """Order ``coid`` however old: from memory, else as committed in execution's own state
        file (the runtime commits a handler's writes before the next message is handled).

        A repeated intent must find its one order even long after it closed: forgotten and
        sent again, it could be filled twice. Read-only, on its own connection, opened on first
        use from the actor thread that alone uses it. No file or no row: no such order; a file
        that cannot be read raises (the actor restarts) rather than risk a second order.
        """
        order = self.open.get(coid) or self.closed.get(coid)
        if order is not None:
            return order
        if self._db is None:
            path = self.state_dir / f"{self.name}.sqlite"
            if not path.exists():
                return None  # nothing committed yet (or hooks driven without the runtime)
            self._db = connect_readonly(path)
        # fetchall: a statement left unfinished would hold a read snapshot, and stale reads.
        rows = self._db.execute(
            "SELECT value FROM kv WHERE key=?", (FINAL_KEY + coid,)
        ).fetchall()
        return msgspec.msgpack.decode(rows[0][0], type=OrderRecord) if rows else None

    def on_stop(self) -> None:
        """pykka hook: close the state file's read-only connection and the broker's."""
        if self._db is not None:
            self._db.close()
            self._db = None
        close = getattr(self.broker, "close", None)
        if close is not None:
            close()

    # --- intents -----------------------------------------------------------------------

    def on_command(self, env: Envelope[Message]) -> None:
        """``SubmitOrder``: write the order (PENDING_SUBMIT), commit it, reach the broker; the
        acknowledgement (the order as accepted) is sent once the call's effects are committed."""
        cmd = env.payload
        if not isinstance(cmd, SubmitOrder):
            self.reply_ack(ok=False, reason=f"execution accepts no {type(cmd).__name__}")
            return
        self.book.handled += 1
        self.iterations = self.book.handled
        self.put("book", self.book)
        coid = client_order_id(cmd.intent_id)
        existing = self._known(coid)
        if existing is not None:
            self.reply(self._accepted(existing))
            return
        code, problem = "", ""
        if self.draining:
            code, problem = "draining", "execution is draining: no new orders"
        else:
            # Layer 2: the pre-trade gate, before anything is written or any broker called.
            decision = self._gate(cmd)
            self.gate_state = decision.state
            self.put("gate", self.gate_state)
            if isinstance(decision, gate.Reject):
                code, problem = decision.code.value, decision.reason
        if problem:
            self.book.rejected += 1
            self.book.rejections[code] = self.book.rejections.get(code, 0) + 1
            self.put("book", self.book)  # put() encodes at once: the count must be in it
            rejected = OrderRejected(
                intent_id=cmd.intent_id, instrument=cmd.instrument, code=code, reason=problem
            )
            self.publish(rejected)
            self.reply(rejected)
            return
        order = OrderRecord(
            client_order_id=coid, intent_id=cmd.intent_id, instrument=cmd.instrument,
            side=cmd.side, quantity=cmd.quantity, reference_price=cmd.reference_price,
            limit_price=cmd.limit_price, status=OrderStatus.PENDING_SUBMIT,
        )
        self._save(order)
        accepted = self._accepted(order)
        self.publish(accepted)
        self.reply(accepted)
        # On disk before any broker sees it, then to the broker in the same call: no second
        # hand-off to this thread (and no event waking the bus) between the two.
        self.flush()
        self._submit(order)

    def _gate(self, cmd: SubmitOrder) -> gate.Decision:
        """Run the pure gate on ``cmd`` against the book as it will be once open orders fill."""
        cfg: ExecutionConfig = self.config
        positions = self.book.portfolio.signed()
        for order in self.open.values():
            if order.status in OPEN:
                left = order.quantity - order.filled
                signed = left if order.side is Side.BUY else -left
                positions[order.instrument] = positions.get(order.instrument, 0.0) + signed
        prices = self.prices
        if cmd.instrument not in prices and cfg.market_price_fallback == "reference":
            prices = {**prices, cmd.instrument: cmd.reference_price}
        return gate.check(
            cmd, state=self.gate_state, trading=self.trading_gate.state, positions=positions,
            last_prices=prices, equity=self.book.portfolio.equity(self.prices),
            config=cfg.gate, now=self.clock(),
        )

    def on_deferred(self, token: Any) -> None:
        """Submit an order that is already on disk (found ``PENDING_SUBMIT`` at restart),
        after layer 3, and book the answer."""
        order = self.open.get(str(token))
        if order is not None:
            self._submit(order)

    def _submit(self, order: OrderRecord) -> None:
        """Submit an order already written (committed), after layer 3; book the answer."""
        if order.status is not OrderStatus.PENDING_SUBMIT:
            return
        state, why = self.halts.state()
        if not allows_order(state, self._reduces(order)):
            # Layer 3: the halts store is the source of truth, even with every socket broken.
            self._close(order, OrderStatus.REJECTED, f"{why}: trading state is {state.value}",
                        code="halts_store")
            return
        self._apply_report(order, self.broker.submit(BrokerOrder(
            order.client_order_id, order.instrument, order.side, order.quantity,
            order.reference_price, order.limit_price,
        )))

    # --- broker answers ----------------------------------------------------------------

    def _apply_report(self, order: OrderRecord, report: BrokerReport) -> None:
        """Book what the broker says of ``order``: its filled quantity is cumulative, so each
        part of a fill is booked exactly once however often it is reported."""
        if order.status in FINAL:
            return
        if report.filled_quantity > order.quantity * (1 + _QTY_TOL):
            self._bad_report(order, f"filled {report.filled_quantity:g} of an order for "
                                    f"{order.quantity:g}")
            return
        if report.filled_quantity > order.filled * (1 + _QTY_TOL) + _QTY_TOL:
            self._book_fill(order, report)
        self._note_fees(order, report)
        if report.status in (OrderStatus.FILLED, OrderStatus.RECORDED):
            order.status = report.status
            if report.status is OrderStatus.RECORDED:
                self._record_shadow(order, report)
        elif report.status is OrderStatus.CANCELLED:
            self._close(order, OrderStatus.CANCELLED, report.reason or "cancelled at the broker")
            return
        elif report.status is OrderStatus.REJECTED:
            self._close(order, OrderStatus.REJECTED, report.reason, code="broker")
            return
        else:
            order.status = report.status
        self._save(order)

    def _record_shadow(self, order: OrderRecord, report: BrokerReport) -> None:
        """Keep a shadow order with the market of this moment, and mark it against the
        prices that follow (``quantfund shadow report``)."""
        rec = ShadowRecord(
            client_order_id=order.client_order_id, instrument=order.instrument,
            side=order.side, quantity=order.quantity, price=report.fill_price,
            market=self.prices.get(order.instrument, report.fill_price),
            at=self.last_ts or self.clock().wall,
        )
        self.put(MARKOUT_KEY + rec.client_order_id, rec)
        self.markouts.add(rec)  # one that gives way is kept as written, without later marks

    def _bad_report(self, order: OrderRecord, what: str) -> None:
        """A broker report that cannot be true: counted and said, never booked."""
        self.book.rejections["bad_broker_report"] = (
            self.book.rejections.get("bad_broker_report", 0) + 1)
        self.put("book", self.book)
        log.get("execution").error("bad_broker_report", client_order_id=order.client_order_id,
                                   problem=what, action="ignored; the position is unchanged")

    def _book_fill(self, order: OrderRecord, report: BrokerReport) -> None:
        """Book the part of ``report``'s cumulative fill that is new, at its own price."""
        before, done = order.filled, report.filled_quantity
        quantity = done - before
        price = report.fill_price
        if before > 0:  # the new part's price, from the two averages
            part = (done * report.fill_price - before * order.avg_fill_price) / quantity
            price = part if math.isfinite(part) and part > 0 else report.fill_price
        order.filled, order.avg_fill_price = done, report.fill_price
        pf = self.book.portfolio
        realized = pf.apply_fill(order.instrument, order.side, quantity, price)
        self.book.last_fill = LastFill(
            client_order_id=order.client_order_id, instrument=order.instrument,
            side=order.side, quantity=quantity, price=price, at=self.clock().wall,
        )
        self.publish(OrderFilled(
            client_order_id=order.client_order_id, instrument=order.instrument,
            side=order.side, quantity=quantity, price=price,
            position_after=pf.positions[order.instrument].quantity, realized_pnl=realized,
        ))
        self.prices.setdefault(order.instrument, price)
        self.put("book", self.book)
        self._publish_equity()

    def _note_fees(self, order: OrderRecord, report: BrokerReport) -> None:
        """Book what ``report`` says ``order``'s fill cost, once per part; a fill whose cost
        the venue has not said yet is kept in ``fees_due`` until a report says it."""
        coid = order.client_order_id
        if not report.fees_known:
            if order.filled > 0 and self.book.fees_due.get(coid) != order.filled:
                self.book.fees_due[coid] = order.filled
                self.put("book", self.book)
            return
        add, problems = fee_increments(order.fees, report.fees)
        if problems:
            self._bad_report(order, "; ".join(problems))
            return
        pf = self.book.portfolio
        for currency, amount in add.items():
            value = pf.apply_fee(order.instrument, currency, amount, order.avg_fill_price)
            order.fees[currency] = order.fees.get(currency, 0.0) + amount
            self.publish(FeeCharged(
                client_order_id=coid, instrument=order.instrument, currency=currency,
                amount=amount, value=value,
                position_after=pf.positions[order.instrument].quantity))
        covered = report.filled_quantity >= order.filled * (1 - _QTY_TOL) - _QTY_TOL
        due = self.book.fees_due.pop(coid, None) if covered else None
        if add or due is not None:
            self.put("book", self.book)
        if add:
            self._publish_equity()

    def _fees_of_final(self, report: BrokerReport) -> None:
        """A later report of a final order's fees (its fill was booked without them)."""
        order = self._known(report.client_order_id)
        if order is None or not report.fees_known:
            return
        self._note_fees(order, report)
        self.put(FINAL_KEY + order.client_order_id, order)
        self._changed()

    def _close(self, order: OrderRecord, status: OrderStatus, reason: str, code: str = "") -> None:
        order.status, order.reason = status, reason
        if status is OrderStatus.CANCELLED:
            self.publish(OrderCancelled(client_order_id=order.client_order_id,
                                        instrument=order.instrument, reason=reason))
        else:
            self.publish(OrderRejected(intent_id=order.intent_id, instrument=order.instrument,
                                       code=code or "broker", reason=reason))
        self._save(order)

    def _save(self, order: OrderRecord) -> None:
        if self._save_in_memory(order):
            self.put("book", self.book)  # with the counts of final orders
        self._put_order(order)
        self._changed()

    def _put_order(self, order: OrderRecord) -> None:
        coid = order.client_order_id
        if order.status in OPEN:
            self.put(OPEN_KEY + coid, order)
        else:  # in one commit: never both, never neither
            self.put(FINAL_KEY + coid, order)
            self.delete(OPEN_KEY + coid)

    def _save_in_memory(self, order: OrderRecord) -> bool:
        """Keep ``order`` open, or count it closed and keep it among the most recently closed
        (only open orders change: one evicted from memory is never saved again). True if it
        was counted: it closes now (a final order saved again counts once)."""
        coid = order.client_order_id
        if order.status in OPEN:
            self.open[coid] = order
            return False
        counted = self.open.pop(coid, None) is not None or coid not in self.closed
        if counted:
            self._count_final(order)
        self.closed[coid] = order
        self.closed.move_to_end(coid)
        while len(self.closed) > self.config.recent_final_orders:
            self.closed.popitem(last=False)
        return counted

    # --- visible state -----------------------------------------------------------------

    def _changed(self) -> None:
        """Positions or order counts changed: publish now, or at the next tick if one was
        published less than ``snapshot_interval_s`` ago."""
        self._snapshot_due = True
        if self.clock().elapsed - self._snapshot_at >= self.config.snapshot_interval_s:
            self._publish_snapshot()

    def _publish_snapshot(self) -> None:
        self._snapshot_due = False
        self._snapshot_at = self.clock().elapsed
        self.publish(ExecutionSnapshot(
            positions=self.book.portfolio.signed(), orders=self.status_counts(),
        ))

    def status(self) -> ExecutionStatus:
        """What execution holds and how it marks it now (``quantfund status``): every figure
        from the book, the last prices and the gate's own state."""
        return status_report.report(
            self.book.portfolio, prices=self.prices, priced_at=self.priced_at,
            orders=self.status_counts(), open_statuses=(o.status for o in self.open.values()),
            last_fill=self.book.last_fill, gate_state=self.gate_state, config=self.config.gate,
            now=self.clock(), fees_due=len(self.book.fees_due),
        )

    def _publish_status(self) -> None:
        self._status_at = self.clock().elapsed
        self.publish(self.status())

    def tick_interval(self) -> float | None:
        """Publish a due snapshot, and let resting orders fill between price ticks."""
        interval: float = self.config.snapshot_interval_s
        return interval

    def on_tick(self, now: float) -> None:
        """Fills that fell due at the venue without a price tick; a snapshot if one is due;
        a reconciliation with a real venue every ``[venue] reconcile_every_s``; the status
        every ``status_interval_s``."""
        self._match()
        venue = self.config.venue
        if venue is not None and self.broker.name == "venue" and (
                now - self._reconcile_at >= venue.reconcile_every_s):
            self._reconcile_at = now
            if not self._reconcile_venue(self._reconcile_why):
                self._reconcile_at = now - venue.reconcile_every_s + RECONCILE_RETRY_S
            self._reconcile_why = "periodic"
        if self._snapshot_due:
            self._publish_snapshot()
        if self.clock().elapsed - self._status_at >= self.config.status_interval_s:
            self._publish_status()

    def _match(self) -> None:
        for report in self.broker.match():
            order = self.open.get(report.client_order_id)
            if order is not None:  # a final one takes no report (``_apply_report``) ...
                self._apply_report(order, report)
            elif report.client_order_id in self.book.fees_due:  # ... but what its fill cost
                self._fees_of_final(report)
        for event in self.broker.events():  # refused venue input, rate limits: journaled
            self.publish(event)

    def _cancel_open(self, reason: str) -> None:
        open_orders = [o for o in self.open.values() if o.status is OrderStatus.SUBMITTED]
        if not open_orders:
            return
        reports = self.broker.cancel_all([o.client_order_id for o in open_orders])
        for order, report in zip(open_orders, reports, strict=True):
            # A cancel's answer carries what filled before it (a part, or all of it: a cancel
            # racing a fill): booked first, then closed, with the reason of the cancel.
            cancelled = report.status is OrderStatus.CANCELLED
            self._apply_report(order, replace(report, reason=reason) if cancelled else report)

    # --- events, start, drain ----------------------------------------------------------

    def on_event(self, env: Envelope[Message]) -> None:
        """Prices mark the book and let the venue fill; the trading state gates and cancels."""
        msg = env.payload
        cfg: ExecutionConfig = self.config
        if isinstance(msg, FeedReconnected):
            self._reconcile_at = float("-inf")  # what happened in the gap: at the next tick
            self._reconcile_why = "reconnect"
            return
        if isinstance(msg, TradingStateChanged):
            # The runtime has set ``trading_gate`` and sent the ack before this hook runs
            # (docs/adr/0005): what is left to do is cancelling what rests at the venue, here,
            # in the same call (no second hop to this thread).
            if cfg.cancel_on_stop and msg.state in (TradingState.HALTED, TradingState.PAUSED):
                self._cancel_open(f"trading {msg.state.value}: {msg.reason}")
            return
        if isinstance(msg, PriceTick):
            self.prices[msg.instrument] = msg.price
            self.priced_at[msg.instrument] = self.clock().wall
            self.last_ts = msg.ts
            for rec in self.markouts.on_price(msg.instrument, msg.price, msg.ts):
                self.put(MARKOUT_KEY + rec.client_order_id, rec)
            self.broker.mark(msg.instrument, msg.price)
            self._match()
            self.book.ticks += 1
            if self.book.ticks % cfg.equity_every_ticks == 0:
                self._publish_equity()

    def on_ready(self) -> None:
        """Move the final orders of an older state file under ``FINAL_KEY``; reconcile every
        order that is not final with the broker, by client order id; then publish what
        execution holds."""
        for order in self._legacy_final:
            self._put_order(order)
        if self._legacy_final:
            self.put("book", self.book)
            self._legacy_final = []
        self._reconcile()
        self._settle_fees_due()
        self._check_positions()
        self._publish_snapshot()
        self._publish_status()

    def _settle_fees_due(self) -> None:
        """Fills of final orders booked before the venue said what they cost (the last
        process stopped first): asked for now, so the positions compared next are net of them."""
        for coid in [c for c in self.book.fees_due if c not in self.open]:
            report = self.broker.lookup(coid)
            if report is not None:
                self._fees_of_final(report)

    def _check_positions(self) -> None:
        """After the restart's reconciliation, execution's positions must be the venue's; a
        difference it cannot explain (a book lost or restored from an older copy) halts."""
        if self.broker.name == "shadow":
            return  # nothing is sent: the venue holds nothing of ours
        here = {k: p.quantity for k, p in self.book.portfolio.positions.items()}
        diffs = position_differences(here, self.broker.positions())
        if not diffs:
            return
        due = (f"; {len(self.book.fees_due)} fill(s) still wait for their commission"
               if self.book.fees_due else "")
        reason = (f"reconcile: positions differ from the {self.broker.name} venue's "
                  f"({'; '.join(diffs)}{due}); execution's state was lost or restored from an "
                  "older copy: check the venue, then restore or correct the book before resuming")
        log.get("execution").error("positions_mismatch", differences=diffs,
                                   action="requesting HALTED")
        self.request_trading_state("HALTED", source="execution", reason=reason)

    def _reconcile_venue(self, why: str) -> bool:
        """Every order of ours the venue lists since the last time against execution's record:
        what is behind here is recovered (asked for, booked), what rests there untracked is
        cancelled, and a difference nothing explains halts; journaled as ``VenueReconciled``.
        False when the venue could not be asked (tried again soon)."""
        try:
            listed = self.broker.order_fills()
        except Exception as exc:  # noqa: BLE001 - a venue down or refusing: asked again soon
            log.get("execution").warning("venue_reconcile_failed", why=why,
                                         error=f"{type(exc).__name__}: {exc}"[:300],
                                         retry_in_s=RECONCILE_RETRY_S)
            return False
        here: dict[str, Fill | None] = {}
        for coid in listed:
            rec = self._known(coid)
            here[coid] = None if rec is None else Fill(rec.filled, rec.status in FINAL)
        check = compare_fills(listed, here)
        recovered = 0
        for coid in check.recover:
            order, report = self.open.get(coid), self.broker.lookup(coid)
            if order is not None and report is not None:
                before = order.filled
                self._apply_report(order, report)
                recovered += order.filled > before
        if check.cancel:
            self.broker.cancel_all(check.cancel)
        self.publish(VenueReconciled(
            open_at_venue=sum(not f.final for f in listed.values()), open_here=len(self.open),
            adopted=0, cancelled=len(check.cancel), fills_recovered=recovered,
            mismatches=check.mismatches[:50], ok=not check.mismatches))
        log.get("execution").info(
            "venue_reconciled", why=why, ok=not check.mismatches, listed=len(listed),
            recovered=recovered, cancelled=len(check.cancel), mismatches=check.mismatches[:20])
        if check.mismatches:
            log.get("execution").error("venue_reconcile_mismatch", why=why,
                                       mismatches=check.mismatches[:20], action="requesting HALTED")
            self.request_trading_state(
                "HALTED", source="execution",
                reason=f"reconcile ({why}): the venue differs from execution's record "
                       f"({'; '.join(check.mismatches[:3])}); check the venue before resuming")
        return True

    def _reconcile(self) -> None:
        for order in list(self.open.values()):
            report = self.broker.lookup(order.client_order_id)
            if report is None:
                if order.status is OrderStatus.PENDING_SUBMIT:
                    self.defer(order.client_order_id)  # never reached the venue: send it now
                elif self.broker.name == "shadow":
                    self._close(order, OrderStatus.RECORDED, "shadow: recorded")
                else:
                    self._close(order, OrderStatus.REJECTED, "unknown at the venue after restart",
                                code="reconcile")
            else:
                self._apply_report(order, report)
        # An order resting at the venue that execution has no record of: its record was lost
        # (an OS crash inside a NORMAL store's fsync window, ADR 0004). Nothing may trade that
        # nobody tracks: cancel it, and say so on the bus (journaled, counted).
        unknown = [c for c in self.broker.open_orders() if self._known(c) is None]
        for report in self.broker.cancel_all(unknown) if unknown else []:
            self.publish(OrderCancelled(
                client_order_id=report.client_order_id, instrument="(unknown)",
                reason="reconcile: resting at the venue with no record in execution: cancelled",
            ))

    def on_drain(self) -> bool:
        """Settle what is open per the shutdown policy; drained when nothing is in flight."""
        self.draining = True
        for order in list(self.open.values()):
            if order.status is OrderStatus.PENDING_SUBMIT:
                self.on_deferred(order.client_order_id)
        if self.config.shutdown_policy == "leave":
            return True  # open orders stay at the venue; a restart reconciles them
        self._cancel_open("drain: shutdown policy is cancel")
        if self._snapshot_due:
            self._publish_snapshot()
        return not self.open

    def _reduces(self, order: SubmitOrder | OrderRecord) -> bool:
        pos = self.book.portfolio.positions.get(order.instrument)
        qty = pos.quantity if pos else 0.0
        after = qty + (order.quantity if order.side is Side.BUY else -order.quantity)
        return abs(after) < abs(qty) and qty * after >= 0

    def _publish_equity(self) -> None:
        pf = self.book.portfolio
        equity = pf.equity(self.prices)
        # The daily-loss baseline is the first mark of the session, not the first order's.
        rolled = gate.roll_session(self.gate_state, equity, self.clock(), self.config.gate)
        if rolled is not self.gate_state:
            self.gate_state = rolled
            self.put("gate", rolled)
        self.publish(EquityUpdated(
            equity=equity, cash=pf.cash, realized_pnl=pf.realized_pnl, ts=self.last_ts,
        ))

    def _accepted(self, order: OrderRecord) -> OrderAccepted:
        return OrderAccepted(
            client_order_id=order.client_order_id, intent_id=order.intent_id,
            instrument=order.instrument, side=order.side, quantity=order.quantity,
            status=order.status,
        )

