"""What the venue benchmark's parts share: the local exchange with a tree pointed at it, the
tree's config around ``[venue]``, and a recorder of bus events on a thread of its own."""

from __future__ import annotations

import contextlib
import os
import statistics
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import zmq

from actors import wire
from actors._runtime import endpoints
from benchmarks.restart import pct
from tests.support.exchange.process import KEY, SECRET, ExchangeProcess, local_exchange
from tests.support.tree import TreeRun

TREE = """
[venue]
exchange = "binance"
rest_url = "{rest}"
ws_url = "{ws}"
symbols = {symbols}
request_timeout_s = 2.0
request_weight_per_minute = {weight}
[execution]
broker = "{broker}"
[orchestrator]
interval_s = {interval}
strategy = "actors.orchestrator.examples:EveryN"
[orchestrator.strategy_params]
every = {every}
quantity = 0.001
limit_offset_pct = {offset}
[orchestrator.feed]
kind = "venue"
wake_on_update = {wake}
[breaker]                       # EveryN pays the spread on every round trip: not a breaker test
max_consecutive_losses = 1000000
sharpe_floor = -1000000.0
"""
"""A tree on the exchange's streams: EveryN orders on every ``every``-th bar (a bar holds only
the symbols updated since the last), market orders or limits ``offset`` % away."""

WEIGHT_LIMIT = 1_000_000
ORDERS_PER_10S = 1_000_000
"""The ORDERS limit the exchange publishes (the gate fits its throttle under it): not a
rate-limit test either."""
"""The exchange's request weight per minute (Binance spot: 6,000): a benchmark's thousands of
orders and cancels a minute are not a rate-limit test."""


def tree_config(x: ExchangeProcess, *, symbols: list[str], broker: str = "venue",
                interval: float = 0.05, every: int = 1, offset: float = 0.0,
                wake: bool = False) -> str:
    """``TREE`` filled in for exchange ``x``."""
    quoted = "[" + ", ".join(f'"{s}"' for s in symbols) + "]"
    return TREE.format(rest=x.base_url, ws=x.ws_url, symbols=quoted, broker=broker,
                       interval=interval, every=every, offset=offset, weight=WEIGHT_LIMIT,
                       wake=str(wake).lower())


@contextlib.contextmanager
def exchange_and_tree(tmp: Path, exchange_args: list[str], **config: Any,
                      ) -> Iterator[tuple[ExchangeProcess, TreeRun]]:
    """The local exchange and a tree pointed at it (``tree_config(**config)``); both stopped,
    and every process of the tree checked gone, when the block ends."""
    tmp.mkdir(parents=True, exist_ok=True)
    os.environ["QUANTFUND_VENUE_KEY"], os.environ["QUANTFUND_VENUE_SECRET"] = KEY, SECRET
    with local_exchange(tmp / "exchange.sqlite", "--weight-limit", str(WEIGHT_LIMIT),
                        "--orders-per-10s", str(ORDERS_PER_10S), *exchange_args) as x:
        (tmp / "tree").mkdir()
        tree = TreeRun(tmp / "tree", tree_config(x, **config))
        try:
            tree.wait_started(timeout=90)
            yield x, tree
        finally:
            tree.stop()


def table(title: str, figures: dict[str, list[float]]) -> None:
    """Print ``title`` and a row per measure with samples: median, p90, p99, max (ms)."""
    print(f"\n{title}")
    print(f"{'measure':<54}{'median':>8}{'p90':>8}{'p99':>8}{'max':>8}   ms")
    for name, v in figures.items():
        if v:
            print(f"{name:<54}{statistics.median(v):>8.2f}{pct(v, 90):>8.2f}"
                  f"{pct(v, 99):>8.2f}{max(v):>8.2f}")


class BusRecorder:
    """Every event on the tree's bus with one of ``topics``, with its envelope, recorded by a
    thread (its own ZeroMQ context) until ``close``."""

    def __init__(self, run_dir: Path, topics: list[bytes]) -> None:
        """Subscribe and start recording (ready when this returns)."""
        self.events: list[Any] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(run_dir, topics, ready),
                                        daemon=True)
        self._thread.start()
        ready.wait(5.0)

    def _run(self, run_dir: Path, topics: list[bytes], ready: threading.Event) -> None:
        ctx = zmq.Context()
        sub = ctx.socket(zmq.SUB)
        for t in topics:
            sub.setsockopt(zmq.SUBSCRIBE, t)
        sub.connect(endpoints.bus_out(run_dir))
        codec = wire.codec()
        ready.set()
        try:
            while not self._stop.is_set():
                if sub.poll(50):
                    env = codec.decode(sub.recv_multipart()[-1])
                    with self._lock:
                        self.events.append(env)
        finally:
            sub.close(linger=0)
            ctx.term()

    def take(self) -> list[Any]:
        """The envelopes recorded since the last ``take``."""
        with self._lock:
            out, self.events = self.events, []
        return out

    def close(self) -> None:
        """Stop recording (the thread and its socket are gone when this returns)."""
        self._stop.set()
        self._thread.join(5.0)

    def __enter__(self) -> BusRecorder:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
