"""Price paths per symbol (given lists or a seeded random walk) and the 24h/kline statistics."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

INTERVALS_MS = {"1s": 1000, "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000,
                "30m": 1_800_000, "1h": 3_600_000, "2h": 7_200_000, "4h": 14_400_000,
                "6h": 21_600_000, "8h": 28_800_000, "12h": 43_200_000, "1d": 86_400_000}


@dataclass
class Path:
    """Where one symbol's price goes next: through ``points`` (then stays), or a random walk."""

    start: Decimal
    points: list[Decimal] = field(default_factory=list)
    rng: random.Random | None = None
    vol: float = 0.0005
    i: int = 0

    def next(self, current: Decimal) -> Decimal:
        """The price after one step."""
        if self.points:
            self.i = min(self.i + 1, len(self.points) - 1)
            return self.points[self.i]
        assert self.rng is not None
        return current * Decimal(str(1 + self.rng.gauss(0, self.vol)))


@dataclass
class Stats:
    """Rolling stats of one symbol: open/high/low/volume since start, recent (time, price)."""

    open: Decimal
    high: Decimal
    low: Decimal
    open_time: int
    volume: Decimal = Decimal(0)
    quote_volume: Decimal = Decimal(0)
    count: int = 0
    first_trade_id: int = 0
    last_trade_id: int = 0
    last_qty: Decimal = Decimal(0)
    history: deque[tuple[int, Decimal]] = field(default_factory=lambda: deque(maxlen=20000))

    def record(self, now: int, price: Decimal, qty: Decimal, trade_id: int) -> None:
        """One public trade at ``price``."""
        self.high, self.low = max(self.high, price), min(self.low, price)
        self.volume += qty
        self.quote_volume += qty * price
        self.count += 1
        self.first_trade_id = self.first_trade_id or trade_id
        self.last_trade_id, self.last_qty = trade_id, qty
        self.history.append((now, price))

    def klines(self, interval: str, now: int, limit: int, last: Decimal) -> list[list[object]]:
        """``limit`` candles of ``interval`` ending with the current one (flat where no trades)."""
        ms = INTERVALS_MS[interval]
        first = (now // ms - limit + 1) * ms
        buckets: dict[int, list[Decimal]] = {}
        for t, p in self.history:
            if t >= first:
                buckets.setdefault(t // ms * ms, []).append(p)
        out: list[list[object]] = []
        prev = self.history[0][1] if self.history else last
        for k in range(limit):
            start = first + k * ms
            ps = buckets.get(start) or [prev]
            prev = ps[-1]
            out.append([start, f"{ps[0]:f}", f"{max(ps):f}", f"{min(ps):f}", f"{ps[-1]:f}",
                        f"{len(ps)}.00000000", start + ms - 1, "0.00000000", len(ps),
                        "0.00000000", "0.00000000", "0"])
        return out
