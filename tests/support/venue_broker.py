"""A venue broker on a local exchange, for the broker-level tests (unmodified ccxt over HTTP)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from actors.execution.broker import BrokerOrder, BrokerReport
from actors.execution.messages import OrderStatus, Side
from actors.venue.broker import VenueBroker
from actors.venue.exchange import make_exchange
from tests.support.exchange.process import ExchangeProcess, local_exchange

KEY, SECRET = "test-key", "test-secret"
START_BALANCES = {"USDT": 100000.0, "BTC": 1.0}
"""What the account holds at the start (``venue_broker``'s exchange, and the tree tests')."""


@dataclass
class Cfg:
    """The [venue] fields ``make_exchange`` reads."""

    rest_url: str
    ws_url: str
    exchange: str = "binance"
    sandbox: bool = False
    request_timeout_s: float = 1.0
    recv_window_ms: int = 1000


@contextmanager
def venue_broker(tmp_path: Path) -> Iterator[tuple[ExchangeProcess, VenueBroker]]:
    """A local exchange at BTC 50000 with 100k USDT and 1 BTC, and a broker on it."""
    balances = ",".join(f"{k}={v:g}" for k, v in START_BALANCES.items())
    with local_exchange(tmp_path / "exchange.sqlite", "--prices", "BTC/USDT=50000",
                        "--symbols", "BTC/USDT", "--balances", balances,
                        "--key", KEY, "--secret", SECRET) as x:
        cfg = Cfg(rest_url=x.base_url, ws_url=x.ws_url)
        broker = VenueBroker(lambda: make_exchange(cfg, key=KEY, secret=SECRET),
                             symbols=["BTC/USDT"], request_timeout_s=cfg.request_timeout_s,
                             recv_window_s=cfg.recv_window_ms / 1000, poll_s=0.05)
        try:
            yield x, broker
        finally:
            broker.close()


def order(n: int, side: Side = Side.BUY, qty: float = 0.01,
          limit: float | None = None) -> BrokerOrder:
    """Order number ``n`` of a test (client id ``QF-t<n>``)."""
    return BrokerOrder(f"QF-t{n:04d}", "BTC/USDT", side, qty, 50000.0, limit)


def settle(broker: VenueBroker, reports: dict[str, BrokerReport], timeout: float = 10.0,
           done: Callable[[BrokerReport], bool] = lambda r: (
               r.status is not OrderStatus.SUBMITTED and r.fees_known)) -> None:
    """Drain ``match`` until every order in ``reports`` is final with what it cost known (or
    ``done``)."""
    deadline = time.monotonic() + timeout
    while not all(done(r) for r in reports.values()):
        assert time.monotonic() < deadline, {c: r for c, r in reports.items() if not done(r)}
        for r in broker.match():
            reports[r.client_order_id] = r
        time.sleep(0.02)


def held_change(x: ExchangeProcess, asset: str) -> float:
    """How far the venue's balance of ``asset`` (free and locked) moved from the start."""
    return sum(float(v) for v in x.control("stats")["balances"][asset]) - START_BALANCES[asset]


def at_venue(x: ExchangeProcess) -> list[str]:
    """Client order ids at the venue, oldest first."""
    return [o["clientOrderId"] for o in x.control("orders")["orders"]]
