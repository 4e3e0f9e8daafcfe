"""``quantfund status`` shows the trading as execution and the breaker hold it: after a scripted
sequence of fills on the paper venue, every figure of ``status --json`` equals what execution's
book and the breaker's state file hold (nothing recomputed elsewhere); ``--watch`` piped prints
one plain snapshot per interval and stops after ``--count``."""

from __future__ import annotations

import json
import math
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import msgspec

from actors._runtime.store import read_snapshot
from actors.breaker.rules import rolling_sharpe
from actors.execution.actor import OPEN
from actors.execution.gate import GateState
from supervisor.drill.stores import breaker_state
from supervisor.status_watch import REDRAW
from tests.support.tree import TreeRun
from tests.support.venue import PAPER, execution_orders

CLOSES = [100.0, 100.4, 100.1, 100.6, 100.2, 100.9, 100.5, 101.0, 100.7, 101.2, 100.8]
"""One bar each: EveryN (every 1) buys on odd iterations, sells on even: 11 orders, the book
ends long 1 after 5 round trips, at the last close."""


def _cli(tree: TreeRun, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "supervisor.cli", *args, "--run-dir", str(tree.run_dir),
         "--state-dir", str(tree.state_dir)],
        capture_output=True, text=True, timeout=30, check=False,
        cwd=str(Path(__file__).parents[2]),
    )


def _wait(pred: Any, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _config(tmp: Path) -> str:
    csv = tmp / "bars.csv"
    start = int(time.time()) - len(CLOSES)
    rows = [f"{start + i},{c},{c},{c},{c},1" for i, c in enumerate(CLOSES)]
    csv.write_text("timestamp,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    return PAPER.replace("interval_s = 0.02", "interval_s = 0.05") + (
        f'[orchestrator.feed]\nkind = "csv"\npath = "{csv}"\ninstruments = ["BTC-USD"]\n')


def _settled(tree: TreeRun) -> bool:
    ts = tree.status().trading
    if ts is None or ts.execution is None:
        return False
    ex = ts.execution
    return sum(ex.orders.values()) == len(CLOSES) and not ex.open_orders


def test_status_json_figures_are_executions_and_the_breakers_own(tree_factory, tmp_path) -> None:
    """Fills, then a halt: positions, average and last price, unrealised and realised PnL,
    equity, orders by status, the last fill, the gate's daily loss and headroom equal
    execution's persisted book; peak, drawdown, losses, Sharpe, trips and pause equal the
    breaker's persisted state; existing keys stay."""
    tree = tree_factory(_config(tmp_path))
    tree.wait_started()
    _wait(lambda: _settled(tree), what="every bar's order final")
    halted = _cli(tree, "halt", "--reason", "status test")
    assert halted.returncode == 0, halted.stderr
    t_halt = time.time()

    def fresh() -> bool:
        ts = tree.status().trading
        return (ts is not None and ts.execution is not None and ts.breaker is not None
                and ts.execution.at > t_halt and ts.breaker.at > t_halt)

    _wait(fresh, what="status reports made after the halt")
    out = _cli(tree, "status", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    text = _cli(tree, "status")
    assert text.returncode == 0, text.stderr
    tree.stop()

    # Existing keys stay.
    assert {"trading_state", "supervisor", "actors", "positions", "orders"} <= set(data)
    assert data["trading_state"] == "HALTED"
    book, orders = execution_orders(tree.state_dir)
    assert book is not None
    pf = book.portfolio
    ex = data["trading"]["execution"]
    assert ex["fills"] == pf.fills >= len(CLOSES) - 1
    assert ex["cash"] == pf.cash
    assert ex["realized_pnl"] == pf.realized_pnl
    by_status: dict[str, int] = {}
    for order in orders:
        by_status[order.status.value] = by_status.get(order.status.value, 0) + 1
    assert ex["orders"] == by_status == data["orders"]
    assert ex["open_orders"] == {}
    assert not [o for o in orders if o.status in OPEN]
    last = CLOSES[-1]
    (name, pos), = pf.positions.items()
    inst = ex["instruments"][name]
    assert inst["position"] == pos.quantity == data["positions"][name]
    assert inst["avg_price"] == pos.avg_price
    assert inst["realized_pnl"] == pos.realized_pnl == pf.realized_pnl
    assert inst["last_price"] == last
    assert math.isclose(inst["unrealized_pnl"], pos.quantity * (last - pos.avg_price))
    assert math.isclose(ex["equity"], pf.cash + pos.quantity * last)
    assert data["trading"]["last_price_age_s"][name] >= 0
    assert ex["last_fill"] is not None
    assert ex["last_fill"]["client_order_id"] == book.last_fill.client_order_id
    assert ex["last_fill"]["price"] == book.last_fill.price
    # The gate's own state: the session baseline execution persisted.
    gate = msgspec.msgpack.decode(read_snapshot(tree.state_dir / "execution.sqlite")["gate"],
                                  type=GateState)
    g = ex["gate"]
    assert g["session_id"] == gate.session_id
    assert math.isclose(g["daily_loss"], gate.session_start_equity - ex["equity"])
    assert g["daily_loss_limit"] > 0
    assert 0 <= g["rate_headroom"] <= g["max_orders_per_window"]

    st = breaker_state(tree.state_dir)
    assert st is not None
    r = st.rules
    br = data["trading"]["breaker"]
    assert br["peak_equity"] == r.peak_equity
    assert br["last_equity"] == r.last_equity
    assert math.isclose(br["drawdown_pct"], (r.peak_equity - r.last_equity) / r.peak_equity * 100)
    assert br["consecutive_losses"] == r.consecutive_losses
    assert br["sharpe_trades"] == len(r.trade_pnls) >= 2
    sharpe = rolling_sharpe(r.trade_pnls)
    assert br["sharpe"] == (sharpe if math.isfinite(sharpe) else None)
    assert br["trips_in_24h"] == len(r.trip_times)
    assert br["trips"] == st.trips
    assert br["paused_until"] == r.paused_until
    assert br["halted"] is r.halted is False
    assert br["max_drawdown_pct"] == 5.0
    assert math.isclose(br["daily_loss"], r.session_start_equity - r.last_equity)
    assert data["trading"]["feeds"] == {}  # a replayed feed announces no staleness
    assert isinstance(data["trading"]["outbox_depth"], int)  # from the alerter's heartbeat
    # The text view carries the same figures.
    assert f"{pos.quantity:g}" in text.stdout
    assert f"{ex['equity']:.2f}" in text.stdout
    assert "breaker: armed" in text.stdout
    assert "rate headroom" in text.stdout


def test_watch_piped_prints_plain_snapshots_and_stops_after_count(tree_factory) -> None:
    """``status --watch --count 2 --interval 0.2`` piped: two plain-text snapshots (no
    terminal escapes), each with the trading section, then exit 0 (``--json``: one object a
    line); on a terminal drawn in place; without ``--count`` it ends on Ctrl-C."""
    tree = tree_factory(PAPER)
    tree.wait_started()
    out = _cli(tree, "status", "--watch", "--count", "2", "--interval", "0.2")
    assert out.returncode == 0, out.stderr
    assert "\x1b" not in out.stdout
    assert out.stdout.count("trading state:") == 2
    assert out.stdout.count("alert outbox:") == 2
    lines = _cli(tree, "status", "--watch", "--json", "--count", "2", "--interval", "0.2")
    assert lines.returncode == 0, lines.stderr
    objs = [json.loads(line) for line in lines.stdout.splitlines()]
    assert len(objs) == 2
    assert all("trading" in o for o in objs)
    _watch_on_a_terminal(tree)
    _watch_ends_on_ctrl_c(tree)


def _argv(tree: TreeRun, *args: str) -> list[str]:
    return [sys.executable, "-m", "supervisor.cli", "status", "--watch", *args,
            "--run-dir", str(tree.run_dir), "--state-dir", str(tree.state_dir)]


def _watch_on_a_terminal(tree: TreeRun) -> None:
    """On a terminal each snapshot is drawn in place: cursor home and clear before each."""
    main, child = pty.openpty()
    proc = subprocess.Popen(_argv(tree, "--count", "2", "--interval", "0.2"), stdout=child,
                            stderr=subprocess.PIPE, cwd=str(Path(__file__).parents[2]))
    os.close(child)
    out = b""
    try:
        assert proc.wait(timeout=30) == 0
        while select.select([main], [], [], 0.5)[0]:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            out += chunk
    finally:
        os.close(main)
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    assert out.count(REDRAW.encode()) == 2
    assert out.count(b"trading state:") == 2


def _watch_ends_on_ctrl_c(tree: TreeRun) -> None:
    """With no --count it runs until Ctrl-C (SIGINT), then exits 0 without a traceback."""
    proc = subprocess.Popen(_argv(tree, "--interval", "0.2"), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            cwd=str(Path(__file__).parents[2]))
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # the first snapshot's time stamp
        assert first.strip()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
