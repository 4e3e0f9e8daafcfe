"""The trading side of ``quantfund status``: the last reports execution, the breaker, the feed
and the alerter put on the bus, kept as they came. No figure is computed here (only ages: the
supervisor's clock against each report's time); execution and the breaker own their numbers."""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec

from actors._runtime.messages import Event, Heartbeat
from actors.breaker.messages import BreakerStatus
from actors.execution.messages import ExecutionStatus
from actors.venue.messages import FeedFresh, FeedStale


class FeedState(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One symbol as the feed last announced it (``FeedStale`` / ``FeedFresh``)."""

    stale: bool
    """True after ``FeedStale``, False after ``FeedFresh``."""
    changed_at: float
    """Wall time (epoch seconds) the supervisor saw the announcement."""
    age_s: float
    """``FeedStale``: the symbol's age when it turned stale; ``FeedFresh``: how long it was."""


class TradingStatus(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the tree trades and how it stands against its limits (``StatusReply.trading``)."""

    at: float
    """Wall time (epoch seconds) of this answer: the ages below are measured to it."""
    execution: ExecutionStatus | None = None
    """Execution's last status report (positions, marks, PnL, orders, gate); None before one."""
    execution_age_s: float | None = None
    """Seconds since execution made that report."""
    last_price_age_s: dict[str, float] = msgspec.field(default_factory=dict)
    """Instrument -> seconds since execution took its last price."""
    breaker: BreakerStatus | None = None
    """The breaker's last status report; None before one."""
    breaker_age_s: float | None = None
    """Seconds since the breaker made that report."""
    feeds: dict[str, FeedState] = msgspec.field(default_factory=dict)
    """Symbol -> its last staleness announcement (empty: the feed announced none, as a
    simulated or replayed feed never does)."""
    outbox_depth: int | None = None
    """Alerts queued and not yet delivered, from the alerter's last heartbeat (None: no
    alerter reports an outbox)."""


def _age(now: float, at: float | None) -> float | None:
    return None if at is None else round(max(0.0, now - at), 3)


class TradingView:
    """Keeps the last trading reports seen on the bus; answers ``TradingStatus``."""

    def __init__(self, wall: Callable[[], float] = time.time) -> None:
        """Start with nothing seen (``wall``: the clock the ages are measured on)."""
        self.wall = wall
        self.execution: ExecutionStatus | None = None
        self.breaker: BreakerStatus | None = None
        self.feeds: dict[str, FeedState] = {}
        self.outbox_depth: int | None = None

    def observe(self, msg: Event) -> None:
        """Keep ``msg`` if it is one of the reports the status shows."""
        if isinstance(msg, ExecutionStatus):
            self.execution = msg
        elif isinstance(msg, BreakerStatus):
            self.breaker = msg
        elif isinstance(msg, FeedStale):
            self.feeds[msg.symbol] = FeedState(stale=True, changed_at=self.wall(),
                                               age_s=msg.age_s)
        elif isinstance(msg, FeedFresh):
            self.feeds[msg.symbol] = FeedState(stale=False, changed_at=self.wall(),
                                               age_s=msg.stale_for_s)
        elif isinstance(msg, Heartbeat) and "outbox_depth" in msg.gauges:
            self.outbox_depth = int(msg.gauges["outbox_depth"])

    def status(self) -> TradingStatus:
        """The reports kept, with their ages now."""
        now = self.wall()
        ex, br = self.execution, self.breaker
        prices: dict[str, float] = {}
        if ex is not None:
            for name, book in ex.instruments.items():
                age = _age(now, book.last_price_at)
                if age is not None:
                    prices[name] = age
        return TradingStatus(
            at=now, execution=ex, execution_age_s=_age(now, ex.at if ex else None),
            last_price_age_s=prices, breaker=br, breaker_age_s=_age(now, br.at if br else None),
            feeds=dict(self.feeds), outbox_depth=self.outbox_depth,
        )
