"""Commissions: booked once per part as the venue states them, off the position (a fee in the
base currency) or the cash (in the quote), never lost when the venue states them late, and
never booked from a report that cannot be true."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.execution.broker import BrokerOrder, BrokerReport
from actors.execution.fees import fee_increments
from actors.execution.messages import FeeCharged, OrderStatus, Side
from actors.execution.portfolio import Portfolio
from tests.actors.execution.test_execution_actor import _actor, _submit, _tick
from tests.actors.execution.test_partial_fills import ScriptedVenue

S, F = OrderStatus.SUBMITTED, OrderStatus.FILLED
SYM = "BTC/USDT"


def test_increments_are_what_is_new_and_a_falling_fee_is_refused() -> None:
    assert fee_increments({}, {"BTC": 1e-5}) == ({"BTC": 1e-5}, [])
    add, problems = fee_increments({"BTC": 1e-5}, {"BTC": 3e-5, "BNB": 0.1})
    assert add == {"BTC": pytest.approx(2e-5), "BNB": 0.1}
    assert problems == []
    assert fee_increments({"BTC": 1e-5}, {"BTC": 1e-5}) == ({}, [])
    assert "below" in fee_increments({"BTC": 2e-5}, {"BTC": 1e-5})[1][0]
    assert "not a cost" in fee_increments({}, {"BTC": math.nan})[1][0]
    assert "not a cost" in fee_increments({}, {"BTC": -1.0})[1][0]
    assert "now reported none" in fee_increments({"BTC": 1e-5}, {})[1][0]


def test_a_base_fee_comes_off_the_position_a_quote_fee_off_the_cash() -> None:
    pf = Portfolio(cash=1000.0)
    pf.apply_fill(SYM, Side.BUY, 0.01, 50000.0)
    assert pf.apply_fee(SYM, "BTC", 1e-5, 50000.0) == pytest.approx(0.5)
    assert pf.positions[SYM].quantity == pytest.approx(0.00999)
    assert pf.positions[SYM].avg_price == 50000.0
    pf.apply_fill(SYM, Side.SELL, 0.00999, 51000.0)
    assert pf.apply_fee(SYM, "USDT", 0.5, 51000.0) == 0.5
    assert pf.cash == pytest.approx(1000.0 - 500.0 + 0.00999 * 51000.0 - 0.5)
    assert pf.fees == {"BTC": 1e-5, "USDT": 0.5}
    assert pf.fees_value == pytest.approx(1.0)
    assert pf.apply_fee(SYM, "BNB", 0.01, 51000.0) is None  # no price for it: kept apart
    assert pf.fees["BNB"] == 0.01
    assert pf.fees_value == pytest.approx(1.0)


FILLS = st.lists(st.tuples(
    st.sampled_from([Side.BUY, Side.SELL]), st.floats(0.001, 2.0), st.floats(10.0, 1000.0),
    st.sampled_from(["BTC", "USDT"]), st.floats(0.0, 0.01)), min_size=1, max_size=30)


@settings(max_examples=300, deadline=None)
@given(fills=FILLS, mark=st.floats(10.0, 1000.0))
def test_equity_stays_cash_plus_realised_plus_unrealised_with_fees(
    fills: list[tuple[Side, float, float, str, float]], mark: float,
) -> None:
    """However fills and fees interleave, equity minus the starting cash is realised plus
    unrealised PnL (the fees counted as realised costs): nothing is lost or made up."""
    pf = Portfolio(cash=10_000.0)
    for side, qty, price, currency, rate in fills:
        pf.apply_fill(SYM, side, qty, price)
        fee = qty * rate if currency == "BTC" else qty * price * rate
        pf.apply_fee(SYM, currency, fee, price)
    prices = {SYM: mark}
    pnl = pf.realized_pnl + pf.unrealized(SYM, prices)
    assert pf.equity(prices) - 10_000.0 == pytest.approx(pnl, abs=1e-6)
    assert pf.realized_pnl == pytest.approx(sum(p.realized_pnl for p in pf.positions.values()))


class CostingVenue(ScriptedVenue):
    """A scripted venue whose reports carry what the fill cost (or that it is not known)."""

    def __init__(self, reports: list[BrokerReport]) -> None:
        super().__init__([])
        self.full: list[BrokerReport] = reports
        self.looked_up: list[str] = []

    def _next(self) -> list[BrokerReport]:
        if not self.full:
            return []
        r = self.full.pop(0)
        return [BrokerReport(self.coid, r.status, r.filled_quantity, r.fill_price,
                             fees=r.fees, fees_known=r.fees_known)]

    def submit(self, order: BrokerOrder) -> BrokerReport:
        self.coid = order.client_order_id
        return self._next()[0]

    def lookup(self, client_order_id: str) -> BrokerReport | None:
        self.looked_up.append(client_order_id)
        found = self._next()
        return found[0] if found else None


def _costed(tmp: Path, script: list[BrokerReport]) -> tuple[object, CostingVenue, list[object]]:
    actor, _clock = _actor(tmp)
    venue = CostingVenue(list(script))
    actor.broker = venue  # type: ignore[assignment]
    events = list(_submit(actor, "i1", quantity=0.02, price=50000.0, instrument=SYM).events)
    for _ in range(len(script)):
        events.extend(_tick(actor, 50000.0, instrument=SYM).events)
    return actor, venue, events


def R(status: OrderStatus, filled: float, fees: dict[str, float] | None = None) -> BrokerReport:
    return BrokerReport("", status, filled, 50000.0, fees=fees or {}, fees_known=fees is not None)


def test_each_part_of_a_fee_is_booked_once(tmp_path: Path) -> None:
    """A partial fill with its fee, the same report again, then the rest: the fee of each part
    is booked once, the position is net of it, and each is on the bus."""
    actor, _v, events = _costed(tmp_path, [
        R(S, 0.01, {"BTC": 1e-5}), R(S, 0.01, {"BTC": 1e-5}), R(F, 0.02, {"BTC": 2e-5})])
    charged = [e for e in events if isinstance(e, FeeCharged)]
    assert [c.amount for c in charged] == [pytest.approx(1e-5), pytest.approx(1e-5)]
    assert actor.book.portfolio.positions[SYM].quantity == pytest.approx(0.02 - 2e-5)
    assert actor.book.portfolio.fees == {"BTC": pytest.approx(2e-5)}
    assert actor.book.fees_due == {}


def test_a_fee_stated_after_the_order_closed_is_booked_on_the_final_order(
        tmp_path: Path) -> None:
    """The fill is reported without its trades (a lookup's answer): the order closes with its
    fee due; the venue's later report of what it cost is booked on the final order."""
    actor, _v, events = _costed(tmp_path, [R(F, 0.02), R(F, 0.02, {"BTC": 2e-5})])
    assert not actor.open
    assert actor.book.fees_due == {}
    assert [e.amount for e in events if isinstance(e, FeeCharged)] == [pytest.approx(2e-5)]
    assert actor.book.portfolio.positions[SYM].quantity == pytest.approx(0.02 - 2e-5)
    (order,) = actor.closed.values()
    assert order.fees == {"BTC": pytest.approx(2e-5)}


def test_a_fee_still_due_at_a_restart_is_asked_for_before_positions_are_compared(
        tmp_path: Path) -> None:
    """The process stopped with a fill's fee due: the next one asks the venue (lookup) before
    it compares positions, and books it."""
    actor, _v, _events = _costed(tmp_path, [R(F, 0.02)])
    coid = next(iter(actor.book.fees_due))
    assert actor.book.fees_due == {coid: 0.02}
    venue = CostingVenue([R(F, 0.02, {"BTC": 2e-5})])
    venue.coid = coid
    actor.broker = venue  # type: ignore[assignment]
    actor._settle_fees_due()
    assert venue.looked_up == [coid]
    assert actor.book.fees_due == {}
    assert actor.book.portfolio.positions[SYM].quantity == pytest.approx(0.02 - 2e-5)


def test_a_fee_that_falls_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    actor, _v, _events = _costed(tmp_path, [R(S, 0.01, {"BTC": 2e-5}), R(F, 0.02, {"BTC": 1e-5})])
    assert actor.book.rejections.get("bad_broker_report") == 1
    assert actor.book.portfolio.fees == {"BTC": pytest.approx(2e-5)}


def test_a_book_written_before_fees_reads_with_none_and_keeps_them_after(
        tmp_path: Path) -> None:
    """What is persisted: a book and an order written before fees were booked read back with
    none; written with fees, they read back with them (a restart books no part again)."""
    import msgspec

    from actors.execution.actor import Book, OrderRecord

    class OldPortfolio(msgspec.Struct):
        cash: float = 0.0
        realized_pnl: float = 0.0
        positions: dict[str, object] = msgspec.field(default_factory=dict)
        fills: int = 0

    class OldBook(msgspec.Struct):
        portfolio: OldPortfolio

    old = msgspec.msgpack.decode(msgspec.msgpack.encode(OldBook(OldPortfolio(cash=5.0))),
                                 type=Book)
    assert old.portfolio.fees == {}
    assert old.fees_due == {}
    assert old.portfolio.cash == 5.0
    actor, _v, _events = _costed(tmp_path, [R(F, 0.02, {"BTC": 2e-5})])
    book = msgspec.msgpack.decode(msgspec.msgpack.encode(actor.book), type=Book)
    assert book.portfolio.fees == {"BTC": pytest.approx(2e-5)}
    (order,) = actor.closed.values()
    again = msgspec.msgpack.decode(msgspec.msgpack.encode(order), type=OrderRecord)
    assert again.fees == {"BTC": pytest.approx(2e-5)}
