"""Halt -> last cancel acknowledged by the venue, with orders resting there, over many halts.

A tree trading at the local exchange (``broker = "venue"``); EveryN answers each new price
with a limit order 5 % away on the passive side, so it rests. Each round the benchmark moves
the price until ``resting`` orders rest at the venue, then sends ``halt`` on the supervisor's
admin socket (the operator's path: supervisor -> every actor's ack -> execution's
``_cancel_open`` -> ``VenueBroker.cancel_all``, one concurrent DELETE per order), and reads the
exchange's stamps: when each cancel arrived and when it was answered. Then ``resume``.

Then, with the tree stopped, the same through ``VenueBroker.cancel_all`` alone in this process
(no supervisor, no execution): what of the figure is the broker, ccxt and the venue.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import zmq

from actors._runtime import endpoints
from actors.execution.broker import BrokerOrder
from actors.execution.messages import OrderCancelled, OrderStatus, Side
from actors.venue.broker import VenueBroker
from actors.venue.config import VenueConfig
from actors.venue.exchange import make_exchange
from benchmarks.venue_common import BusRecorder, exchange_and_tree, table
from supervisor.admin_messages import (
    ENCODER,
    REPLY_DECODER,
    CommandReply,
    HaltRequest,
    ResumeRequest,
)
from tests.support.exchange.process import KEY, SECRET, ExchangeProcess

SYMBOL = "BTC/USDT"


class Admin:
    """The supervisor's admin socket, one request at a time."""

    def __init__(self, run_dir: Path) -> None:
        """Connect."""
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.connect(endpoints.admin(run_dir))

    def call(self, req: object) -> CommandReply:
        """Send ``req``; its reply (within 10 s)."""
        self.sock.send_multipart([b"", ENCODER.encode(req)])
        if not self.sock.poll(10_000):
            raise RuntimeError(f"no reply to {type(req).__name__} within 10 s")
        reply = REPLY_DECODER.decode(self.sock.recv_multipart()[-1])
        if not isinstance(reply, CommandReply) or not reply.ok:
            raise RuntimeError(f"{type(req).__name__} refused: {reply}")
        return reply

    def close(self) -> None:
        """Close the socket and its context."""
        self.sock.close(linger=0)
        self.ctx.term()


def _wait(x: ExchangeProcess, what: str, n: int, timeout: float = 10.0) -> dict[str, Any]:
    """The exchange's stamps once ``what`` holds ``n`` entries (raises after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while True:
        stamps = x.control("stamps")
        if len(stamps[what]) >= n:
            return dict(stamps)
        if time.monotonic() > deadline:
            raise RuntimeError(f"the exchange has {len(stamps[what])} {what}, not {n}")
        time.sleep(0.01)


def _rest(x: ExchangeProcess, resting: int, price: float) -> tuple[float, list[str]]:
    """Move the price until ``resting`` new orders rest at the venue; the price, their ids."""
    x.control("stamps", {})  # forget the last round's
    deadline = time.monotonic() + 20
    received: dict[str, float] = {}
    while len(received) < resting:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(received)} orders rest at the venue, not {resting}")
        for _ in range(resting - len(received)):
            price = round(price + 0.01, 2)
            x.control("price", {"symbol": SYMBOL, "price": f"{price:.2f}"})
            time.sleep(0.025)  # > 2 loop iterations: one bar, one order per price
        time.sleep(0.05)
        received = x.control("stamps")["order_received"]
    return price, list(received)


VENUE_SPANS = ("{start} -> last cancel answered by the venue",
               "  {start} -> first cancel received by the venue",
               "  first cancel received -> last answered (the venue)")
"""The three spans read from the exchange's stamps, from ``start`` (halt sent, cancel_all
called)."""


def _venue_spans(out: dict[str, list[float]], start: str, t0: float, stamps: dict[str, Any],
                 coids: list[str]) -> None:
    """Append the ``VENUE_SPANS`` of one round, from ``t0``, to ``out`` (ms)."""
    answered = max(stamps["cancel_answered"][c] for c in coids)
    arrived = min(stamps["cancel_received"][c] for c in coids)
    for name, value in zip(VENUE_SPANS, (answered - t0, arrived - t0, answered - arrived),
                           strict=True):
        out.setdefault(name.format(start=start), []).append(value * 1000)


def run_halt(tmp: Path, exchange_args: list[str], *, halts: int, resting: int) -> None:
    """Time ``halts`` halts with ``resting`` orders at the venue each."""
    args = ["--symbols", SYMBOL, "--prices", f"{SYMBOL}=50000", "--balances",
            "USDT=100000000,BTC=1000", *exchange_args]
    out: dict[str, list[float]] = {}
    counts: list[int] = []
    with exchange_and_tree(tmp, args, symbols=[SYMBOL], interval=0.01,
                           offset=5.0) as (x, tree):
        admin = Admin(tree.run_dir)
        try:
            with BusRecorder(tree.run_dir, [b"OrderCancelled."]) as bus:
                price = 50000.0
                for i in range(halts):
                    price, coids = _rest(x, resting, price)
                    time.sleep(0.05)  # every answer back in execution: SUBMITTED there
                    bus.take()
                    t0 = time.time()
                    admin.call(HaltRequest(reason=f"bench {i}", who="bench"))
                    replied = time.time()
                    st = _wait(x, "cancel_answered", len(coids))
                    time.sleep(0.05)
                    cancelled = [e.sent_at for e in bus.take()
                                 if isinstance(e.payload, OrderCancelled)]
                    admin.call(ResumeRequest(reason=f"bench {i}", who="bench"))
                    counts.append(len(coids))
                    _venue_spans(out, "halt sent", t0, st, coids)
                    if cancelled:
                        out.setdefault("halt sent -> last OrderCancelled on the bus",
                                       []).append((max(cancelled) - t0) * 1000)
                    out.setdefault("halt sent -> the operator has the reply", []).append(
                        (replied - t0) * 1000)
        finally:
            admin.close()
        tree.stop()
        direct = _direct(x, halts, resting)
    table(f"halt -> cancels at the venue, whole tree, admin halt ({halts} halts, "
          f"{min(counts, default=0)}-{max(counts, default=0)} orders resting at each)", out)
    table(f"VenueBroker.cancel_all alone, this process ({halts} calls, {resting} orders each)",
          direct)


def _direct(x: ExchangeProcess, rounds: int, resting: int) -> dict[str, list[float]]:
    """``rounds`` times: ``resting`` limit orders through the broker, then ``cancel_all``."""
    cfg = VenueConfig(rest_url=x.base_url, ws_url=x.ws_url, symbols=[SYMBOL])
    broker = VenueBroker(lambda: make_exchange(cfg, key=KEY, secret=SECRET), symbols=[SYMBOL],
                         request_timeout_s=2.0, recv_window_s=5.0, poll_s=3600.0)
    out: dict[str, list[float]] = {}
    try:
        for r in range(rounds):
            x.control("stamps", {})
            coids = [f"QF-bench-{r}-{k}" for k in range(resting)]
            for c in coids:
                broker.submit(BrokerOrder(c, SYMBOL, Side.BUY, 0.001, 50000.0, 45000.0))
            time.sleep(0.02)
            t0 = time.time()
            reports = broker.cancel_all(coids)
            t1 = time.time()
            if any(rep.status is not OrderStatus.CANCELLED for rep in reports):
                raise RuntimeError(f"not cancelled: {reports}")
            _venue_spans(out, "called", t0, x.control("stamps"), coids)
            out.setdefault("called -> returned, every order CANCELLED", []).append(
                (t1 - t0) * 1000)
    finally:
        broker.close()
    return out
