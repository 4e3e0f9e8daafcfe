"""Execution: intents become orders written before any broker sees them; positions persisted."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any, ClassVar

import msgspec

from actors._runtime.actor import BaseActor, Summary
from actors._runtime.codec import Envelope
from actors._runtime.halts_reader import HaltsReader
from actors._runtime.messages import Message
from actors._runtime.trading import TradingStateChanged
from actors.execution.brokers import BrokerOrder, make_broker
from actors.execution.config import ExecutionConfig
from actors.execution.messages import (
    EquityUpdated,
    OrderAccepted,
    OrderFilled,
    OrderRejected,
    OrderStatus,
    PriceTick,
    Side,
    SubmitOrder,
)
from actors.execution.portfolio import Portfolio
from supervisor.trading_state import allows_order

_FINAL = {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED, OrderStatus.RECORDED}


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


class Book(msgspec.Struct):
    """Account-level state (key ``book``)."""

    portfolio: Portfolio
    handled: int = 0
    ticks: int = 0


def client_order_id(intent_id: str) -> str:
    """Deterministic client order id: the same intent can never become two orders."""
    return "QF-" + hashlib.blake2b(intent_id.encode(), digest_size=10).hexdigest()


class ExecutionActor(BaseActor):
    """Order lifecycle, positions and the broker."""

    config_type: ClassVar[type[msgspec.Struct] | None] = ExecutionConfig
    subscriptions: ClassVar[tuple[str, ...]] = ("PriceTick", "TradingStateChanged")
    accepts_commands: ClassVar[bool] = True

    def restore(self, snapshot: Mapping[str, bytes]) -> None:
        """Load the book and every order."""
        cfg: ExecutionConfig = self.config
        raw = snapshot.get("book")
        self.book = (
            msgspec.msgpack.decode(raw, type=Book)
            if raw
            else Book(portfolio=Portfolio(cash=cfg.initial_cash))
        )
        self.orders = {
            k.removeprefix("order/"): msgspec.msgpack.decode(v, type=OrderRecord)
            for k, v in snapshot.items()
            if k.startswith("order/")
        }
        self.iterations = self.book.handled
        self.prices: dict[str, float] = {}
        self.last_ts = 0.0
        self.broker = make_broker(cfg.broker)
        self.halts = HaltsReader(self.state_dir)
        # Sticky: until the bus says otherwise, the state is what the halts store says.
        self.trading, _ = self.halts.state()

    def summary(self) -> Summary:
        """Orders handled, fills, cash and positions (as ``pos:<instrument>``)."""
        out: Summary = {
            "iterations": self.book.handled,
            "orders": len(self.orders),
            "fills": self.book.portfolio.fills,
            "cash": round(self.book.portfolio.cash, 8),
        }
        for instrument, qty in self.book.portfolio.signed().items():
            out[f"pos:{instrument}"] = qty
        return out

    def status_counts(self) -> dict[str, int]:
        """Orders by status."""
        counts: dict[str, int] = {}
        for order in self.orders.values():
            counts[order.status.value] = counts.get(order.status.value, 0) + 1
        return counts

    def on_command(self, env: Envelope[Message]) -> None:
        """``SubmitOrder``: write the order (PENDING_SUBMIT), acknowledge, then reach the broker."""
        cmd = env.payload
        if not isinstance(cmd, SubmitOrder):
            self.reply_ack(ok=False, reason=f"execution accepts no {type(cmd).__name__}")
            return
        self.book.handled += 1
        self.iterations = self.book.handled
        coid = client_order_id(cmd.intent_id)
        existing = self.orders.get(coid)
        if existing is not None:
            self.reply(self._accepted(existing))
            self.put("book", self.book)
            return
        problem = _invalid(cmd)
        code = "invalid"
        if not problem and not allows_order(self.trading, self._reduces(cmd)):
            # Layer 2: the gate refuses what the trading state forbids, before any broker call.
            code, problem = "trading_state", f"trading state is {self.trading.value}"
        if problem:
            rejected = OrderRejected(
                intent_id=cmd.intent_id, instrument=cmd.instrument, code=code, reason=problem
            )
            self.publish(rejected)
            self.reply(rejected)
            self.put("book", self.book)
            return
        order = OrderRecord(
            client_order_id=coid,
            intent_id=cmd.intent_id,
            instrument=cmd.instrument,
            side=cmd.side,
            quantity=cmd.quantity,
            reference_price=cmd.reference_price,
            limit_price=cmd.limit_price,
            status=OrderStatus.PENDING_SUBMIT,
        )
        self.orders[coid] = order
        self.put(f"order/{coid}", order)
        self.put("book", self.book)
        accepted = self._accepted(order)
        self.publish(accepted)
        self.reply(accepted)
        self.defer(coid)

    def on_deferred(self, token: Any) -> None:
        """Submit an order that is already on disk, and book the broker's answer."""
        order = self.orders[str(token)]
        if order.status is not OrderStatus.PENDING_SUBMIT:
            return
        state, why = self.halts.state()
        if not allows_order(state, self._reduces(order)):
            # Layer 3: the halts store is the source of truth, even with every socket broken.
            order.status = OrderStatus.REJECTED
            order.reason = f"{why}: trading state is {state.value}"
            self.publish(OrderRejected(intent_id=order.intent_id, instrument=order.instrument,
                                       code="halts_store", reason=order.reason))
            self.put(f"order/{order.client_order_id}", order)
            return
        report = self.broker.submit(
            BrokerOrder(
                order.client_order_id,
                order.instrument,
                order.side,
                order.quantity,
                order.reference_price,
                order.limit_price,
            )
        )
        order.status = report.status
        order.reason = report.reason
        if report.filled_quantity > 0:
            order.filled = report.filled_quantity
            pf = self.book.portfolio
            realized = pf.apply_fill(
                order.instrument, order.side, report.filled_quantity, report.fill_price
            )
            self.publish(
                OrderFilled(
                    client_order_id=order.client_order_id,
                    instrument=order.instrument,
                    side=order.side,
                    quantity=report.filled_quantity,
                    price=report.fill_price,
                    position_after=pf.positions[order.instrument].quantity,
                    realized_pnl=realized,
                )
            )
            self.prices.setdefault(order.instrument, report.fill_price)
            self._publish_equity()
        self.put(f"order/{order.client_order_id}", order)
        self.put("book", self.book)

    def _reduces(self, order: SubmitOrder | OrderRecord) -> bool:
        pos = self.book.portfolio.positions.get(order.instrument)
        qty = pos.quantity if pos else 0.0
        after = qty + (order.quantity if order.side is Side.BUY else -order.quantity)
        return abs(after) < abs(qty) and qty * after >= 0

    def on_event(self, env: Envelope[Message]) -> None:
        """Mark to market from the feed's prices; follow the trading state."""
        msg = env.payload
        if isinstance(msg, TradingStateChanged):
            self.trading = msg.state
            return
        if isinstance(msg, PriceTick):
            self.prices[msg.instrument] = msg.price
            self.last_ts = msg.ts
            self.book.ticks += 1
            if self.book.ticks % self.config.equity_every_ticks == 0:
                self._publish_equity()

    def on_drain(self) -> bool:
        """Drained when no order is left between the disk and the broker."""
        pending = [o for o in self.orders.values() if o.status is OrderStatus.PENDING_SUBMIT]
        for order in pending:
            self.on_deferred(order.client_order_id)
        return all(o.status in _FINAL for o in self.orders.values())

    def _publish_equity(self) -> None:
        pf = self.book.portfolio
        self.publish(
            EquityUpdated(
                equity=pf.equity(self.prices),
                cash=pf.cash,
                realized_pnl=pf.realized_pnl,
                ts=self.last_ts,
            )
        )

    def _accepted(self, order: OrderRecord) -> OrderAccepted:
        return OrderAccepted(
            client_order_id=order.client_order_id,
            intent_id=order.intent_id,
            instrument=order.instrument,
            side=order.side,
            quantity=order.quantity,
            status=order.status,
        )


def _invalid(cmd: SubmitOrder) -> str:
    """The first thing wrong with the numbers of an order, or ''."""
    for field, value in (("quantity", cmd.quantity), ("reference_price", cmd.reference_price)):
        if not math.isfinite(value):
            return f"{field} {value!r} is not finite"
        if value <= 0:
            return f"{field} {value!r} is not positive"
    if cmd.limit_price is not None and (not math.isfinite(cmd.limit_price) or cmd.limit_price <= 0):
        return f"limit_price {cmd.limit_price!r} is not a positive finite number"
    return ""
