"""Bad venue input at the broker, over real HTTP from the local exchange: a truncated or
malformed body, a NaN or negative price, an unknown field, an order id we never sent. Each gives
a clear, counted error (an event for execution to publish) and never a report that would change
a position; the order itself is then resolved from the venue's good answer, exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.execution.broker import BrokerReport
from actors.execution.messages import OrderStatus
from actors.venue.broker import VenueBroker
from actors.venue.messages import VenueInputRejected
from tests.support.exchange.process import ExchangeProcess
from tests.support.venue_broker import at_venue, held_change, order, settle, venue_broker


@pytest.fixture
def venue(tmp_path: Path) -> Iterator[tuple[ExchangeProcess, VenueBroker]]:
    """A local exchange at BTC 50000 and a broker on it."""
    with venue_broker(tmp_path) as pair:
        yield pair


def _refusals(broker: VenueBroker) -> list[VenueInputRejected]:
    return [e for e in broker.events() if isinstance(e, VenueInputRejected)]


CORRUPT_SUBMIT_ANSWERS = {
    "truncated": {"body": '{"symbol":"BTCUSDT","orderId":1,"clientOrderId":"QF-t'},
    "not json": {"body": "<html>oops</html>"},
    "NaN price": {"patch": {"price": "NaN", "executedQty": "NaN",
                            "cummulativeQuoteQty": "NaN"}},
    "negative fill": {"patch": {"executedQty": "-0.5"}},
    "an order id we never sent": {"patch": {"clientOrderId": "QF-never-sent"}},
}


@pytest.mark.parametrize("kind", sorted(CORRUPT_SUBMIT_ANSWERS))
def test_a_corrupt_answer_to_a_submit_is_refused_then_resolved_once(
    venue: tuple[ExchangeProcess, VenueBroker], kind: str,
) -> None:
    """The venue took the order but answered garbage: no fill is reported from it, the order
    stays open and unresolved here, and the lookup by client id finds the real one (once)."""
    x, broker = venue
    x.fault("corrupt", count=1, path="/api/v3/order", method="POST",
            **CORRUPT_SUBMIT_ANSWERS[kind])
    first = broker.submit(order(1))
    assert first.status is OrderStatus.SUBMITTED, first
    assert first.filled_quantity == 0.0, "a fill was booked from a corrupt answer"
    reports: dict[str, BrokerReport] = {first.client_order_id: first}
    settle(broker, reports)
    assert reports["QF-t0001"].status is OrderStatus.FILLED
    assert reports["QF-t0001"].filled_quantity == pytest.approx(0.01)
    # Found by client id (an answer with no trades): what it cost is asked for by its trades.
    assert reports["QF-t0001"].fees == {"BTC": pytest.approx(0.01 * 0.001)}
    assert at_venue(x) == ["QF-t0001"], "resent, or lost"
    assert broker.positions() == {"BTC/USDT": pytest.approx(held_change(x, "BTC"))}
    assert held_change(x, "BTC") == pytest.approx(0.01 - 0.01 * 0.001)
    refused = _refusals(broker)
    assert len(refused) == 1, refused
    assert refused[0].what == "order"
    assert refused[0].count == broker.bad_input == 1
    assert "QF-t0001" in refused[0].detail


def test_a_corrupt_lookup_changes_nothing_and_the_next_good_one_resolves(
    venue: tuple[ExchangeProcess, VenueBroker],
) -> None:
    """A lost submit whose first lookups answer a NaN price: refused and counted each time, the
    order stays unresolved (no report at all), until a good answer resolves it."""
    x, broker = venue
    x.fault("drop_after_accept", count=1, path="/api/v3/order", method="POST")
    x.fault("corrupt", count=3, path="/api/v3/order", method="GET",
            patch={"price": "NaN", "executedQty": "nan"})
    first = broker.submit(order(2))
    assert first.status is OrderStatus.SUBMITTED
    reports: dict[str, BrokerReport] = {first.client_order_id: first}
    settle(broker, reports)
    assert reports["QF-t0002"].status is OrderStatus.FILLED
    refused = _refusals(broker)
    assert [e.count for e in refused] == [1, 2, 3]
    assert all("NaN" in e.detail or "nan" in e.detail for e in refused), refused
    assert at_venue(x) == ["QF-t0002"]


def test_an_unknown_field_is_tolerated_and_changes_nothing_else(
    venue: tuple[ExchangeProcess, VenueBroker],
) -> None:
    """A field the venue added that we do not know is no error (venues add fields; the unified
    order is what is read): the order is booked from the fields we know, nothing refused."""
    x, broker = venue
    x.fault("corrupt", count=1, path="/api/v3/order", method="POST",
            patch={"surpriseField": {"nested": [1, 2]}, "workingTime": "soon"})
    report = broker.submit(order(3))
    assert report.status is OrderStatus.FILLED
    assert report.filled_quantity == pytest.approx(0.01)
    assert _refusals(broker) == []


def test_a_listing_with_an_order_we_never_sent_is_not_ours_to_count(
    venue: tuple[ExchangeProcess, VenueBroker],
) -> None:
    """An order at the venue under a client id that is not ours (a person on the same account):
    positions count only our own (``QF-``) orders, and it is listed as open for reconcile."""
    x, broker = venue
    broker.submit(order(4))
    x.fault("corrupt", count=1, path="/api/v3/allOrders", method="GET",
            patch={"clientOrderId": "manual-1"})
    assert broker.positions() == {}
    assert broker.positions() == {"BTC/USDT": pytest.approx(held_change(x, "BTC"))}
