"""Live market data from a venue: ccxt.pro ticker streams on the feed's own loop thread, read by
the orchestrator's loop through the same ``Feed`` interface as the simulation.

Each symbol streams on a task of its own. A stream that fails (a closed websocket, a reset) is
retried with a bounded, doubling backoff, and each reconnect is reported with the gap it left:
what the venue sent while we were away is not known and is never made up. A bar carries only the
symbols updated since the last bar and fresh by ``Staleness``, so a strategy never sees an old
price as a new one. An update that is not a finite positive price is counted and dropped.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from actors._runtime import log
from actors.venue.loop import LoopThread
from actors.venue.staleness import FeedChange, Staleness

Factory = Callable[[], Any]
"""Builds the ccxt.pro exchange (inside the feed's loop)."""


@dataclass(frozen=True)
class Reconnected:
    """A stream came back after failing: how long it was gone, on which attempt."""

    symbol: str
    attempt: int
    gap_s: float
    error: str


def quote_price(ticker: dict[str, Any]) -> float | None:
    """The price a ticker stands for: its last trade, else the mid of bid and ask; None when
    no finite positive price is in it."""
    def num(key: str) -> float | None:
        raw = ticker.get(key)
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            return None
        v = float(raw)
        return v if math.isfinite(v) and v > 0 else None

    last = num("last")
    if last is not None:
        return last
    bid, ask = num("bid"), num("ask")
    if bid is not None and ask is not None and bid <= ask:
        return (bid + ask) / 2
    return None


class VenueFeed:
    """Tickers for ``symbols``, streamed; ``step`` hands the orchestrator what is new."""

    def __init__(
        self, factory: Factory, *, symbols: list[str], stale_after_s: float,
        backoff_min_s: float, backoff_max_s: float,
        clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time,
    ) -> None:
        """Start streaming every symbol (returns at once; the first prices follow)."""
        self.symbols = list(symbols)
        self.clock, self.wall = clock, wall
        self.backoff = (backoff_min_s, backoff_max_s)
        self.staleness = Staleness(self.symbols, stale_after_s, clock())
        self.log = log.get("feed")
        self._lock = threading.Lock()
        self._latest: dict[str, tuple[float, float | None]] = {}
        self._new: set[str] = set()
        self._reconnects: list[Reconnected] = []
        self.bad_updates = 0
        self.last: dict[str, float] = {}
        self.on_update: Callable[[], None] | None = None
        """Called (on the feed's thread) after each good update: the orchestrator's ``wake``."""
        self.io = LoopThread("venue-feed")
        self.ex: Any = self.io.call(self._open(factory), 30.0)
        self._tasks = [self.io.submit(self._stream(s)) for s in self.symbols]

    async def _open(self, factory: Factory) -> Any:
        return factory()

    async def _stream(self, symbol: str) -> None:
        attempt, failed_at, error = 0, 0.0, ""
        while True:
            try:
                ticker = await self.ex.watch_ticker(symbol)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - every failure is retried, and said
                if attempt == 0:
                    failed_at, error = self.clock(), f"{type(exc).__name__}: {exc}"[:300]
                    self.log.warning("feed_stream_lost", symbol=symbol, error=error)
                delay = min(self.backoff[1], self.backoff[0] * 2 ** attempt)
                attempt += 1
                await asyncio.sleep(delay)
                continue
            if attempt:
                gap = self.clock() - failed_at
                with self._lock:
                    self._reconnects.append(Reconnected(symbol, attempt, round(gap, 3), error))
                attempt = 0
            self._on_ticker(symbol, ticker)

    def _on_ticker(self, symbol: str, ticker: dict[str, Any]) -> None:
        price = quote_price(ticker)
        stamp = ticker.get("timestamp")
        exchange_ts = (float(stamp) / 1000.0 if isinstance(stamp, int | float)
                       and not isinstance(stamp, bool) and math.isfinite(stamp) else None)
        if price is None:
            self.bad_updates += 1
            self.log.warning("feed_bad_update", symbol=symbol, count=self.bad_updates,
                             ticker={k: ticker.get(k) for k in ("last", "bid", "ask")})
            return
        now = self.clock()
        with self._lock:
            self._latest[symbol] = (price, exchange_ts)
            self._new.add(symbol)
            self.staleness.update(symbol, rx=now, exchange_ts=exchange_ts)
        if self.on_update is not None:
            self.on_update()

    # --- Feed ----------------------------------------------------------------------------

    def step(self, iteration: int, now: float) -> tuple[float, dict[str, float]]:
        """The symbols updated since the last step and fresh, at their latest prices."""
        with self._lock:
            new, self._new = self._new, set()
            fresh = {s: self._latest[s] for s in new if not self.staleness.is_stale(s)}
        stamps = [ts for _, ts in fresh.values() if ts is not None]
        prices = {s: p for s, (p, _) in fresh.items()}
        self.last.update(prices)
        return (max(stamps) if stamps else now), prices

    def last_prices(self) -> dict[str, float]:
        """The last price handed out per symbol."""
        return dict(self.last)

    def changes(self) -> tuple[list[FeedChange], list[Reconnected]]:
        """Symbols turned stale or fresh, and streams reconnected, since the last call."""
        with self._lock:
            changed = self.staleness.check(now=self.clock(), wall=self.wall())
            back, self._reconnects = self._reconnects, []
        return changed, back

    def close(self) -> None:
        """Stop the streams and close the exchange's connections."""
        for task in self._tasks:
            task.cancel()
        self.io.close(self.ex.close())
