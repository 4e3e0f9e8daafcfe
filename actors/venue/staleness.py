"""Pure feed-staleness rules: per symbol, how old its last update is (by our clock and by the
exchange's own timestamp), and when it turns stale or fresh again. No sockets, no ccxt."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class FeedChange:
    """A symbol turned stale or fresh (what the orchestrator publishes)."""

    symbol: str
    stale: bool
    """True: it went stale; False: fresh again."""
    age_s: float
    """Seconds since its last update arrived (our monotonic clock)."""
    exchange_age_s: float | None
    """Seconds between the exchange's timestamp of the last update and our wall clock (None
    before the first update): a venue streaming old data, or a clock apart from ours."""
    stale_for_s: float = 0.0
    """For a fresh-again change: how long it was stale (the gap nobody traded on)."""


@dataclass
class _Symbol:
    last_rx: float
    exchange_ts: float | None = None
    stale_since: float | None = None
    updates: int = 0


@dataclass
class Staleness:
    """Tracks every configured symbol; a symbol never heard from is aged from ``started``."""

    symbols: list[str]
    threshold_s: float
    started: float
    _state: dict[str, _Symbol] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Every symbol starts unheard-from at ``started``."""
        if not math.isfinite(self.threshold_s) or self.threshold_s <= 0:
            raise ValueError(f"threshold_s must be a positive number of seconds: "
                             f"{self.threshold_s!r}")
        self._state = {s: _Symbol(last_rx=self.started) for s in self.symbols}

    def update(self, symbol: str, *, rx: float, exchange_ts: float | None) -> None:
        """An update for ``symbol`` arrived at ``rx`` (monotonic), stamped ``exchange_ts``
        (epoch seconds, or None when the venue gives none)."""
        st = self._state.get(symbol)
        if st is None:
            return  # not a symbol we trade: the caller counts it
        st.last_rx = max(st.last_rx, rx)
        if exchange_ts is not None and math.isfinite(exchange_ts):
            st.exchange_ts = exchange_ts
        st.updates += 1

    def is_stale(self, symbol: str) -> bool:
        """Whether ``symbol`` is stale as of the last ``check``."""
        st = self._state.get(symbol)
        return st is None or st.stale_since is not None

    def check(self, *, now: float, wall: float) -> list[FeedChange]:
        """The symbols whose staleness changed: past ``threshold_s`` by either clock is stale;
        both under it again is fresh."""
        out: list[FeedChange] = []
        for symbol, st in self._state.items():
            age = now - st.last_rx
            ex_age = None if st.exchange_ts is None else wall - st.exchange_ts
            stale = age > self.threshold_s or (ex_age is not None and ex_age > self.threshold_s)
            if stale and st.stale_since is None:
                st.stale_since = now - max(0.0, age - self.threshold_s)
                out.append(FeedChange(symbol, True, round(age, 3),
                                      None if ex_age is None else round(ex_age, 3)))
            elif not stale and st.stale_since is not None:
                stale_for = now - st.stale_since
                st.stale_since = None
                out.append(FeedChange(symbol, False, round(age, 3),
                                      None if ex_age is None else round(ex_age, 3),
                                      stale_for_s=round(stale_for, 3)))
        return out
