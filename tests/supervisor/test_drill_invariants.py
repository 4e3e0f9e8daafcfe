"""The drill invariants over state directories built with the real writers (no tree running)."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import msgspec
import pytest

from actors._runtime.halts_reader import HALTS_FILE
from actors._runtime.store import StateStore
from actors._runtime.trading import TradingState
from actors.alerter import actor as alerter_actor
from actors.alerter.outbox import Outbox, enqueue_event
from actors.breaker.actor import Persisted
from actors.execution.actor import Book, OrderRecord, client_order_id
from actors.execution.broker import BrokerOrder
from actors.execution.messages import OrderStatus, Side
from actors.execution.paper import PaperVenue
from actors.execution.portfolio import Portfolio
from actors.journal.layout import day_path
from actors.journal.writer import FsyncPolicy, JournalWriter
from supervisor.drill import invariants as inv
from supervisor.drill import stores
from supervisor.halts import HaltsStore
from supervisor.trading_state import Source, transition
from tests.supervisor.test_halts import _tamper


def _commit(path: Path, writes: dict[str, bytes]) -> None:
    async def go() -> None:
        store = await StateStore.open(path)
        await store.commit(writes)
        await store.close()

    asyncio.run(go())


def _order(intent: str, side: Side, qty: float, status: OrderStatus,
           coid: str | None = None) -> OrderRecord:
    filled = qty if status in inv.BOOKED else 0.0
    return OrderRecord(client_order_id=coid or client_order_id(intent), intent_id=intent,
                       instrument="BTC-USD", side=side, quantity=qty, reference_price=100.0,
                       limit_price=None, status=status, filled=filled)


def _execution(state: Path, orders: list[OrderRecord], *, key_of: dict[str, str] | None = None
               ) -> None:
    """Execution's state as execution writes it: the book after booking these orders' fills."""
    pf = Portfolio(cash=100_000.0)
    for o in orders:
        if o.status in inv.BOOKED:
            pf.apply_fill(o.instrument, o.side, o.filled, 100.0)
    enc = msgspec.msgpack.encode
    writes = {"book": enc(Book(portfolio=pf))}
    for o in orders:
        writes[f"order/{(key_of or {}).get(o.client_order_id, o.client_order_id)}"] = enc(o)
    _commit(state / "execution.sqlite", writes)


def _paper(state: Path, orders: list[OrderRecord], *, fill: bool = True) -> None:
    """The paper venue's book after it took (and, with ``fill``, filled) these orders."""
    now = [1000.0]
    venue = PaperVenue(state / stores.VENUE_FILE, latency_s=0.0, slippage_bps=0.0,
                       clock=lambda: now[0])
    for o in orders:
        venue.submit(BrokerOrder(o.client_order_id, o.instrument, o.side, o.quantity, 100.0, None))
    if fill:
        venue.mark("BTC-USD", 100.0)
        venue.match()
    venue.close()


def _names(found: list[inv.Violation]) -> set[str]:
    return {v.invariant for v in found}


def test_consistent_paper_state_has_no_violation(tmp_path: Path) -> None:
    """Orders filled at the venue and booked by execution: no duplicate, none lost, positions
    equal the venue's fills."""
    orders = [_order("i1", Side.BUY, 2.0, OrderStatus.FILLED),
              _order("i2", Side.SELL, 0.5, OrderStatus.FILLED)]
    _execution(tmp_path, orders)
    _paper(tmp_path, orders)
    assert inv.no_duplicate_client_order_ids(tmp_path) == []
    assert inv.no_lost_orders(tmp_path) == []
    assert inv.fills_reflected_in_positions(tmp_path) == []


def test_an_intent_that_became_two_orders_is_a_duplicate(tmp_path: Path) -> None:
    """Two execution records of one intent (one under a minted id) are reported, naming the
    intent; so is a record filed under a key that is not its client order id."""
    a = _order("i1", Side.BUY, 1.0, OrderStatus.RECORDED)
    b = _order("i1", Side.BUY, 1.0, OrderStatus.RECORDED, coid="QF-minted")
    _execution(tmp_path, [a, b], key_of={"QF-minted": "QF-elsewhere"})
    found = inv.no_duplicate_client_order_ids(tmp_path)
    details = " ".join(v.detail for v in found)
    assert _names(found) == {"no_duplicate_client_order_ids"}
    assert "intent i1 became 2 orders" in details
    assert "not derived from its intent" in details
    assert "order/QF-elsewhere" in details


def test_a_client_order_id_twice_at_the_venue_is_a_duplicate(tmp_path: Path) -> None:
    """A venue book that lost its unique key and holds one client order id twice is reported
    (the check counts rows, it does not trust the schema)."""
    order = _order("i1", Side.BUY, 1.0, OrderStatus.FILLED)
    _execution(tmp_path, [order])
    con = sqlite3.connect(tmp_path / stores.VENUE_FILE)
    con.execute("CREATE TABLE orders (client_order_id TEXT, instrument TEXT, side TEXT, "
                "quantity REAL, status TEXT)")
    row = (order.client_order_id, "BTC-USD", "BUY", 1.0, "FILLED")
    con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?)", [row, row])
    con.commit()
    con.close()
    found = inv.no_duplicate_client_order_ids(tmp_path)
    assert [v.detail for v in found] == [
        f"paper venue holds client order id {order.client_order_id} 2 times"]


def test_orders_missing_on_either_side_are_lost(tmp_path: Path) -> None:
    """A venue order execution never wrote, and an order execution books as filled that the
    venue never saw, are both reported."""
    known = _order("i1", Side.BUY, 1.0, OrderStatus.FILLED)
    ghost = _order("ghost", Side.BUY, 1.0, OrderStatus.FILLED)
    unseen = _order("i2", Side.BUY, 1.0, OrderStatus.FILLED)
    _execution(tmp_path, [known, unseen])
    _paper(tmp_path, [known, ghost])
    details = [v.detail for v in inv.no_lost_orders(tmp_path)]
    assert any(ghost.client_order_id in d and "unknown to execution" in d for d in details)
    assert any(unseen.client_order_id in d and "never saw it" in d for d in details)
    assert len(details) == 2


def test_a_venue_fill_execution_did_not_book_breaks_positions(tmp_path: Path) -> None:
    """Positions differing from the venue's fills are reported per instrument; without a venue
    (shadow) execution's own booked records are the reference."""
    booked = _order("i1", Side.BUY, 1.0, OrderStatus.FILLED)
    resting = _order("i2", Side.BUY, 3.0, OrderStatus.SUBMITTED)
    _execution(tmp_path, [booked, resting])
    _paper(tmp_path, [booked, resting])  # the venue filled both; execution booked one
    found = inv.fills_reflected_in_positions(tmp_path)
    assert [v.detail for v in found] == [
        "BTC-USD: execution holds 1, the venue's fills say 4"]
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    _execution(shadow, [_order("s1", Side.SELL, 2.0, OrderStatus.RECORDED)])
    assert inv.fills_reflected_in_positions(shadow) == []


def test_a_tampered_halts_row_or_a_missing_store_fails_verification(tmp_path: Path) -> None:
    """halts_verify reports what ``quantfund halts verify`` would: an edited row, a missing file."""
    assert _names(inv.halts_verify(tmp_path)) == {"halts_verify"}  # no store at all
    store = HaltsStore.open(tmp_path / HALTS_FILE)
    change = transition(TradingState.ACTIVE, TradingState.HALTED, source=Source.OPERATOR,
                        reason="test", at=time.time())
    store.append_transition(change, who="pytest")
    store.close()
    assert inv.halts_verify(tmp_path) == []
    _tamper(tmp_path / HALTS_FILE, ("UPDATE halts SET reason = 'forged' WHERE seq = 1", ()))
    found = inv.halts_verify(tmp_path)
    assert len(found) == 1
    assert "row 1" in found[0].detail


def _journal(state: Path, events: list[tuple[str, dict[str, object]]]) -> str:
    with JournalWriter(state, fsync=FsyncPolicy.NONE) as journal:
        for name, fields in events:
            entry = journal.append(name, fields, at=time.time())
    return entry.day


def test_an_edited_journal_line_fails_verification(tmp_path: Path) -> None:
    """journal_verifies names the first broken line, as ``quantfund journal verify`` does."""
    day = _journal(tmp_path, [("OrderFilled", {"n": 1}), ("OrderFilled", {"n": 2})])
    assert inv.journal_verifies(tmp_path) == []
    path = day_path(tmp_path, day)
    path.write_bytes(path.read_bytes().replace(b'"n":2', b'"n":3'))
    found = inv.journal_verifies(tmp_path)
    assert len(found) == 1
    assert f"journal/{day}.md:4" in found[0].detail


def _outbox(state: Path, events: list[tuple[str, dict[str, object], str]]) -> None:
    async def go() -> None:
        async with await Outbox.open(state / stores.OUTBOX_FILE) as outbox:
            for name, fields, msg_id in events:
                await enqueue_event(outbox, name, fields, dedupe_key=msg_id)

    asyncio.run(go())


def test_a_red_event_missing_from_the_outbox_is_reported(tmp_path: Path) -> None:
    """A journaled halt (RED) with no outbox row of its message id is a violation; YELLOW and
    INFO events are not looked for; once the alert is stored the check holds."""
    halt = {"command": "halt", "who": "op", "reason": "r", "result": "ok"}
    _journal(tmp_path, [
        ("AdminCommandReceived", {"msg_id": "m-red", "sender": "supervisor", **halt}),
        ("HeartbeatMissed", {"msg_id": "m-yellow", "sender": "heartbeat", "actor": "x",
                             "silent_s": 3.0}),
    ])
    found = inv.red_events_in_outbox(tmp_path)
    assert len(found) == 1
    assert "m-red" in found[0].detail
    assert "no outbox" in found[0].detail
    _outbox(tmp_path, [("AdminCommandReceived", halt, "m-red")])
    assert inv.red_events_in_outbox(tmp_path) == []


def test_breaker_counters_must_not_go_down_or_vanish(tmp_path: Path) -> None:
    """breaker_snapshot reads the persisted counters; breaker_monotonic flags a counter that went
    down and a breaker state that disappeared (a reset breaker)."""
    assert inv.breaker_snapshot(tmp_path) == {}
    _commit(tmp_path / "breaker.sqlite",
            {"breaker": msgspec.msgpack.encode(Persisted(marks=10, trades=4, trips=2))})
    before = inv.breaker_snapshot(tmp_path)
    assert before == {"marks": 10.0, "trades": 4.0, "trips": 2.0, "halts": 0.0, "resets": 0.0}
    assert inv.breaker_monotonic(before, {**before, "marks": 11.0}) == []
    down = inv.breaker_monotonic(before, {**before, "trips": 1.0})
    assert [v.detail for v in down] == ["trips went down from 2 to 1"]
    assert len(inv.breaker_monotonic(before, {})) == len(before)


def test_no_orphans_counts_running_processes_but_not_zombies() -> None:
    """A running pid is an orphan; once killed it is gone even before it is reaped (a zombie
    cannot trade), and after it is reaped."""
    proc = subprocess.Popen(["sleep", "30"])
    try:
        found = inv.no_orphans([proc.pid])
        assert len(found) == 1
        assert f"pid {proc.pid} still runs" in found[0].detail
        proc.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 5
        while inv.no_orphans([proc.pid]) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert inv.no_orphans([proc.pid]) == []  # a zombie: not reaped yet
    finally:
        proc.kill()
        proc.wait(timeout=5)
    assert inv.no_orphans([proc.pid]) == []


@pytest.mark.parametrize(("ours", "theirs"), [
    (stores.OUTBOX_FILE, alerter_actor.OUTBOX_FILE),
    (inv.OUTBOX_KEEP_S, alerter_actor.KEEP_SENT_S),
])
def test_names_copied_from_the_alerter_match_it(ours: object, theirs: object) -> None:
    """The outbox file name and retention the drill keeps (to avoid importing Telegram) are the
    alerter's own."""
    assert ours == theirs
