"""Injected faults (drop after accept, delay, 5xx, 429, reset, a corrupted answer, ws close/pause)
and weight limits."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field

REQUEST_KINDS = ("drop_after_accept", "delay_ms", "http_5xx", "rate_limit", "reset", "corrupt")
WS_KINDS = ("ws_close", "ws_pause")

# Binance spot request weights (GET unless noted); anything else weighs 1
WEIGHTS = {
    "GET /api/v3/exchangeInfo": 20, "GET /api/v3/depth": 5, "GET /api/v3/klines": 2,
    "GET /api/v3/ticker/24hr": 2, "GET /api/v3/ticker/bookTicker": 2,
    "GET /api/v3/ticker/price": 2, "GET /api/v3/order": 4, "GET /api/v3/openOrders": 6,
    "GET /api/v3/allOrders": 20, "GET /api/v3/myTrades": 20, "GET /api/v3/account": 20,
    "DELETE /api/v3/openOrders": 1, "POST /api/v3/order": 1, "DELETE /api/v3/order": 1,
}


@dataclass
class Fault:
    """One armed fault: fires ``count`` times (None: until cleared) with ``probability``."""

    kind: str
    count: int | None = 1
    probability: float = 1.0
    path: str | None = None      # substring of the request path
    method: str | None = None
    status: int = 503            # http_5xx
    json_body: bool = False      # http_5xx: 500 with {"code":-1001} instead of a text body
    delay_ms: int = 0            # delay_ms
    retry_after: int = 1         # rate_limit
    body: str | None = None      # corrupt: this text instead of the answer (after it was done)
    patch: dict[str, object] | None = None  # corrupt: fields set in the answer (each, if a list)
    id: int = 0
    fired: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to a request."""
        return (self.method is None or self.method.upper() == method) and (
            self.path is None or self.path in path)


@dataclass
class Faults:
    """The armed faults, drawn from a seeded RNG so runs repeat."""

    rng: random.Random = field(default_factory=lambda: random.Random(0))
    armed: list[Fault] = field(default_factory=list)
    next_id: int = 1

    def arm(self, spec: dict[str, object]) -> Fault:
        """Arm a fault from its JSON description (raises ValueError on a bad one)."""
        allowed = set(Fault.__dataclass_fields__) - {"id", "fired"}
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault fields {sorted(unknown)}")
        f = Fault(**spec)  # type: ignore[arg-type]
        if f.kind not in REQUEST_KINDS + WS_KINDS:
            raise ValueError(f"unknown fault kind {f.kind!r}")
        f.id, self.next_id = self.next_id, self.next_id + 1
        if f.kind in REQUEST_KINDS:
            self.armed.append(f)
        return f

    def draw(self, method: str, path: str) -> list[Fault]:
        """The faults that fire for this request (each consumed once)."""
        out = []
        for f in self.armed:
            if f.matches(method, path) and (f.count is None or f.count > 0) and (
                    f.probability >= 1.0 or self.rng.random() < f.probability):
                    f.fired += 1
                    if f.count is not None:
                        f.count -= 1
                    out.append(f)
        self.armed = [f for f in self.armed if f.count is None or f.count > 0]
        return out

    def clear(self) -> None:
        """Disarm everything."""
        self.armed.clear()

    def view(self) -> list[dict[str, object]]:
        """The armed faults as JSON."""
        return [asdict(f) for f in self.armed]


@dataclass
class Weights:
    """REQUEST_WEIGHT per minute: over the limit -> 429; ``ban_after`` more while over -> 418."""

    limit: int = 1200
    ban_after: int = 5
    ban_seconds: int = 120
    minute: int = -1
    used: int = 0
    violations: int = 0
    banned_until_ms: int = 0

    def charge(self, key: str, now_ms: int) -> tuple[int, int | None, bool]:
        """Count one request: (weight used this minute, Retry-After if refused, banned?)."""
        if now_ms < self.banned_until_ms:
            return self.used, max(1, (self.banned_until_ms - now_ms + 999) // 1000), True
        minute = now_ms // 60000
        if minute != self.minute:
            self.minute, self.used, self.violations = minute, 0, 0
        self.used += WEIGHTS.get(key, 1)
        if self.used <= self.limit:
            return self.used, None, False
        self.violations += 1
        if self.violations > self.ban_after:
            self.banned_until_ms = now_ms + self.ban_seconds * 1000
            return self.used, self.ban_seconds, True
        return self.used, max(1, ((minute + 1) * 60000 - now_ms + 999) // 1000), False

    def reset(self) -> None:
        """Forget the minute's weight and any ban."""
        self.minute, self.used, self.violations, self.banned_until_ms = -1, 0, 0, 0
