"""``quantfund status`` as text (``supervisor/status_text.py``): every trading figure printed
as the reply carries it."""

from __future__ import annotations

import msgspec

from actors.execution.messages import LastFill, Side
from supervisor.admin_messages import ActorStatus, StatusReply, SupervisorStatus
from supervisor.status_text import account_lines, render
from supervisor.trading_view import FeedState, TradingStatus
from tests.supervisor.test_trading_view import T0, breaker_status, execution_status


def _reply(trading: TradingStatus | None) -> StatusReply:
    return StatusReply(
        trading_state="ACTIVE", trading_state_seq=3, halts_store_problem=None,
        supervisor=SupervisorStatus(pid=10, uptime_s=5.0, strategy="one_for_one", bus_seq=9,
                                    bad_messages={}, tree_live=True),
        actors=[ActorStatus(name="execution", pid=11, alive=True, restarts=0,
                            last_heartbeat_age_s=0.2, iterations=7, restored={})],
        trading=trading,
    )


def test_text_shows_instruments_account_limits_breaker_orders_feeds_and_outbox() -> None:
    """One row per instrument (position, average, last price and its age, unrealised,
    realised), the account, the gate's daily loss and rate headroom, orders, the last fill,
    the breaker against its limits (paused, Sharpe -inf), the feeds and the outbox."""
    fill = LastFill(client_order_id="QF-1", instrument="BTC-USD", side=Side.BUY, quantity=1.0,
                    price=100.0, at=T0)
    ex = msgspec.structs.replace(execution_status(), last_fill=fill)
    text = render(_reply(TradingStatus(
        at=T0, execution=ex, execution_age_s=0.4, last_price_age_s={"BTC-USD": 2.0},
        breaker=breaker_status(), breaker_age_s=0.7,
        feeds={"BTC/USDT": FeedState(stale=True, changed_at=T0, age_s=6.0)}, outbox_depth=4,
    )))
    lines = text.splitlines()
    btc = next(ln for ln in lines if ln.startswith("BTC-USD"))
    assert btc.split() == ["BTC-USD", "1", "100.00", "101.50", "2.0s", "1.50", "-0.25"]
    eth = next(ln for ln in lines if ln.startswith("ETH-USD"))
    assert eth.split() == ["ETH-USD", "0", "0.00", "-", "-", "0.00", "3.00"]
    assert "equity 100001.25  cash 99899.75  realised 2.75  unrealised 1.50" in text
    assert "daily loss 12.50 of 1000.00 (session 2027-01-15)" in text
    assert "rate headroom 17 of 20 per 1 s" in text
    assert "orders: open SUBMITTED 1; all FILLED 4, SUBMITTED 1; fills 4" in text
    assert "last fill: BUY 1 BTC-USD @ 100.00 at 2027-01-15T08:00:00Z (QF-1)" in text
    assert "breaker: paused until 2027-01-15T08:05:00Z" in text
    assert "drawdown 0.049% of max 5%" in text
    assert "daily loss -1.25 of 5000.00" in text
    assert "consecutive losses 2 of 25" in text
    assert "sharpe -inf over 2 trades" in text
    assert "trips in 24 h 1 of 3" in text
    assert "feeds: BTC/USDT STALE since 2027-01-15T08:00:00Z" in text
    assert "alert outbox: 4 waiting" in text


def test_commissions_show_by_currency_with_the_fills_still_waiting_for_theirs() -> None:
    """What the venue charged is one line (none without any), with the fills whose commission
    it has not stated yet."""
    plain = render(_reply(TradingStatus(at=T0, execution=execution_status())))
    assert "commissions" not in plain
    ex = msgspec.structs.replace(execution_status(), fees={"USDT": 1.25, "BTC": 2e-5},
                                 fees_due=2)
    text = render(_reply(TradingStatus(at=T0, execution=ex)))
    assert "commissions: 2e-05 BTC, 1.25 USDT; 2 fill(s) waiting for theirs" in text


def test_text_before_any_report_and_from_an_older_supervisor() -> None:
    """No report yet says so; a reply without a trading section prints the health only."""
    text = render(_reply(TradingStatus(at=T0)))
    assert "execution: no status report yet" in text
    assert "breaker: no status report yet" in text
    assert "alert outbox: - waiting" in text
    health = render(_reply(None))
    assert "trading state: ACTIVE (seq 3)" in health
    assert "execution" in health
    assert "breaker:" not in health


def test_account_lines_for_a_phone_leave_out_only_the_instrument_table() -> None:
    """Telegram's /status: the account, gate, orders, breaker, feeds and outbox lines of the
    full text, without the wide instrument table (/positions lists the instruments)."""
    ts = TradingStatus(at=T0, execution=execution_status(), execution_age_s=0.4,
                       last_price_age_s={}, breaker=breaker_status(), breaker_age_s=0.7,
                       feeds={}, outbox_depth=0)
    short = account_lines(ts)
    full = render(_reply(ts)).splitlines()
    assert all(line in full for line in short)
    assert not [ln for ln in short if ln.startswith(("instrument", "BTC-USD"))]
    assert [ln for ln in short if ln.startswith("gate: daily loss")]
    assert [ln for ln in short if ln.startswith("breaker:")]
    assert account_lines(TradingStatus(at=T0))[0] == "execution: no status report yet"
