"""A whole tree with ``broker = "venue"`` trading against the local exchange (unmodified ccxt
over real HTTP): orders reach the venue once each, a halt leaves nothing resting there, and
after the stop execution's positions are the venue's. Without credentials it refuses to start."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.exchange.client import ccxt_binance
from tests.support.exchange.process import ExchangeProcess, local_exchange
from tests.support.prometheus import free_port
from tests.support.tree import TreeRun
from tests.support.venue import execution_orders
from tests.support.venue_broker import START_BALANCES, held_change

KEY, SECRET = "test-key", "test-secret"


def venue_config(x: ExchangeProcess, strategy_extra: str = "") -> str:
    """A tree on the simulated feed (BTC/USDT near the exchange's price) sending EveryN's
    orders to the local exchange."""
    return f"""
[venue]
exchange = "binance"
rest_url = "{x.base_url}"
ws_url = "{x.ws_url}"
symbols = ["BTC/USDT"]
request_timeout_s = 2.0
[execution]
broker = "venue"
[orchestrator]
interval_s = 0.05
strategy = "actors.orchestrator.examples:EveryN"
[orchestrator.strategy_params]
every = 2
quantity = 0.001
{strategy_extra}
[orchestrator.feed]
instruments = ["BTC/USDT"]
initial_price = 50000.0
volatility = 0.0005
[breaker]
max_consecutive_losses = 1000000
"""


@pytest.fixture
def exchange(tmp_path: Path) -> Iterator[ExchangeProcess]:
    """The local exchange at BTC 50000, 100k USDT and 1 BTC in the account."""
    with local_exchange(tmp_path / "exchange.sqlite", "--prices", "BTC/USDT=50000",
                        "--symbols", "BTC/USDT", "--balances", "USDT=100000,BTC=1",
                        "--key", KEY, "--secret", SECRET) as x:
        yield x


def _venue_orders(x: ExchangeProcess) -> list[dict[str, object]]:
    return list(x.control("orders")["orders"])


def test_a_tree_trades_at_the_venue_once_per_order_and_matches_its_positions(
    tmp_path: Path, exchange: ExchangeProcess, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Orders flow to the venue, none twice; a halt stops them; after the stop execution's
    net position is the net of its filled orders at the venue."""
    monkeypatch.setenv("QUANTFUND_VENUE_KEY", KEY)
    monkeypatch.setenv("QUANTFUND_VENUE_SECRET", SECRET)
    port = free_port()
    tree = TreeRun(tmp_path, venue_config(exchange) + f'[metrics]\nlisten = "127.0.0.1:{port}"\n')
    try:
        tree.wait_started(timeout=60)
        deadline = time.monotonic() + 60
        while len(_venue_orders(exchange)) < 10:
            assert time.monotonic() < deadline, "no orders reached the venue"
            time.sleep(0.2)
        time.sleep(0.5)  # a heartbeat carries the broker's round trips
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            scraped = resp.read().decode()
        trips = [ln for ln in scraped.splitlines()
                 if ln.startswith('quantfund_venue_round_trip_seconds_count{call="create_order"}')]
        assert trips, "no venue round trips in the metrics"
        assert float(trips[0].split()[-1]) >= 10
        halt = subprocess.run(  # the operator's halt, through the CLI
            [sys.executable, "-m", "supervisor.cli", "halt", "--reason", "test",
             "--run-dir", str(tree.run_dir)], capture_output=True, text=True, timeout=30,
            check=False)
        assert halt.returncode == 0, halt.stderr
        time.sleep(1.0)
        at_halt = len(_venue_orders(exchange))
        time.sleep(1.0)
        assert len(_venue_orders(exchange)) == at_halt, "orders reached the venue after a halt"
        assert not [o for o in _venue_orders(exchange) if o["status"] in ("NEW",
                                                                          "PARTIALLY_FILLED")]
        halted_at = time.time() - 2.0
        deadline = time.monotonic() + 10
        while (shown := tree.status().trading) is None or shown.execution is None or (
                shown.execution.at <= halted_at):
            assert time.monotonic() < deadline, "no status report from execution after the halt"
            time.sleep(0.2)
    finally:
        tree.stop()
    ids = [str(o["clientOrderId"]) for o in _venue_orders(exchange)]
    assert len(ids) == len(set(ids)), "a client order id reached the venue twice"
    book, orders = execution_orders(tree.state_dir)
    assert book is not None
    # ``status`` on the local exchange: execution's own book, as it persisted it.
    ex = shown.execution
    assert ex.fills == book.portfolio.fills
    assert ex.cash == book.portfolio.cash
    assert ex.realized_pnl == book.portfolio.realized_pnl
    assert ex.open_orders == {}
    assert ex.last_fill == book.last_fill
    for name, pos in book.portfolio.positions.items():
        assert ex.instruments[name].position == pos.quantity
        assert ex.instruments[name].avg_price == pos.avg_price
    mine = {o.client_order_id for o in orders}
    assert set(ids) <= mine, "an order at the venue execution never wrote"
    # The account's balances moved exactly as execution's book, commissions included (a buy's
    # in BTC, a sell's in USDT).
    held = book.portfolio.positions.get("BTC/USDT")
    assert book.portfolio.fees, "no commission was booked"
    assert not book.fees_due, "a fill's commission was never booked"
    assert (held.quantity if held else 0.0) == pytest.approx(held_change(exchange, "BTC"),
                                                            abs=1e-9)
    assert book.portfolio.cash - START_BALANCES["USDT"] == pytest.approx(
        held_change(exchange, "USDT"), abs=1e-6)


def _halt(tree: TreeRun) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "supervisor.cli", "halt", "--reason", "test",
         "--run-dir", str(tree.run_dir)], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr


def test_a_halt_leaves_no_order_resting_at_the_venue(
    tmp_path: Path, exchange: ExchangeProcess, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Limit orders 2 % away rest at the venue; a halt cancels every one of them there (the
    venue lists none open afterwards) and execution holds none open either."""
    monkeypatch.setenv("QUANTFUND_VENUE_KEY", KEY)
    monkeypatch.setenv("QUANTFUND_VENUE_SECRET", SECRET)
    tree = TreeRun(tmp_path, venue_config(exchange, "limit_offset_pct = 2.0"))
    resting = ("NEW", "PARTIALLY_FILLED")
    try:
        tree.wait_started(timeout=60)
        deadline = time.monotonic() + 60
        while sum(o["status"] in resting for o in _venue_orders(exchange)) < 10:
            assert time.monotonic() < deadline, "no orders rested at the venue"
            time.sleep(0.2)
        _halt(tree)
        deadline = time.monotonic() + 10
        while left := [o for o in _venue_orders(exchange) if o["status"] in resting]:
            assert time.monotonic() < deadline, f"still resting after the halt: {left[:3]}"
            time.sleep(0.1)
    finally:
        tree.stop()
    _book, orders = execution_orders(tree.state_dir)
    assert not [o for o in orders if o.status.value in ("SUBMITTED", "PENDING_SUBMIT")]
    assert sum(o.status.value == "CANCELLED" for o in orders) >= 10


def test_a_venue_broker_without_credentials_refuses_to_start_naming_which(
    tmp_path: Path, exchange: ExchangeProcess, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No key in the environment or systemd credentials: exit 2, naming the key and where."""
    monkeypatch.delenv("QUANTFUND_VENUE_KEY", raising=False)
    monkeypatch.setenv("QUANTFUND_VENUE_SECRET", SECRET)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    tree = TreeRun(tmp_path, venue_config(exchange))
    code = tree.wait_exit(timeout=30)
    out = "".join(tree.raw)
    assert code == 2, out
    assert "QUANTFUND_VENUE_KEY" in out
    assert "venue-key" in out


def _on_exchange(x: ExchangeProcess, act: Callable[[Any], Awaitable[None]]) -> None:
    """Run ``act(ccxt)`` against the exchange as another client on the same key would."""
    async def main() -> None:
        ex = ccxt_binance(x.base_url, key=KEY, secret=SECRET)
        try:
            await asyncio.wait_for(act(ex), 30)
        finally:
            await ex.close()
    asyncio.run(main())


def test_the_venues_order_limit_fits_the_gate_and_periodic_reconcile_halts_on_a_stray_fill(
    tmp_path: Path, exchange: ExchangeProcess, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The gate's throttle is kept below the venue's published ORDERS limit. Every
    ``reconcile_every_s`` execution compares the venue's orders with its own records
    (``VenueReconciled`` ok while they agree). An order under our prefix filled at the venue
    behind its back (a second process on the same key, a restored older book) is a position
    nobody booked: the next reconciliation says so and halts."""
    monkeypatch.setenv("QUANTFUND_VENUE_KEY", KEY)
    monkeypatch.setenv("QUANTFUND_VENUE_SECRET", SECRET)
    cfg = venue_config(exchange).replace("request_timeout_s = 2.0",
                                         "request_timeout_s = 2.0\nreconcile_every_s = 1.0")
    tree = TreeRun(tmp_path, cfg)
    try:
        tree.wait_started(timeout=60)
        fitted = tree.wait_for("gate_throttle_fitted_to_venue", timeout=5)
        # the exchange publishes ORDERS 100 per 10 s: the gate's 500 a second becomes 90/10 s
        assert (fitted["configured"], fitted["now"]) == ("500/1s", "90/10s")
        mark = tree.mark()
        ok = tree.wait_for("venue_reconciled", lambda ln: ln.get("ok") is True, timeout=30,
                           after=mark)
        assert ok["mismatches"] == []

        async def behind_its_back(ex: Any) -> None:
            await ex.load_markets()
            await ex.create_order("BTC/USDT", "market", "buy", 0.002, None,
                                  {"clientOrderId": "QF-behind-its-back"})

        _on_exchange(exchange, behind_its_back)
        halted = tree.wait_for(
            "trading_state_changed",
            lambda ln: ln.get("state") == "HALTED" and ln.get("source") == "execution",
            timeout=30, after=mark)
        assert "QF-behind-its-back: filled 0.002 at the venue, no record here" in halted["reason"]
    finally:
        tree.stop()
