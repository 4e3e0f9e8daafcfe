"""What an order's fills cost: taken only from the venue's trades, trade by trade; a fill an
answer does not cover is due until the venue lists trades that do."""

from __future__ import annotations

import pytest

from actors.execution.messages import OrderStatus, Side
from actors.venue.costs import Costs
from actors.venue.decode import decode_fill_costs
from actors.venue.errors import VenueBadInput
from actors.venue.types import VenueOrder


def _order(filled: float, status: OrderStatus = OrderStatus.FILLED) -> VenueOrder:
    return VenueOrder(venue_order_id="7", client_order_id="QF-1", symbol="BTC/USDT",
                      side=Side.BUY, status=status, venue_status="closed", amount=0.02,
                      filled=filled, price=None, average=50000.0, timestamp_ms=None)


def _trade(amount: float, fee: float, currency: str = "BTC", price: float = 50000.0) -> dict:
    return {"id": "1", "amount": amount, "price": price,
            "fee": {"cost": fee, "currency": currency},
            "fees": [{"cost": fee, "currency": currency}]}


def test_trades_add_up_by_currency() -> None:
    costs = decode_fill_costs([_trade(0.01, 1e-5), _trade(0.01, 0.3, "USDT", 50010.0)])
    assert costs.quantity == pytest.approx(0.02)
    assert costs.notional == pytest.approx(0.01 * 50000 + 0.01 * 50010)
    assert costs.fees == {"BTC": 1e-5, "USDT": 0.3}


@pytest.mark.parametrize(("trade", "field"), [
    ({"amount": 0.01, "price": 1.0, "fees": [{"cost": float("nan"), "currency": "BTC"}]},
     "fees[0].cost"),
    ({"amount": 0.01, "price": 1.0, "fees": [{"cost": 1e-5}]}, "fees[0].currency"),
    ({"amount": 0.01, "price": 1.0, "fees": [{"cost": -1e-5, "currency": "BTC"}]},
     "fees[0].cost"),
    ({"amount": 0.0, "price": 1.0}, "amount"),
    ({"amount": 0.01, "price": -5.0}, "price"),
    ({"amount": 0.01, "price": 1.0, "fees": "BTC"}, "fees"),
])
def test_a_malformed_trade_is_refused_naming_the_field(trade: dict, field: str) -> None:
    with pytest.raises(VenueBadInput, match=field.replace("[", r"\[").replace("]", r"\]")):
        decode_fill_costs([trade])


def test_an_answer_with_its_trades_states_the_cost_and_one_without_makes_it_due() -> None:
    costs = Costs()
    assert costs.of_answer("QF-1", {"trades": [_trade(0.02, 2e-5)]}, _order(0.02)) == (
        {"BTC": 2e-5}, True)
    assert costs.due == {}
    assert costs.of_answer("QF-1", {"trades": []}, _order(0.02)) == ({}, False)
    assert costs.due["QF-1"].filled == 0.02
    assert costs.due["QF-1"].venue_order_id == "7"
    # Trades that do not make up the whole fill state no cost: it stays due.
    assert costs.of_answer("QF-1", {"trades": [_trade(0.01, 1e-5)]}, _order(0.02)) == (
        {}, False)
    assert costs.of_answer("QF-2", {}, _order(0.0, OrderStatus.SUBMITTED)) == ({}, True)


def test_a_due_fill_is_reported_once_the_venue_lists_all_its_trades() -> None:
    costs = Costs()
    costs.of_answer("QF-1", {}, _order(0.02))
    assert costs.report("QF-1", [_trade(0.01, 1e-5)]) is None, "half the fill: not yet"
    assert "QF-1" in costs.due
    with pytest.raises(VenueBadInput):
        costs.report("QF-1", [{"amount": "x"}])
    assert "QF-1" in costs.due, "a malformed list leaves it due"
    report = costs.report("QF-1", [_trade(0.01, 1e-5), _trade(0.01, 1e-5, price=50010.0)])
    assert report is not None
    assert report.fees_known
    assert report.status is OrderStatus.FILLED
    assert report.filled_quantity == pytest.approx(0.02)
    assert report.fill_price == pytest.approx(50005.0)
    assert report.fees == {"BTC": pytest.approx(2e-5)}
    assert costs.due == {}
    assert costs.report("QF-1", []) is None
