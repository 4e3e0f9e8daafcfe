"""A scripted trading day written through the real journal actor, its clock injected.

Shared by the report's tests (pure, CLI) and the alerter's boundary test: the day's events go in
as bus envelopes whose send times come from a `SteppedClock`, and one more event after midnight
crosses the session boundary, which makes the journal actor publish ``JournalAnchored``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from actors._runtime.codec import Envelope
from actors._runtime.messages import ChildStarted, ChildTerminated, JournalAnchored, Message
from actors._runtime.trading import TradingState, TradingStateChanged
from actors.breaker.messages import BreakerHalted, BreakerTripped
from actors.execution.messages import (
    EquityUpdated,
    FeeCharged,
    OrderAccepted,
    OrderCancelled,
    OrderFilled,
    OrderRejected,
    OrderStatus,
    Side,
)
from actors.heartbeat.messages import HeartbeatMissed
from actors.journal.actor import JournalActor
from actors.journal.config import JournalConfig
from actors.journal.writer import FsyncPolicy
from actors.venue.messages import FeedReconnected
from tests.support.clock import SteppedClock

DAY = "2026-11-23"
"""The scripted day (UTC)."""

EQUITY = [100_000.0, 100_400.0, 100_900.0, 99_800.0, 98_890.0, 99_500.0, 100_200.0]
"""Marks through the day: peak 100,900, trough 98,890 (a 1.992 % drawdown), end 100,200."""
EXPECTED_DRAWDOWN_PCT = (100_900.0 - 98_890.0) / 100_900.0 * 100.0


def _events() -> list[tuple[float, Message]]:
    """(seconds to wait before it, event) for the day, starting 09:00 UTC."""
    fill = {"instrument": "BTC/USDT", "quantity": 0.5, "price": 50_000.0}
    out: list[tuple[float, Message]] = [
        (0, ChildStarted(actor="execution", pid=10, restarts=0)),
        (1, OrderAccepted(client_order_id="c1", intent_id="orchestrator-1-0", instrument="BTC/USDT",
                          side=Side.BUY, quantity=0.5, status=OrderStatus.SUBMITTED)),
        (1, OrderFilled(client_order_id="c1", side=Side.BUY, position_after=0.5, realized_pnl=0.0,
                        **fill)),
        (0, FeeCharged(client_order_id="c1", instrument="BTC/USDT", currency="BTC",
                       amount=0.0005, value=25.0, position_after=0.4995)),
        (1, OrderFilled(client_order_id="c2", side=Side.SELL, position_after=0.0,
                        realized_pnl=150.0, **fill)),
        (0, FeeCharged(client_order_id="c2", instrument="BTC/USDT", currency="USDT",
                       amount=25.0, value=25.0, position_after=0.0)),
        (0, FeeCharged(client_order_id="c3", instrument="ETH/USDT", currency="BNB",
                       amount=0.01, value=None, position_after=-2.0)),
        (1, OrderFilled(client_order_id="c3", instrument="ETH/USDT", side=Side.SELL,
                        quantity=2.0, price=3_000.0, position_after=-2.0, realized_pnl=-40.0)),
        (1, OrderRejected(intent_id="i1", instrument="BTC/USDT", code="max_notional",
                          reason="notional 90000 > 50000")),
        (1, OrderRejected(intent_id="i2", instrument="BTC/USDT", code="max_notional",
                          reason="notional 91000 > 50000")),
        (1, OrderRejected(intent_id="i3", instrument="BTC/USDT", code="price_collar",
                          reason="price 10 % off the last")),
        (5, BreakerTripped(rule="drawdown", reason="drawdown 5.1 % > 5 %", pause_until=0.0,
                           trips_in_24h=1)),
        (1, BreakerHalted(rule="drawdown", reason="3rd trip in 24 h", trips_in_24h=3)),
        (1, TradingStateChanged(previous=TradingState.ACTIVE, state=TradingState.HALTED,
                                source="operator", reason="desk says stop", seq=2)),
        (0.25, OrderCancelled(client_order_id="c9", instrument="BTC/USDT", reason="kill switch")),
        (0.5, OrderCancelled(client_order_id="c8", instrument="BTC/USDT", reason="kill switch")),
        (120, OrderCancelled(client_order_id="c7", instrument="BTC/USDT", reason="later")),
        (1, ChildTerminated(actor="orchestrator", pid=11, reason="killed", exit_status=-9)),
        (1, ChildStarted(actor="orchestrator", pid=12, restarts=1)),
        (1, HeartbeatMissed(actor="venue", silent_s=0.8)),
        (1, HeartbeatMissed(actor="venue", silent_s=1.25)),
        (1, FeedReconnected(attempt=2, gap_s=3.5, missed_updates_unknown=True, symbol="BTC/USDT")),
        (1, TradingStateChanged(previous=TradingState.HALTED, state=TradingState.ACTIVE,
                                source="operator", reason="checked", seq=3)),
    ]
    for equity in EQUITY:
        out.append((600, EquityUpdated(equity=equity, cash=equity, realized_pnl=110.0, ts=0.0)))
    return out


def at(hour: int, minute: int = 0, second: int = 0) -> float:
    """Epoch seconds of a UTC time on `DAY`."""
    return datetime(2026, 11, 23, hour, minute, second, tzinfo=UTC).timestamp()


def journal_actor(root: Path) -> JournalActor:
    """A journal actor on ``root``, built as the runtime builds it (its hooks called directly)."""
    actor = JournalActor("journal", JournalConfig(fsync=FsyncPolicy.NONE), {}, root)
    actor.on_ready()
    return actor


def run_day(actor: JournalActor, clock: SteppedClock | None = None) -> JournalAnchored:
    """Feed the scripted day, then one event after midnight; the anchor it published."""
    clock = clock or SteppedClock(wall=at(9))
    for n, (wait, event) in enumerate(_events()):
        _feed(actor, clock.advance(wait).wall, f"d1-{n}", event)
    clock.wall = at(23, 59, 59)
    clock.advance(2.0)  # across midnight, as the injected clock says
    _feed(actor, clock().wall, "d2-0", ChildStarted(actor="alerter", pid=20, restarts=0))
    anchors = [e for e in actor._fx.events if isinstance(e, JournalAnchored)]
    assert len(anchors) == 1, anchors
    return anchors[0]


def write_day(root: Path) -> JournalAnchored:
    """The scripted day written under ``root`` and its boundary crossed; the writer closed."""
    actor = journal_actor(root)
    try:
        return run_day(actor)
    finally:
        actor.on_stop()


def _feed(actor: JournalActor, when: float, msg_id: str, event: Message) -> None:
    env: Envelope[Any] = Envelope(sender="test", msg_id=msg_id, sent_at=when, payload=event)
    actor.on_event(env)
