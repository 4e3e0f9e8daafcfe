"""The tree's CPU by the number of symbols streamed, and whether the feed keeps up.

The local exchange moves every symbol every ``tick_ms`` and streams each move (``--tick-ms``,
on a schedule); a shadow tree (``feed.kind = "venue"``, EveryN never trading) streams them all
(ccxt.pro ``watch_ticker`` per symbol) and its loop publishes a ``PriceTick`` per symbol updated
since the last iteration. Over a window: CPU % (user + system, every thread) of each process by
psutil; tickers the exchange sent, against its schedule (a client that does not read holds the
exchange's sends back: TCP backpressure); and the age of the newest update at each iteration
(``PriceTick`` sent -> the exchange's timestamp of that update), which grows without bound
when the feed falls behind.

Then, with the tree stopped, the product's ``VenueFeed`` alone in this process on the same
streams: its CPU is ccxt.pro's (websocket frames, JSON, ``parse_ticker``) plus our
``_on_ticker``; the orchestrator's beyond it is the loop (bars, ``PriceTick`` per symbol,
state commits).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import psutil

from actors.execution.messages import PriceTick
from actors.venue.config import VenueConfig
from actors.venue.exchange import make_exchange
from actors.venue.feed import VenueFeed
from actors.venue.messages import FeedStale
from benchmarks.restart import pct
from benchmarks.venue_common import BusRecorder, exchange_and_tree
from tests.support.exchange.process import ExchangeProcess

ACTORS = ("orchestrator", "execution", "heartbeat", "breaker", "journal", "alerter")
WARM_UP_S = 3.0
"""After Ready: every symbol subscribed and streaming."""


def _cpu(pids: dict[str, int]) -> dict[str, float]:
    out = {}
    for name, pid in pids.items():
        t = psutil.Process(pid).cpu_times()
        out[name] = t.user + t.system
    return out


def _feed_alone(x: ExchangeProcess, names: list[str], seconds: float) -> float:
    """CPU % of this process while a ``VenueFeed`` streams ``names`` (nothing else runs)."""
    cfg = VenueConfig(rest_url=x.base_url, ws_url=x.ws_url, symbols=names)
    feed = VenueFeed(lambda: make_exchange(cfg, streaming=True), symbols=names,
                     stale_after_s=5.0, backoff_min_s=0.5, backoff_max_s=10.0)
    me = psutil.Process()
    try:
        time.sleep(WARM_UP_S)
        c0, t0 = sum(me.cpu_times()[:2]), time.monotonic()
        while time.monotonic() - t0 < seconds:
            time.sleep(0.05)
            feed.step(0, time.monotonic())  # as the loop takes them
        return (sum(me.cpu_times()[:2]) - c0) / (time.monotonic() - t0) * 100
    finally:
        feed.close()


def run_cpu(tmp: Path, exchange_args: list[str], *, symbols: int, seconds: float,
            tick_ms: int, interval: float = 0.05) -> dict[str, float]:
    """Stream ``symbols`` symbols for ``seconds``; print and return the figures."""
    names = [f"S{i:02d}/USDT" for i in range(symbols)]
    args = ["--symbols", ",".join(names), "--tick-ms", str(tick_ms), *exchange_args]
    with exchange_and_tree(tmp, args, symbols=names, broker="shadow", interval=interval,
                           every=10**9) as (x, tree):
        time.sleep(WARM_UP_S)
        assert x.proc is not None
        pids = {a: tree.child_pid(a) for a in ACTORS} | {"supervisor": tree.pid,
                                                          "exchange": x.proc.pid}
        with BusRecorder(tree.run_dir, [b"PriceTick.", b"FeedStale."]) as bus:
            time.sleep(0.5)
            bus.take()
            s0, c0, t0 = x.control("stats"), _cpu(pids), time.monotonic()
            time.sleep(seconds)
            s1, c1, t1 = x.control("stats"), _cpu(pids), time.monotonic()
            events = bus.take()
        tree.stop()
        feed_alone = _feed_alone(x, names, seconds)
    wall = t1 - t0
    cpu = {n: (c1[n] - c0[n]) / wall * 100 for n in pids}
    ticks = [e for e in events if isinstance(e.payload, PriceTick)]
    stale = sum(isinstance(e.payload, FeedStale) for e in events)
    iterations: dict[int, float] = {}
    for e in ticks:  # one age per iteration: its newest update (a bar's ts is its newest)
        iterations[e.payload.iteration] = (e.sent_at - e.payload.ts) * 1000
    ages = [iterations[i] for i in sorted(iterations)]
    quarter = max(1, len(ages) // 4)
    sent = (s1["ws_sent"] - s0["ws_sent"]) / wall
    due = symbols * 1000 / tick_ms
    out = {"symbols": symbols, "orchestrator_cpu": cpu["orchestrator"],
           "tree_cpu": sum(v for k, v in cpu.items() if k != "exchange"),
           "exchange_cpu": cpu["exchange"], "sent_per_s": sent, "due_per_s": due,
           "ticks_per_symbol_s": len(ticks) / wall / symbols,
           "age_median": statistics.median(ages) if ages else float("nan"),
           "age_p99": pct(ages, 99) if ages else float("nan"),
           "age_max": max(ages, default=float("nan")),
           "age_first_q": statistics.median(ages[:quarter]) if ages else float("nan"),
           "age_last_q": statistics.median(ages[-quarter:]) if ages else float("nan"),
           "stale": stale, "ws_connections": s1["ws_connections"], "feed_alone": feed_alone}
    print(f"\n{symbols} symbol(s) x {1000 / tick_ms:g} updates/s, loop every "
          f"{interval * 1000:g} ms, {wall:.1f} s window")
    print("  CPU %: " + ", ".join(f"{n} {v:.1f}" for n, v in cpu.items()))
    print(f"  CPU % of VenueFeed alone (ccxt.pro + _on_ticker), this process: {feed_alone:.1f}")
    print(f"  tickers sent by the exchange {sent:.0f}/s of {due:.0f}/s due, over "
          f"{s1['ws_connections']} websocket(s); PriceTicks {out['ticks_per_symbol_s']:.1f}/s "
          f"per symbol; FeedStale {stale}")
    print(f"  newest update's age at each iteration: median {out['age_median']:.1f} ms, p99 "
          f"{out['age_p99']:.1f}, max {out['age_max']:.1f}; first quarter "
          f"{out['age_first_q']:.1f}, last quarter {out['age_last_q']:.1f}")
    return out
