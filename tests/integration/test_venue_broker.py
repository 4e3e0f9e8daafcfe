"""The venue broker against the local exchange (unmodified ccxt over real HTTP): exactly once by
client order id through lost answers and 5xx, typed rejections, the venue's Retry-After kept,
cancels that race fills, and positions as the venue lists them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.execution.broker import BrokerOrder
from actors.execution.messages import OrderStatus, Side
from actors.venue.broker import VenueBroker
from tests.support.exchange.process import ExchangeProcess
from tests.support.venue_broker import at_venue, held_change, order, settle, venue_broker


@pytest.fixture
def venue(tmp_path: Path) -> Iterator[tuple[ExchangeProcess, VenueBroker]]:
    """A local exchange at BTC 50000 with 100k USDT and 1 BTC, and a broker on it."""
    with venue_broker(tmp_path) as pair:
        yield pair


def test_lost_answers_and_5xx_are_resolved_by_client_id_never_resent(
    venue: tuple[ExchangeProcess, VenueBroker],
) -> None:
    """Half the answers to order submits are lost after the venue took the order, some are
    5xx: every order ends final here, each client id is at the venue exactly once, and the
    position here is the venue's."""
    x, broker = venue
    x.fault("drop_after_accept", count=None, probability=0.4, path="/api/v3/order",
            method="POST")
    x.fault("http_5xx", count=None, probability=0.1, path="/api/v3/order", method="POST")
    reports = {}
    for n in range(40):
        o = order(n, Side.BUY if n % 2 else Side.SELL)
        reports[o.client_order_id] = broker.submit(o)
    unresolved = [r for r in reports.values() if "status unknown" in r.reason]
    assert unresolved, "no answer was lost: the faults did not fire"
    settle(broker, reports)
    x.control("reset", {})
    ids = at_venue(x)
    assert len(ids) == len(set(ids)), "an order reached the venue twice"
    filled = {c for c, r in reports.items() if r.status is OrderStatus.FILLED}
    assert filled == set(ids), "an order filled at the venue is not filled here, or back"
    net = sum((r.filled_quantity if int(c[-4:]) % 2 else -r.filled_quantity)
              for c, r in reports.items() if r.status is OrderStatus.FILLED)
    # Binance takes a buy's commission in the asset bought: the account holds that much less.
    bought_fees = sum(r.fees.get("BTC", 0.0) for r in reports.values())
    assert bought_fees > 0, "no commission was reported"
    assert broker.positions().get("BTC/USDT", 0.0) == pytest.approx(net - bought_fees)
    assert held_change(x, "BTC") == pytest.approx(net - bought_fees)


def test_rejections_are_typed_and_a_duplicate_is_the_order_itself(
    venue: tuple[ExchangeProcess, VenueBroker],
) -> None:
    """Too large for the balance, an unknown symbol, and the same client id sent again while
    it rests: two typed rejections, and the third reports the resting order, not a reject."""
    _x, broker = venue
    big = broker.submit(order(1, qty=10.0))
    assert big.status is OrderStatus.REJECTED
    assert big.reason.startswith("insufficient_balance")
    other = broker.submit(BrokerOrder("QF-t0002", "DOGE/USDT", Side.BUY, 1.0, 1.0, None))
    assert other.reason.startswith("unknown_symbol")
    resting = broker.submit(order(3, limit=40000.0))
    assert resting.status is OrderStatus.SUBMITTED
    again = broker.submit(order(3, limit=40000.0))
    assert again.status is OrderStatus.SUBMITTED, again


def test_retry_after_is_kept_nothing_is_sent_while_the_venue_says_wait(
    venue: tuple[ExchangeProcess, VenueBroker],
) -> None:
    """A 429 with Retry-After: 2 rejects that submit as rate_limited, and the next one inside
    the two seconds is refused here without a request; after them, orders go again."""
    x, broker = venue
    x.fault("rate_limit", count=1, retry_after=2, path="/api/v3/order", method="POST")
    first = broker.submit(order(1))
    assert first.reason.startswith("rate_limited"), first
    sent = x.control("stats")["requests"].get("POST /api/v3/order", 0)
    second = broker.submit(order(2))
    assert second.reason.startswith("rate_limited")
    assert x.control("stats")["requests"].get("POST /api/v3/order", 0) == sent
    time.sleep(2.1)
    assert broker.submit(order(3)).status is OrderStatus.FILLED


def test_cancelling_resting_orders_reports_them_cancelled_from_the_answers(
    venue: tuple[ExchangeProcess, VenueBroker],
) -> None:
    """Resting orders cancelled at once are CANCELLED in the cancels' own answers (Binance
    names each answer by the cancel's id and the order's as origClientOrderId), not left
    open for the poller to find closed later; no answer counts as bad input."""
    x, broker = venue
    resting = [broker.submit(order(n, limit=45000.0 + n)) for n in range(5)]
    assert all(r.status is OrderStatus.SUBMITTED for r in resting), resting
    reports = broker.cancel_all([r.client_order_id for r in resting])
    assert [r.status for r in reports] == [OrderStatus.CANCELLED] * 5, reports
    assert [r.client_order_id for r in reports] == [r.client_order_id for r in resting]
    assert broker.bad_input == 0
    assert not [o for o in x.control("orders")["orders"] if o["status"] == "NEW"]


def test_a_cancel_racing_a_fill_reports_the_fill(
    venue: tuple[ExchangeProcess, VenueBroker],
) -> None:
    """A resting buy fills (the price moves through it) before our cancel lands: the cancel
    reports FILLED with the quantity, so the position is booked, not lost."""
    x, broker = venue
    resting = broker.submit(order(1, limit=49990.0))
    assert resting.status is OrderStatus.SUBMITTED
    x.control("price", {"symbol": "BTC/USDT", "price": 49900.0})
    [report] = broker.cancel_all([resting.client_order_id])
    assert report.status is OrderStatus.FILLED, report
    assert report.filled_quantity == pytest.approx(0.01)


def test_many_cancels_on_a_symbol_go_as_one_sweep_and_a_filled_one_still_reports(
    venue: tuple[ExchangeProcess, VenueBroker],
) -> None:
    """A halt's 8 cancels on one symbol: one ``DELETE openOrders`` cancels all that rest (each
    reported CANCELLED from the sweep's answer), and one that filled before it is asked for
    alone and reports its fill."""
    x, broker = venue
    resting = [broker.submit(order(n, limit=45000.0 + n)) for n in range(7)]
    racing = broker.submit(order(7, limit=49990.0))
    assert all(r.status is OrderStatus.SUBMITTED for r in [*resting, racing])
    x.control("price", {"symbol": "BTC/USDT", "price": 49900.0})  # order 7 fills
    before = x.control("stats")["requests"]
    reports = broker.cancel_all([r.client_order_id for r in [*resting, racing]])
    after = x.control("stats")["requests"]
    assert [r.status for r in reports[:7]] == [OrderStatus.CANCELLED] * 7, reports
    assert reports[7].status is OrderStatus.FILLED
    assert reports[7].filled_quantity == pytest.approx(0.01)
    sweeps = after.get("DELETE /api/v3/openOrders", 0) - before.get("DELETE /api/v3/openOrders", 0)
    singles = after.get("DELETE /api/v3/order", 0) - before.get("DELETE /api/v3/order", 0)
    assert (sweeps, singles) == (1, 1)
    assert not [o for o in x.control("orders")["orders"] if o["status"] == "NEW"]
    assert broker.bad_input == 0


def test_positions_count_every_order_however_many_pages_the_venue_lists(
    venue: tuple[ExchangeProcess, VenueBroker], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The venue lists a symbol's orders a page at a time (only the latest page unless asked
    from an order id on): eight fills over pages of three are all in the position, not the last
    three."""
    import actors.venue.broker as broker_mod

    x, broker = venue
    monkeypatch.setattr(broker_mod, "ORDERS_PAGE", 3)
    for n in range(8):
        assert broker.submit(order(n)).status is OrderStatus.FILLED
    # Less each buy's commission, taken in BTC: listed over pages of three trades too.
    assert broker.positions()["BTC/USDT"] == pytest.approx(0.08 - 8 * 0.01 * 0.001)
    assert broker.positions()["BTC/USDT"] == pytest.approx(held_change(x, "BTC"))
