"""The supervisor keeps the last trading reports it sees on the bus and measures only their
ages (``supervisor/trading_view.py``)."""

from __future__ import annotations

from actors._runtime.messages import Heartbeat
from actors.breaker.messages import BreakerStatus
from actors.execution.messages import ExecutionStatus, GateStatus, InstrumentBook
from actors.venue.messages import FeedFresh, FeedStale
from supervisor.trading_view import TradingView

T0 = 1_800_000_000.0


def execution_status(at: float = T0) -> ExecutionStatus:
    """An execution report with one priced instrument and one never priced."""
    return ExecutionStatus(
        instruments={
            "BTC-USD": InstrumentBook(position=1.0, avg_price=100.0, last_price=101.5,
                                      last_price_at=at - 2.0, unrealized_pnl=1.5,
                                      realized_pnl=-0.25),
            "ETH-USD": InstrumentBook(position=0.0, avg_price=0.0, last_price=None,
                                      last_price_at=None, unrealized_pnl=0.0, realized_pnl=3.0),
        },
        equity=100_001.25, cash=99_899.75, realized_pnl=2.75, unrealized_pnl=1.5,
        orders={"FILLED": 4, "SUBMITTED": 1}, open_orders={"SUBMITTED": 1}, fills=4,
        last_fill=None,
        gate=GateStatus(orders_in_window=3, max_orders_per_window=20, rate_window_s=1.0,
                        rate_headroom=17, session_id="2027-01-15", daily_loss=12.5,
                        daily_loss_limit=1000.0),
        at=at,
    )


def breaker_status(at: float = T0) -> BreakerStatus:
    """A breaker report: paused, with a Sharpe of -inf (identical losses)."""
    return BreakerStatus(
        peak_equity=100_050.0, last_equity=100_001.25, drawdown_pct=0.0487, max_drawdown_pct=5.0,
        session_id="2027-01-15", daily_loss=-1.25, daily_loss_limit=5000.0,
        consecutive_losses=2, max_consecutive_losses=25, sharpe=float("-inf"), sharpe_trades=2,
        sharpe_floor=-1.0, sharpe_min_trades=20, trips_in_24h=1, max_trips_per_24h=3,
        paused_until=at + 300.0, halted=False, trips=1, at=at,
    )


def test_reports_are_kept_as_they_came_and_aged_on_the_supervisors_clock() -> None:
    """The last execution and breaker reports are answered unchanged; their ages and each
    price's age are the supervisor's wall time now minus the report's own times."""
    now = [T0]
    view = TradingView(wall=lambda: now[0])
    assert view.status().execution is None
    ex, br = execution_status(), breaker_status(T0 - 0.5)
    view.observe(ex)
    view.observe(br)
    now[0] = T0 + 1.0
    st = view.status()
    assert st.execution is ex
    assert st.breaker is br
    assert st.at == T0 + 1.0
    assert st.execution_age_s == 1.0
    assert st.breaker_age_s == 1.5
    assert st.last_price_age_s == {"BTC-USD": 3.0}  # ETH-USD was never priced


def test_feed_announcements_and_the_outbox_depth_are_followed() -> None:
    """FeedStale then FeedFresh flip a symbol's state; the outbox depth is the last one an
    actor's heartbeat carried; heartbeats without it change nothing."""
    view = TradingView(wall=lambda: T0)
    view.observe(FeedStale(symbol="BTC/USDT", age_s=6.0, threshold_s=5.0, exchange_ts_age_s=0.0))
    view.observe(FeedStale(symbol="ETH/USDT", age_s=7.0, threshold_s=5.0, exchange_ts_age_s=0.0))
    view.observe(FeedFresh(symbol="ETH/USDT", stale_for_s=2.5))
    beat = Heartbeat(actor="alerter", pid=1, seq=1, iterations=0, state_age_s=0.0,
                     gauges={"outbox_depth": 4.0, "send_failures": 1.0})
    view.observe(beat)
    view.observe(Heartbeat(actor="journal", pid=2, seq=1, iterations=0, state_age_s=0.0))
    st = view.status()
    assert st.feeds["BTC/USDT"].stale is True
    assert st.feeds["BTC/USDT"].age_s == 6.0
    assert st.feeds["ETH/USDT"].stale is False
    assert st.feeds["ETH/USDT"].age_s == 2.5
    assert st.outbox_depth == 4
