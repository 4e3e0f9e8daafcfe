"""Shadow orders marked against the prices that followed, and what each would have cost."""

from actors.execution.markouts import Markouts, ShadowRecord, cost
from actors.execution.messages import Side


def _rec(coid: str, side: Side = Side.BUY, at: float = 100.0) -> ShadowRecord:
    return ShadowRecord(client_order_id=coid, instrument="BTC/USDT", side=side, quantity=2.0,
                        price=50.0, market=50.0, at=at)


def test_marks_land_at_each_horizon_and_complete_orders_leave() -> None:
    """Prices at +0.5, +1, +10 and +60 s mark the 1/10/60 s horizons once each (the order is
    handed back at each, to be written); complete, it leaves; another instrument's prices and a
    price before the next horizon mark nothing."""
    m = Markouts()
    m.add(_rec("a"))
    assert m.on_price("ETH/USDT", 9.0, 200.0) == []
    assert m.on_price("BTC/USDT", 51.0, 100.5) == []
    assert [r.marks for r in m.on_price("BTC/USDT", 52.0, 101.0)] == [{"1s": 52.0}]
    assert m.on_price("BTC/USDT", 52.5, 105.0) == []
    assert len(m.on_price("BTC/USDT", 53.0, 110.0)) == 1
    [done] = m.on_price("BTC/USDT", 49.0, 160.0)
    assert done.marks == {"1s": 52.0, "10s": 53.0, "60s": 49.0}
    assert not m.pending


def test_cost_is_the_adverse_move_times_quantity() -> None:
    """A buy at 50 marked at 49 cost 2 (2 units); a sell there gained 2 (cost -2)."""
    assert cost(_rec("b"), 49.0) == 2.0
    assert cost(_rec("s", Side.SELL), 49.0) == -2.0


def test_pending_orders_are_bounded_the_oldest_gives_way() -> None:
    """With no later prices, memory stays bounded: the oldest pending order is handed back."""
    m = Markouts(pending_max=2)
    assert m.add(_rec("1")) is None
    assert m.add(_rec("2")) is None
    dropped = m.add(_rec("3"))
    assert dropped is not None
    assert dropped.client_order_id == "1"
    assert list(m.pending) == ["2", "3"]
