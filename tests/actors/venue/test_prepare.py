"""prepare: an order fitted to a real ccxt binance market, or refused naming the limit."""

from typing import Any

import pytest
from binance_fixture import loaded_binance
from hypothesis import given, settings
from hypothesis import strategies as st

from actors.execution.messages import Side
from actors.venue.rules import PreparedOrder, Rejection, RejectReason, prepare


@pytest.fixture(scope="module")
def ex() -> Any:
    """One loaded exchange for the module (parsing markets is not free)."""
    return loaded_binance()


def _prep(ex: Any, qty: float, price: float | None, **kw: Any) -> PreparedOrder | Rejection:
    return prepare(Side.BUY, qty, price, ex.markets["BTC/USDT"],
                   amount_to_precision=ex.amount_to_precision,
                   price_to_precision=ex.price_to_precision, **kw)


def test_quantity_rounds_down_and_price_to_the_tick(ex: Any) -> None:
    """0.123456789 BTC becomes 0.12345 (down, never up); 65000.126 becomes 65000.13."""
    out = _prep(ex, 0.123456789, 65000.126)
    assert isinstance(out, PreparedOrder)
    assert out.quantity == pytest.approx(0.12345)
    assert out.quantity <= 0.123456789
    assert out.price == pytest.approx(65000.13)
    assert out.notional == pytest.approx(0.12345 * 65000.13)


def test_a_quantity_under_one_step_is_refused_naming_precision(ex: Any) -> None:
    """Less than one lot step rounds to nothing: refused before it leaves."""
    out = _prep(ex, 0.000001, 65000.0)
    assert isinstance(out, Rejection)
    assert (out.reason, out.limit) == (RejectReason.FILTER_VIOLATION, "precision.amount")


def test_min_notional_is_checked_with_the_values(ex: Any) -> None:
    """0.00005 BTC at 65000 is 3.25 USDT, under the 5 USDT minimum notional."""
    out = _prep(ex, 0.00005, 65000.0)
    assert isinstance(out, Rejection)
    assert (out.reason, out.limit) == (RejectReason.BELOW_MIN_NOTIONAL, "limits.cost.min")
    assert "3.25" in out.detail
    assert "5" in out.detail


def test_a_market_order_is_judged_at_the_reference_price(ex: Any) -> None:
    """Without a limit price the min notional uses the reference price."""
    out = _prep(ex, 0.00005, None, reference_price=65000.0)
    assert isinstance(out, Rejection)
    assert out.limit == "limits.cost.min"
    ok = _prep(ex, 0.001, None, reference_price=65000.0)
    assert isinstance(ok, PreparedOrder)
    assert ok.price is None


@pytest.mark.parametrize(
    ("qty", "price", "limit"),
    [(9001.0, 1.0, "limits.amount.max"), (1.0, 2_000_000.0, "limits.price.max")],
)
def test_max_limits_are_named(ex: Any, qty: float, price: float, limit: str) -> None:
    """Above the amount or price maximum: a filter violation naming that limit."""
    out = _prep(ex, qty, price)
    assert isinstance(out, Rejection)
    assert (out.reason, out.limit) == (RejectReason.FILTER_VIOLATION, limit)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_non_positive_or_non_finite_values_are_bad_requests(ex: Any, bad: float) -> None:
    """A zero, negative, NaN or infinite quantity or price never reaches ccxt's rounding."""
    for out, name in ((_prep(ex, bad, 65000.0), "quantity"), (_prep(ex, 0.01, bad), "price")):
        assert isinstance(out, Rejection)
        assert (out.reason, out.limit) == (RejectReason.BAD_REQUEST, name)


def test_a_rounding_that_went_up_is_refused() -> None:
    """If a precision function ever rounds a quantity up, the order is refused, not sent."""
    market = {"symbol": "X/Y", "precision": {"amount": 1.0}, "limits": {}}
    out = prepare(Side.SELL, 1.5, 10.0, market, amount_to_precision=lambda s, v: "2",
                  price_to_precision=lambda s, v: str(v))
    assert isinstance(out, Rejection)
    assert out.limit == "precision.amount"


@settings(max_examples=300, deadline=None)
@given(
    qty=st.floats(min_value=1e-9, max_value=1e5),
    price=st.one_of(st.none(), st.floats(min_value=1e-4, max_value=1e7)),
)
def test_whatever_passes_fits_every_limit(qty: float, price: float | None) -> None:
    """Any order prepare lets through is rounded down to a whole lot step, on the tick, and
    inside every amount, price and notional limit of the market; anything else is a Rejection."""
    ex = _EX
    market = ex.markets["BTC/USDT"]
    out = _prep(ex, qty, price, reference_price=65000.0)
    if isinstance(out, Rejection):
        assert out.limit
        return
    limits = market["limits"]
    assert out.quantity <= qty
    steps = out.quantity / market["precision"]["amount"]
    assert abs(steps - round(steps)) < 1e-6
    assert limits["amount"]["min"] <= out.quantity <= limits["amount"]["max"]
    if out.price is not None:
        ticks = out.price / market["precision"]["price"]
        assert abs(ticks - round(ticks)) < 1e-6
        assert limits["price"]["min"] <= out.price <= limits["price"]["max"]
    assert limits["cost"]["min"] <= out.notional <= limits["cost"]["max"]


_EX = loaded_binance()
