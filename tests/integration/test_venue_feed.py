"""Shadow mode on live data from the local exchange's websocket: the tree trades on the stream
(orders recorded, none sent), a stream that goes quiet takes trading to REDUCING within the
threshold with an alert, and fresh data is reported."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.exchange.process import ExchangeProcess, local_exchange
from tests.support.tree import TreeRun

STALE_AFTER_S = 1.0


@pytest.fixture
def streaming(tmp_path: Path) -> Iterator[ExchangeProcess]:
    """The local exchange moving BTC/USDT every 50 ms and streaming it."""
    with local_exchange(tmp_path / "exchange.sqlite", "--prices", "BTC/USDT=50000",
                        "--symbols", "BTC/USDT", "--tick-ms", "50", "--seed", "7") as x:
        yield x


def _config(x: ExchangeProcess) -> str:
    return f"""
[venue]
rest_url = "{x.base_url}"
ws_url = "{x.ws_url}"
symbols = ["BTC/USDT"]
stale_after_s = {STALE_AFTER_S}
[execution]
broker = "shadow"
[execution.gate]
max_order_notional = 1000000.0
[orchestrator]
interval_s = 0.05
strategy = "actors.orchestrator.examples:EveryN"
[orchestrator.strategy_params]
every = 5
quantity = 0.001
[orchestrator.feed]
kind = "venue"
[heartbeat]
on_feed_stale = "reduce"
"""


def _feed_in_status(tree: TreeRun, symbol: str, *, stale: bool) -> None:
    """``status`` shows the symbol as the feed last announced it (the alert came first)."""
    feeds = tree.status().trading.feeds  # type: ignore[union-attr]
    assert feeds[symbol].stale is stale, feeds


def test_shadow_on_live_data_and_a_quiet_stream_reduces_then_fresh_is_said(
    tmp_path: Path, streaming: ExchangeProcess,
) -> None:
    """Prices arrive over the websocket and orders are recorded, not sent; paused streaming
    makes FeedStale, REDUCING by the heartbeat and an alert within the threshold (plus a check
    interval); resumed streaming makes FeedFresh and its alert."""
    x = streaming
    tree = TreeRun(tmp_path, _config(x))
    try:
        tree.wait_started(timeout=60)
        tree.wait_for("alert", lambda ln: ln.get("kind") == "OrderFilled", timeout=30)
        assert x.control("stats")["requests"].get("POST /api/v3/order", 0) == 0
        assert tree.status().trading_state == "ACTIVE"
        time.sleep(2.5)  # orders recorded, and marked against the prices 1 s later
        x.fault("ws_pause", count=1)
        paused_at = time.monotonic()
        reduced = tree.wait_for(
            "trading_state_changed",
            lambda ln: ln.get("state") == "REDUCING" and ln.get("source") == "heartbeat",
            timeout=10)
        took = time.monotonic() - paused_at
        assert "feed stale: BTC/USDT" in reduced["reason"]
        assert took < STALE_AFTER_S + 2.0, took
        tree.wait_for("alert", lambda ln: ln.get("kind") == "FeedStale", timeout=10)
        _feed_in_status(tree, "BTC/USDT", stale=True)
        x.fault("ws_pause", count=0)
        fresh = tree.wait_for("alert", lambda ln: ln.get("kind") == "FeedFresh", timeout=15)
        assert "fresh again: BTC/USDT" in fresh["text"]
        _feed_in_status(tree, "BTC/USDT", stale=False)
        assert tree.status().trading_state == "REDUCING"  # an operator resumes
    finally:
        tree.stop()
    assert x.control("stats")["requests"].get("POST /api/v3/order", 0) == 0
    shown = subprocess.run(
        [sys.executable, "-m", "supervisor.cli", "shadow", "report", "--json",
         "--state-dir", str(tree.state_dir)], capture_output=True, text=True, timeout=60,
        check=True)
    rep = json.loads(shown.stdout)
    assert rep["summary"]["orders"] == len(rep["orders"]) > 0
    assert rep["summary"]["marked_1s"] > 0, json.dumps(rep["orders"][:3])
    first = rep["orders"][0]
    assert first["instrument"] == "BTC/USDT"
    assert first["market"] > 0
    assert "cost_1s" in first
    text = subprocess.run(
        [sys.executable, "-m", "supervisor.cli", "shadow", "report",
         "--state-dir", str(tree.state_dir)], capture_output=True, text=True, timeout=60,
        check=True).stdout
    assert "none sent" in text


def test_wake_on_update_runs_the_loop_at_the_markets_pace_not_the_interval(
    tmp_path: Path, streaming: ExchangeProcess,
) -> None:
    """``wake_on_update``: with the loop's interval at 5 s, the venue's updates (every 50 ms)
    still run iterations, each with the symbol that moved: the orchestrator iterates tens of
    times a second, not once in five."""
    cfg = _config(streaming).replace("interval_s = 0.05", "interval_s = 5.0").replace(
        'kind = "venue"', 'kind = "venue"\nwake_on_update = true')
    tree = TreeRun(tmp_path, cfg)
    try:
        tree.wait_started(timeout=60)
        time.sleep(1.0)  # the streams subscribe

        def iterations() -> int:
            (orch,) = [a for a in tree.status().actors if a.name == "orchestrator"]
            return orch.iterations or 0  # from its heartbeats (every 0.1 s)

        first, t0 = iterations(), time.monotonic()
        time.sleep(3.0)
        rate = (iterations() - first) / (time.monotonic() - t0)
        assert rate > 5.0, f"{rate:.1f} iterations/s: the updates did not wake the loop"
    finally:
        tree.stop()
