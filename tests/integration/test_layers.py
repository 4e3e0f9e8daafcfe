"""Each layer of the kill switch stops new orders on its own (DESIGN.md section 4).

Layer 3 alone (halts store, supervisor frozen) is in test_killswitch.py; layer 5 (drain) in
test_drain.py and the supervision matrix; layer 6 (systemd watchdog) in tests/systemd.
"""

from __future__ import annotations

import os
import signal
import time

import zmq

from actors import wire
from actors._runtime import endpoints
from actors._runtime.trading import TradingState, TradingStateChanged
from actors.execution.messages import OrderAccepted, OrderRejected, Side, SubmitOrder
from tests.support.tree import wait_stopped
from tests.support.venue import PAPER, execution_orders, venue_total

EXECUTION_ONLY = PAPER + """
[supervisor]
children = ["journal", "execution"]
"""
ORCH_AND_EXECUTION = PAPER + """
[supervisor]
children = ["journal", "execution", "orchestrator"]
"""


def _publish_state(run_dir, state: TradingState) -> None:
    """Put a TradingStateChanged on the bus without the supervisor: nothing is persisted."""
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.connect(endpoints.bus_in(run_dir))
    push.send(wire.codec().encode("pytest", TradingStateChanged(
        previous=TradingState.ACTIVE, state=state, source="operator", reason="layer test",
        seq=999)))
    push.close(linger=2000)
    ctx.term()


def _submit(run_dir, intent: str) -> object:
    ctx = zmq.Context()
    dealer = ctx.socket(zmq.DEALER)
    dealer.connect(endpoints.commands(run_dir, "execution"))
    cmd = SubmitOrder(intent_id=intent, instrument="BTC-USD", side=Side.BUY, quantity=1.0,
                      reference_price=100.0)
    dealer.send(wire.codec().encode("pytest", cmd))
    try:
        assert dealer.poll(5000), "execution did not answer"
        return wire.codec().decode(dealer.recv()).payload
    finally:
        dealer.close(linger=0)
        ctx.term()


def _wait(pred, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_layer_2_the_gate_alone_rejects_orders_the_state_forbids(tree_factory) -> None:
    """No orchestrator (layer 1 absent), nothing in the halts store (layer 3 sees ACTIVE): a
    HALTED on the bus makes execution's gate refuse, before any broker call."""
    tree = tree_factory(EXECUTION_ONLY)
    tree.wait_started()
    first = _submit(tree.run_dir, "before-halt")
    assert isinstance(first, OrderAccepted)
    _wait(lambda: venue_total(tree.state_dir) == 1)
    _publish_state(tree.run_dir, TradingState.HALTED)
    deadline = time.monotonic() + 5
    while True:
        reply = _submit(tree.run_dir, f"after-halt-{time.monotonic()}")
        if isinstance(reply, OrderRejected):
            break
        assert time.monotonic() < deadline, "the gate never saw the halt"
        time.sleep(0.05)
    assert reply.code == "trading_state"
    assert "HALTED" in reply.reason
    assert tree.status().trading_state == "ACTIVE"  # the supervisor and the store never knew
    time.sleep(0.2)
    # Only the first order and those sent before the bus message landed reached the venue.
    accepted_before = venue_total(tree.state_dir)
    for i in range(5):
        assert isinstance(_submit(tree.run_dir, f"more-{i}"), OrderRejected)
    assert venue_total(tree.state_dir) == accepted_before


def test_layer_1_the_orchestrator_alone_emits_no_intent_unless_active(tree_factory) -> None:
    """A HALTED on the bus (not in the store): the orchestrator stops emitting, so execution
    receives no more intents at all, while the loop itself keeps iterating."""
    tree = tree_factory(ORCH_AND_EXECUTION)
    tree.wait_started()
    _wait(lambda: venue_total(tree.state_dir) >= 5)
    _publish_state(tree.run_dir, TradingState.HALTED)
    time.sleep(0.3)  # let in-flight intents land
    exe = tree.child_pid("execution")

    def handled() -> tuple[int, int]:
        os.kill(exe, signal.SIGSTOP)
        wait_stopped(exe)
        try:
            book, _ = execution_orders(tree.state_dir)
        finally:
            os.kill(exe, signal.SIGCONT)
        assert book is not None
        return book.handled, book.rejected

    before = handled()
    time.sleep(0.6)  # 30 loop iterations
    after = handled()
    # Nothing reaches execution any more, accepted or refused: the orchestrator stopped them.
    # (An intent emitted just before the orchestrator heard of the halt may be refused by the
    # gate during the 0.3 s above; that is layer 2, and it is over by `before`.)
    assert after == before, "intents still reached execution after the halt"
    # The loop itself goes on (its iterations advance, seen through its heartbeats).
    def iterations() -> int:
        return next(a.iterations or 0 for a in tree.status().actors if a.name == "orchestrator")

    it = iterations()
    _wait(lambda: iterations() > it, timeout=5)
