"""Execution's wiring of the pre-trade gate and its visible state (ExecutionSnapshot).

The actor's hooks are driven directly (shadow broker, injected clock): each call returns the
effects the runtime would commit and send.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from actors._runtime.actor import CallKind, Effects
from actors._runtime.codec import Envelope
from actors._runtime.store import COLD_PREFIX, StateStore
from actors._runtime.trading import TradingState, TradingStateChanged
from actors.execution.actor import (
    FINAL_KEY,
    Book,
    ExecutionActor,
    client_order_id,
    stored_orders,
)
from actors.execution.config import ExecutionConfig
from actors.execution.gate import GateState
from actors.execution.gate_config import GateConfig
from actors.execution.messages import (
    ExecutionSnapshot,
    ExecutionStatus,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderStatus,
    PriceTick,
    Side,
    SubmitOrder,
)
from supervisor.halts import HaltsStore
from tests.support.clock import SteppedClock
from tests.support.venue import venue_total

GATE = GateConfig(
    max_position=5.0, max_gross_position=1e9, max_order_notional=1e9, max_order_quantity=3.0,
    price_collar_pct=5.0, max_orders_per_window=100, rate_window_s=1.0,
    daily_loss_limit=1e9,
)
T0 = 1_800_000_000.0


def _actor(tmp: Path, **cfg: Any) -> tuple[ExecutionActor, SteppedClock]:
    HaltsStore.open(tmp / "halts.sqlite").close()
    actor = ExecutionActor("execution", ExecutionConfig(**{"gate": GATE, **cfg}), {}, tmp)
    clock = SteppedClock(T0)
    actor.clock = clock
    return actor, clock


def _call(actor: ExecutionActor, kind: CallKind, arg: Any = None) -> Effects:
    actor._fx = Effects()
    actor._dispatch(kind, arg)
    fx, actor._fx = actor._fx, Effects()
    return fx


def _submit(actor: ExecutionActor, intent: str, quantity: float = 1.0, price: float = 100.0,
            side: Side = Side.BUY, limit: float | None = None,
            instrument: str = "BTC-USD") -> Effects:
    cmd = SubmitOrder(intent_id=intent, instrument=instrument, side=side, quantity=quantity,
                      reference_price=price, limit_price=limit)
    fx = _call(actor, CallKind.COMMAND, Envelope(sender="o", msg_id=intent, payload=cmd))
    for token in fx.deferred:
        later = _call(actor, CallKind.DEFERRED, token)
        fx.events.extend(later.events)
        fx.writes.update(later.writes)  # committed after the command's: the same end state
    return fx


def _tick(actor: ExecutionActor, price: float, instrument: str = "BTC-USD") -> Effects:
    tick = PriceTick(instrument=instrument, price=price, ts=T0, iteration=1)
    return _call(actor, CallKind.EVENT, Envelope(sender="o", msg_id="t", payload=tick))


def _halt(actor: ExecutionActor, keep: Callable[[Effects], Effects] = lambda fx: fx) -> None:
    """An operator's halt, as the runtime delivers it: the gate is set (and acked), then the
    handler runs and cancels what rests at the venue in the same call."""
    halt = TradingStateChanged(previous=TradingState.ACTIVE, state=TradingState.HALTED,
                               source="operator", reason="test", seq=1)
    actor.trading_gate.apply(halt)
    fx = keep(_call(actor, CallKind.EVENT, Envelope(sender="s", msg_id="h", payload=halt)))
    assert not fx.deferred, "the cancels need no second call"


@pytest.mark.parametrize(
    ("quantity", "price", "limit", "code", "words"),
    [
        (math.nan, 100.0, None, "invalid_order", "quantity is not finite"),
        (math.inf, 100.0, None, "invalid_order", "quantity is not finite"),
        (1.0, math.nan, None, "invalid_order", "reference_price is not finite"),
        (1.0, 100.0, -math.inf, "invalid_order", "limit_price is not finite"),
        (0.0, 100.0, None, "invalid_order", "quantity must be > 0"),
        (4.0, 100.0, None, "max_quantity", "max_order_quantity 3.0"),
        (1.0, 120.0, None, "price_collar", "price_collar_pct 5.0"),
    ],
)
def test_a_gate_rejection_is_published_counted_and_never_written(
    tmp_path: Path, quantity: float, price: float, limit: float | None, code: str, words: str,
) -> None:
    """Each refused intent: OrderRejected (published and replied) with the RejectCode value and
    a reason, counted by code in the persisted book, and no order written or sent."""
    actor, _ = _actor(tmp_path)
    _tick(actor, 100.0)
    fx = _submit(actor, "bad", quantity, price, limit=limit)
    rejected = [e for e in fx.events if isinstance(e, OrderRejected)]
    assert len(rejected) == 1
    assert rejected[0].code == code
    assert words in rejected[0].reason
    assert fx.reply == rejected[0]
    assert not [k for k in fx.writes if "order/" in k]
    assert not fx.deferred
    book = msgspec.msgpack.decode(fx.writes["book"], type=Book)
    assert book.rejected == 1
    assert book.rejections == {code: 1}


def test_position_limit_counts_open_orders(tmp_path: Path) -> None:
    """Orders not yet filled count toward max_position: 3 + 2 resting, then 1 more is refused
    (paper venue with latency, so nothing fills in between)."""
    actor, _ = _actor(tmp_path, broker="paper", paper_latency_s=3600.0)
    _tick(actor, 100.0)
    assert isinstance(_submit(actor, "a", 3.0).reply, OrderAccepted)
    assert isinstance(_submit(actor, "b", 2.0).reply, OrderAccepted)
    reply = _submit(actor, "c", 1.0).reply
    assert isinstance(reply, OrderRejected)
    assert reply.code == "max_position"


def test_the_gate_follows_the_trading_state(tmp_path: Path) -> None:
    """PAUSED (set in the gate, as the runtime does before its ack): the next intent is refused
    by the gate with code trading_state; the handler that follows cancels nothing it should not."""
    actor, _ = _actor(tmp_path)
    _tick(actor, 100.0)
    assert isinstance(_submit(actor, "before").reply, OrderAccepted)
    changed = TradingStateChanged(previous=TradingState.ACTIVE, state=TradingState.PAUSED,
                                  source="breaker", reason="test", seq=1)
    assert actor.trading_gate.apply(changed)
    _call(actor, CallKind.EVENT, Envelope(sender="s", msg_id="c", payload=changed))
    reply = _submit(actor, "x").reply
    assert isinstance(reply, OrderRejected)
    assert reply.code == "trading_state"
    assert "PAUSED" in reply.reason


def test_gate_state_is_persisted_and_restored(tmp_path: Path) -> None:
    """The throttle and duplicate memory survive a restart (key ``gate``), as elapsed
    readings on the boot they were read on."""
    actor, clock = _actor(tmp_path)
    _tick(actor, 100.0)
    fx = _submit(actor, "one")
    saved = msgspec.msgpack.decode(fx.writes["gate"], type=GateState)
    assert (saved.order_times, saved.boot) == ((clock.elapsed,), clock.boot)
    again = ExecutionActor("execution", ExecutionConfig(gate=GATE), {"gate": fx.writes["gate"]},
                           tmp_path)
    assert again.gate_state == saved


def test_cold_start_market_price_fallback(tmp_path: Path) -> None:
    """Before any tick: ``reference`` lets the order's price stand in for the market price,
    ``reject`` refuses it with no_market_price."""
    lenient, _ = _actor(tmp_path)
    assert isinstance(_submit(lenient, "a").reply, OrderAccepted)
    strict = ExecutionActor("execution", ExecutionConfig(gate=GATE,
                                                         market_price_fallback="reject"),
                            {}, tmp_path)
    reply = _submit(strict, "a").reply
    assert isinstance(reply, OrderRejected)
    assert reply.code == "no_market_price"


def test_snapshot_on_start_and_after_changes_at_most_every_interval(tmp_path: Path) -> None:
    """on_ready publishes one; a change publishes at once unless one went out less than
    0.2 s ago, in which case the next tick does; an idle tick publishes nothing."""
    actor, clock = _actor(tmp_path)

    def snapshots(fx: Effects) -> list[ExecutionSnapshot]:
        return [e for e in fx.events if isinstance(e, ExecutionSnapshot)]

    first = snapshots(_call(actor, CallKind.READY))
    assert first == [ExecutionSnapshot(positions={}, orders={})]
    clock.advance(1.0)
    assert len(snapshots(_submit(actor, "a", 2.0))) == 1  # written and recorded: one snapshot
    _submit(actor, "b", 1.0, side=Side.SELL)  # within 0.2 s: held back
    clock.advance(0.05)
    tick = snapshots(_call(actor, CallKind.TICK, clock.wall))
    assert tick == [ExecutionSnapshot(positions={"BTC-USD": 1.0}, orders={"RECORDED": 2})]
    assert snapshots(_call(actor, CallKind.TICK, clock.wall + 1)) == []


def test_a_venue_order_execution_has_no_record_of_is_cancelled_at_restart(tmp_path: Path) -> None:
    """An order resting at the venue that execution's store does not hold (its record lost in
    an OS crash, ADR 0004) is cancelled by the reconciliation at start, with an OrderCancelled
    naming why; orders execution knows are left as they are."""
    actor, _ = _actor(tmp_path, broker="paper", paper_latency_s=3600.0)
    _tick(actor, 100.0)
    assert isinstance(_submit(actor, "known", 1.0).reply, OrderAccepted)
    assert isinstance(_submit(actor, "lost", 1.0).reply, OrderAccepted)
    lost = next(o.client_order_id for o in actor.orders.values() if o.intent_id == "lost")
    del actor.open[lost]  # as if its record never reached the disk
    fx = _call(actor, CallKind.READY)
    cancelled = [e for e in fx.events if isinstance(e, OrderCancelled)]
    assert [e.client_order_id for e in cancelled] == [lost]
    assert "no record in execution" in cancelled[0].reason
    assert actor.broker.open_orders() == [
        o.client_order_id for o in actor.orders.values() if o.intent_id == "known"
    ]


def test_order_counts_kept_as_orders_close_match_a_full_count(tmp_path: Path) -> None:
    """Counts by status are kept as orders open and close (not recounted over every order at
    each snapshot): after fills, rejections, cancels and a repeated intent they equal a count
    over every order, and a restart from the written state counts the same."""
    actor, clock = _actor(tmp_path, broker="paper", paper_latency_s=0.0)
    store: dict[str, bytes] = {}

    def keep(fx: Effects) -> Effects:
        for k, v in fx.writes.items():
            if v is None:
                store.pop(k, None)
            else:
                store[k] = v
        return fx

    def full_count(a: ExecutionActor) -> dict[str, int]:
        counts: dict[str, int] = {}
        for order in a.orders.values():
            counts[order.status.value] = counts.get(order.status.value, 0) + 1
        return counts

    keep(_tick(actor, 100.0))
    for i in range(4):
        keep(_submit(actor, f"i{i}", 1.0))
    keep(_submit(actor, "i0", 1.0))  # repeated intent: its one existing order, nothing new
    keep(_submit(actor, "too-big", 50.0))  # refused by the gate: no order at all
    clock.advance(1.0)
    keep(_tick(actor, 100.0))  # the resting ones fill
    actor.broker.latency_s = 3600.0  # from here on, orders rest until cancelled
    for i in range(4, 7):
        keep(_submit(actor, f"i{i}", 1.0, side=Side.SELL))
    _halt(actor, keep)
    keep(_submit(actor, "after-halt", 1.0))  # refused: trading state
    assert actor.status_counts() == full_count(actor) == {"FILLED": 4, "CANCELLED": 3}
    # Every order is on disk once, open or final; a start loads none of the final ones and
    # takes the counts from the book.
    assert sorted(stored_orders(store)) == sorted(FINAL_KEY + o.client_order_id
                                                  for o in actor.orders.values())
    loaded = {k: v for k, v in store.items() if not k.startswith(COLD_PREFIX)}
    again = ExecutionActor("execution", ExecutionConfig(gate=GATE), loaded, tmp_path)
    assert not again.orders
    assert again.status_counts() == {"FILLED": 4, "CANCELLED": 3}


class StateFile:
    """Execution's state file (``execution.sqlite``) written as the runtime writes it: each
    call's writes committed before the next call (the hooks alone write nothing)."""

    def __init__(self, state_dir: Path) -> None:
        self.store = asyncio.run(
            StateStore.open(state_dir / "execution.sqlite", synchronous="NORMAL")
        )

    def keep(self, fx: Effects) -> Effects:
        asyncio.run(self.store.commit(fx.writes))
        return fx

    def load(self) -> dict[str, bytes]:
        return asyncio.run(self.store.load())[0]


@pytest.fixture
def state_file(tmp_path: Path) -> Iterator[StateFile]:
    """The state file in ``tmp_path``, closed after the test."""
    state = StateFile(tmp_path)
    yield state
    asyncio.run(state.store.close())


def _ten_closed_orders(
    actor: ExecutionActor, clock: SteppedClock, keep: Callable[[Effects], Effects] = lambda fx: fx,
) -> list[str]:
    """Ten orders at the paper venue that all close: six filled one by one, then four
    cancelled by a halt, after which trading is ACTIVE again. Their intent ids, in the order
    they closed."""
    keep(_tick(actor, 100.0))
    for i in range(6):
        keep(_submit(actor, f"f{i}", side=Side.BUY if i % 2 == 0 else Side.SELL))
        clock.advance(1.0)
        keep(_tick(actor, 100.0))  # it fills
    actor.broker.latency_s = 3600.0  # from here on, orders rest until cancelled
    for i in range(4):
        keep(_submit(actor, f"c{i}", side=Side.BUY if i % 2 == 0 else Side.SELL))
    _halt(actor, keep)
    actor.trading_gate.apply(TradingStateChanged(
        previous=TradingState.HALTED, state=TradingState.ACTIVE, source="operator",
        reason="test", seq=2,
    ))
    return [f"f{i}" for i in range(6)] + [f"c{i}" for i in range(4)]


CLOSED = {"FILLED": 6, "CANCELLED": 4}
# A short duplicate window, passed before the repeats: the gate would let a repeated intent
# through, so only execution's own record of the order stands between it and a second fill.
SHORT_MEMORY_GATE = msgspec.structs.replace(GATE, duplicate_window_s=10.0)


def test_memory_keeps_open_orders_and_only_the_most_recently_closed(tmp_path: Path) -> None:
    """With recent_final_orders=3, ten closed orders leave three in memory, the last three
    closed; the summary still counts every order ever made, and the counts by status."""
    actor, clock = _actor(tmp_path, broker="paper", paper_latency_s=0.0, recent_final_orders=3)
    closed = _ten_closed_orders(actor, clock)
    assert not actor.open
    assert len(actor.orders) == 3
    assert [o.intent_id for o in actor.orders.values()] == closed[-3:]
    assert actor.status_counts() == CLOSED
    summary = actor.summary()
    assert summary["orders"] == 10
    assert summary["orders:FILLED"] == 6
    assert summary["orders:CANCELLED"] == 4


def _repeat_is_its_one_order(actor: ExecutionActor, intent: str, status: OrderStatus,
                             state_dir: Path) -> None:
    """A repeated ``intent`` is answered with its existing order; nothing new is written,
    sent to the venue or booked."""
    fills, at_venue = actor.book.portfolio.fills, venue_total(state_dir)
    fx = _submit(actor, intent)
    assert isinstance(fx.reply, OrderAccepted)
    assert (fx.reply.client_order_id, fx.reply.intent_id, fx.reply.status) == (
        client_order_id(intent), intent, status,
    )
    assert not [k for k in fx.writes if "order/" in k]
    assert not fx.deferred
    assert not [e for e in fx.events if isinstance(e, OrderFilled)]
    assert actor.book.portfolio.fills == fills
    assert venue_total(state_dir) == at_venue


def test_a_repeated_intent_of_an_order_gone_from_memory_is_read_back(
    tmp_path: Path, state_file: StateFile,
) -> None:
    """The first order, filled and long evicted from memory, is repeated: execution reads it
    back from its state file and answers with it, rather than sending it again (the venue
    would answer with its fill, and execution would book that fill a second time)."""
    actor, clock = _actor(tmp_path, broker="paper", paper_latency_s=0.0,
                          recent_final_orders=3, gate=SHORT_MEMORY_GATE)
    _ten_closed_orders(actor, clock, state_file.keep)
    assert client_order_id("f0") not in actor.orders
    clock.advance(60.0)  # past the gate's duplicate window
    assert venue_total(tmp_path) == 10
    _repeat_is_its_one_order(actor, "f0", OrderStatus.FILLED, tmp_path)
    _repeat_is_its_one_order(actor, "c0", OrderStatus.CANCELLED, tmp_path)
    assert actor.summary()["orders"] == 10


def test_a_restart_keeps_few_closed_orders_and_reads_back_the_others(
    tmp_path: Path, state_file: StateFile,
) -> None:
    """Restarted from the state file: no closed order loaded (they are ``cold/``), every order
    counted, and a repeat of any of the ten answered with its one order."""
    first, clock = _actor(tmp_path, broker="paper", paper_latency_s=0.0, gate=SHORT_MEMORY_GATE)
    intents = _ten_closed_orders(first, clock, state_file.keep)
    again = ExecutionActor(
        "execution",
        ExecutionConfig(gate=SHORT_MEMORY_GATE, broker="paper", recent_final_orders=2),
        state_file.load(), tmp_path,
    )
    again.clock = clock
    clock.advance(60.0)  # past the gate's duplicate window
    assert not again.open
    assert not again.orders
    assert again.status_counts() == CLOSED
    assert again.summary()["orders"] == 10
    for intent in intents:
        status = OrderStatus.FILLED if intent.startswith("f") else OrderStatus.CANCELLED
        _repeat_is_its_one_order(again, intent, status, tmp_path)
    assert again.status_counts() == CLOSED


def test_a_state_file_from_before_cold_orders_is_counted_once_and_moved(
    tmp_path: Path, state_file: StateFile,
) -> None:
    """An older state file (final orders under ``order/``, no counts in the book): the first
    start counts them and ``on_ready`` moves them under ``cold/order/`` with the counts in the
    book, in one commit; the next start loads no final order and counts the same; a repeat is
    still its one order."""
    first, clock = _actor(tmp_path, broker="paper", paper_latency_s=0.0, gate=SHORT_MEMORY_GATE)
    intents = _ten_closed_orders(first, clock)
    legacy = {f"order/{o.client_order_id}": msgspec.msgpack.encode(o)
              for o in first.orders.values()}
    old_book = msgspec.structs.replace(first.book, final_counts=None)
    legacy["book"] = msgspec.msgpack.encode(old_book)
    state_file.keep(Effects(writes=dict(legacy)))
    config = ExecutionConfig(gate=SHORT_MEMORY_GATE, broker="paper")

    migrating = ExecutionActor("execution", config, state_file.load(), tmp_path)
    assert migrating.status_counts() == CLOSED
    fx = state_file.keep(_call(migrating, CallKind.READY))
    assert {k for k, v in fx.writes.items() if v is None} == set(legacy) - {"book"}
    assert {k for k in fx.writes if k.startswith(FINAL_KEY)} == {
        FINAL_KEY + k.removeprefix("order/") for k in legacy if k != "book"}
    assert msgspec.msgpack.decode(fx.writes["book"], type=Book).final_counts == CLOSED

    loaded = state_file.load()
    assert not [k for k in loaded if "order/" in k]
    again = ExecutionActor("execution", config, loaded, tmp_path)
    again.clock = clock
    clock.advance(60.0)  # past the gate's duplicate window
    assert again.status_counts() == CLOSED
    assert not _call(again, CallKind.READY).writes  # nothing left to move
    _repeat_is_its_one_order(again, intents[0], OrderStatus.FILLED, tmp_path)


def test_status_reports_the_book_marks_and_gate_headroom(tmp_path: Path) -> None:
    """``status()``: per instrument position, average, last price (and when it was taken),
    unrealised and realised PnL; the account; orders by status and the open ones; the last
    fill; the throttle's headroom (an accepted order uses one; it comes back when the window
    passes) and the gate's session loss against its limit."""
    actor, clock = _actor(tmp_path)
    _call(actor, CallKind.READY)
    _tick(actor, 100.0)
    _submit(actor, "a", 2.0, 100.0)
    _submit(actor, "b", 1.0, 100.0, side=Side.SELL)
    clock.advance(0.1)
    _tick(actor, 110.0)
    st = actor.status()
    pf = actor.book.portfolio
    book = st.instruments["BTC-USD"]
    pos = pf.positions["BTC-USD"]
    assert book.position == pos.quantity == 1.0
    assert book.avg_price == pos.avg_price
    assert book.last_price == 110.0
    assert book.last_price_at == clock.wall
    assert book.unrealized_pnl == pytest.approx(1.0 * (110.0 - pos.avg_price))
    assert book.realized_pnl == pos.realized_pnl == pf.realized_pnl
    assert st.equity == pytest.approx(pf.cash + 110.0)
    assert st.unrealized_pnl == book.unrealized_pnl
    assert st.orders == actor.status_counts() == {"RECORDED": 2}
    assert st.open_orders == {}
    assert st.fills == pf.fills == 2
    assert st.last_fill is not None
    assert st.last_fill.client_order_id == client_order_id("b")
    assert st.last_fill.side is Side.SELL
    assert st.gate.orders_in_window == 2
    assert st.gate.rate_headroom == GATE.max_orders_per_window - 2
    assert st.gate.daily_loss_limit == GATE.daily_loss_limit
    assert st.gate.daily_loss == actor.gate_state.session_start_equity - st.equity
    clock.advance(GATE.rate_window_s)
    assert actor.status().gate.rate_headroom == GATE.max_orders_per_window


def test_status_is_published_on_start_and_every_interval(tmp_path: Path) -> None:
    """One ``ExecutionStatus`` at ready; a tick publishes the next only once
    ``status_interval_s`` has passed since the last."""
    actor, clock = _actor(tmp_path, status_interval_s=1.0)

    def reports(fx: Effects) -> list[ExecutionStatus]:
        return [e for e in fx.events if isinstance(e, ExecutionStatus)]

    assert len(reports(_call(actor, CallKind.READY))) == 1
    clock.advance(0.5)
    assert reports(_call(actor, CallKind.TICK, clock.wall)) == []
    clock.advance(0.5)
    (report,) = reports(_call(actor, CallKind.TICK, clock.wall))
    assert report.at == clock.wall
