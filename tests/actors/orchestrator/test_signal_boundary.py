"""The orchestrator's signal boundary: the gate's numeric checks, before any intent exists."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.execution.messages import Side
from actors.orchestrator.strategy import Signal, SignalRejected, check_signal

PRICES = {"BTC-USD": 100.0}


@given(
    quantity=st.floats(allow_nan=True, allow_infinity=True),
    limit=st.none() | st.floats(allow_nan=True, allow_infinity=True),
    price=st.floats(allow_nan=True, allow_infinity=True),
)
def test_no_nan_or_inf_ever_becomes_an_intent(
    quantity: float, limit: float | None, price: float
) -> None:
    """Whatever the numbers, a signal passes only if quantity, feed price and limit price are
    all finite and > 0; otherwise SignalRejected names the field."""
    signal = Signal("BTC-USD", Side.BUY, quantity, limit_price=limit)
    values = [quantity, price] + ([] if limit is None else [limit])
    sound = all(math.isfinite(v) and v > 0 for v in values)
    if sound:
        assert check_signal(signal, {"BTC-USD": price}) is signal
        return
    with pytest.raises(SignalRejected) as info:
        check_signal(signal, {"BTC-USD": price})
    assert any(name in str(info.value) for name in ("quantity", "reference_price", "limit_price"))
    assert info.value.code in {"not_finite", "not_positive"}


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("buy 1", "not_a_signal"),
        (Signal("DOGE", Side.BUY, 1.0), "unknown_instrument"),
        (Signal("BTC-USD", "BUY", 1.0), "bad_side"),  # type: ignore[arg-type]
        (Signal("BTC-USD", Side.BUY, True), "not_a_number"),
        (Signal("BTC-USD", Side.BUY, "1"), "not_a_number"),  # type: ignore[arg-type]
    ],
)
def test_malformed_signals_are_refused_with_a_code(raw: object, code: str) -> None:
    """Not a Signal, an unknown instrument, a bad side, a bool or string quantity: refused."""
    with pytest.raises(SignalRejected) as info:
        check_signal(raw, PRICES)
    assert info.value.code == code
