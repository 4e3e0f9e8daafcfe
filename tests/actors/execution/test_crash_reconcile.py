"""Execution SIGKILLed between writing an order and recording the broker's answer, then restarted:
no intent becomes two orders at the venue, no fill is lost or booked twice, and after
reconciliation execution's positions equal what the venue filled.

A forked child runs the real ``ExecutionActor`` hooks against a real ``PaperVenue`` file, applying
each hook's effects the way the runtime does (``process.py``: commit the writes to the actor's
state file, then reply, then run deferred work), and SIGKILLs itself at a chosen checkpoint:

``decided``            the order is decided, nothing committed yet
``written``            PENDING_SUBMIT is committed; no broker has seen it
``venue_accepted``     the venue holds the order; execution has not recorded its answer
``submitted``          execution committed SUBMITTED
``venue_filled``       the venue filled it; execution has not booked the fill
``booked``             execution committed the fill

The next child restarts from disk: ``restore``, ``on_ready`` (reconcile by client order id), then
every intent again, as the orchestrator's outbox resends what was never acknowledged. A second
test kills the child with SIGKILL from outside at random moments, to hit points no checkpoint
names (mid-transaction, mid-fsync).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest

from actors._runtime.actor import CallKind, Effects
from actors._runtime.codec import Envelope
from actors._runtime.store import StateStore, connect_readonly, read_snapshot
from actors.execution.actor import (
    FINAL,
    Book,
    ExecutionActor,
    client_order_id,
    stored_orders,
)
from actors.execution.config import ExecutionConfig
from actors.execution.messages import OrderStatus, PriceTick, Side, SubmitOrder
from supervisor.halts import HaltsStore

STEPS = ("decided", "written", "venue_accepted", "submitted", "venue_filled", "booked")
ORDERS = 6
CONFIG = ExecutionConfig(broker="paper", paper_latency_s=0.0, paper_slippage_bps=5.0)
CTX = multiprocessing.get_context("fork")


def _intent(i: int) -> SubmitOrder:
    side = Side.BUY if i % 3 != 2 else Side.SELL
    return SubmitOrder(intent_id=f"crash-{i}", instrument="BTC-USD" if i % 2 else "ETH-USD",
                       side=side, quantity=1.0 + i % 3, reference_price=100.0 + i)


class _Killer:
    """Kill this process at checkpoint ``(order index, step)``; counts orders as they go."""

    def __init__(self, order: int, step: str) -> None:
        self.order, self.step, self.current = order, step, -1

    def at(self, step: str) -> None:
        if (self.current, step) == (self.order, self.step):
            os.kill(os.getpid(), signal.SIGKILL)


class _KillingBroker:
    """The real venue, with checkpoints just after it acted and before execution records it."""

    def __init__(self, inner: Any, killer: _Killer) -> None:
        self.inner, self.killer, self.name = inner, killer, inner.name

    def submit(self, order: Any) -> Any:
        report = self.inner.submit(order)
        self.killer.at("venue_accepted")
        return report

    def match(self) -> Any:
        reports = self.inner.match()
        if reports:
            self.killer.at("venue_filled")
        return reports

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def _run(state_dir: Path, killer: _Killer) -> None:
    store = await StateStore.open(state_dir / "execution.sqlite")
    kv, _ = await store.load()
    actor = ExecutionActor("execution", CONFIG, kv, state_dir)  # hooks only: no actor thread
    actor.broker = _KillingBroker(actor.broker, killer)

    def commit(writes: dict[str, bytes | None]) -> None:
        """The runtime's commit (after a hook, or a hook's ``flush``), with its checkpoints."""
        killer.at("decided")
        store.commit_now(writes)
        statuses = {actor.orders[k.rsplit("/", 1)[-1]].status for k in writes
                    if "order/" in k}  # order/<id> or cold/order/<id>
        if OrderStatus.PENDING_SUBMIT in statuses:
            killer.at("written")
        if OrderStatus.SUBMITTED in statuses:
            killer.at("submitted")
        if OrderStatus.FILLED in statuses:
            killer.at("booked")

    async def call(kind: CallKind, arg: Any = None) -> Effects:
        actor._fx = Effects()
        actor._dispatch(kind, arg)
        fx, actor._fx = actor._fx, Effects()
        commit(fx.writes)
        for token in fx.deferred:
            await call(CallKind.DEFERRED, token)
        return fx

    await call(CallKind.BIND, commit)  # as the runtime does: ``flush`` commits through it

    await call(CallKind.READY)
    for i in range(ORDERS):
        killer.current = i
        env = Envelope(sender="orchestrator", msg_id=f"m{i}", payload=_intent(i))
        await call(CallKind.COMMAND, env)
        for instrument in ("BTC-USD", "ETH-USD"):
            tick = PriceTick(instrument=instrument, price=100.0 + i * 0.5, ts=time.time(),
                             iteration=i)
            await call(CallKind.EVENT, Envelope(sender="orchestrator", msg_id=f"t{i}",
                                                payload=tick))
    killer.current = ORDERS
    for _ in range(20):
        if all(o.status in FINAL for o in actor.orders.values()):
            break
        await call(CallKind.TICK, time.time())
    await store.close()


def _child(state_dir: str, order: int, step: str, delay: float) -> None:
    if delay:
        time.sleep(delay)
    asyncio.run(_run(Path(state_dir), _Killer(order, step)))


def _start(state_dir: Path, order: int = -2, step: str = "", delay: float = 0.0) -> Any:
    proc = CTX.Process(target=_child, args=(str(state_dir), order, step, delay))
    proc.start()
    return proc


def _check(state_dir: Path) -> None:
    """Every intent is one order at the venue, filled, booked once; positions match."""
    con = connect_readonly(state_dir / "paper-venue.sqlite")
    try:
        venue = con.execute(
            "SELECT client_order_id, side, quantity, status, fill_price FROM orders").fetchall()
    finally:
        con.close()
    ids = [row[0] for row in venue]
    assert len(ids) == len(set(ids)) == ORDERS, f"venue holds {ids}"
    assert set(ids) == {client_order_id(f"crash-{i}") for i in range(ORDERS)}
    snap = read_snapshot(state_dir / "execution.sqlite")
    book = msgspec.msgpack.decode(snap["book"], type=Book)
    orders = {o.client_order_id: o for o in stored_orders(snap).values()}
    expected: dict[str, float] = {}
    for coid, side, quantity, status, _price in venue:
        assert status == "FILLED", f"{coid} is {status} at the venue"
        mine = orders[coid]
        assert mine.status is OrderStatus.FILLED, f"{coid}: venue FILLED, execution {mine.status}"
        assert mine.filled == quantity
        instrument = mine.instrument
        expected[instrument] = expected.get(instrument, 0.0) + (quantity if side == "BUY"
                                                                else -quantity)
    assert book.portfolio.fills == ORDERS, "a fill was lost or booked twice"
    assert book.portfolio.signed() == {k: v for k, v in expected.items() if v}
    cash = CONFIG.initial_cash - sum(
        (q if s == "BUY" else -q) * p for _c, s, q, _st, p in venue)
    assert book.portfolio.cash == pytest.approx(cash)


def _fresh(tmp: Path, name: str) -> Path:
    state_dir = tmp / name
    state_dir.mkdir()
    HaltsStore.open(state_dir / "halts.sqlite").close()  # an empty store: ACTIVE
    return state_dir


@pytest.mark.timeout(170)
def test_sigkill_at_each_step_between_order_and_answer_loses_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    """108 trials, 18 at each of the six checkpoints, at a random order each: the killed child
    dies by SIGKILL at that point, a restarted one reconciles and completes, and the venue and
    execution agree exactly (no duplicate client order id, no lost or double fill)."""
    rng = random.Random(20261124)
    kills = 0
    for trial in range(108):
        step = STEPS[trial % len(STEPS)]
        state_dir = _fresh(tmp_path, f"trial{trial}")
        proc = _start(state_dir, rng.randrange(ORDERS), step)
        proc.join(30)
        assert proc.exitcode == -signal.SIGKILL, f"trial {trial} ({step}): {proc.exitcode}"
        kills += 1
        again = _start(state_dir)
        again.join(30)
        assert again.exitcode == 0, f"trial {trial} ({step}): restart failed"
        _check(state_dir)
    assert kills >= 100


@pytest.mark.timeout(170)
def test_sigkill_from_outside_at_random_moments_then_reconcile(tmp_path: Path) -> None:
    """40 trials, each killing the child from outside up to three times at random moments
    (any instruction, mid-commit included) before a run completes: the same invariants hold."""
    rng = random.Random(7)
    landed = 0
    for trial in range(40):
        state_dir = _fresh(tmp_path, f"ext{trial}")
        for _ in range(3):
            proc = _start(state_dir)
            time.sleep(rng.uniform(0.0, 0.08))
            if proc.is_alive():
                os.kill(proc.pid, signal.SIGKILL)
            proc.join(30)
            assert proc.exitcode in (0, -signal.SIGKILL)
            landed += proc.exitcode == -signal.SIGKILL
        final = _start(state_dir)
        final.join(30)
        assert final.exitcode == 0
        _check(state_dir)
    assert landed >= 30, f"only {landed} of 120 kills landed while the child was working"
