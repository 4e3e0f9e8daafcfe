"""Fuzzed venue input: decoders raise only VenueBadInput, and what they accept is sane."""

import math
from collections.abc import Callable
from typing import Any

import pytest
from binance_fixture import loaded_binance, parsed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actors.venue.decode import (
    decode_balance,
    decode_fill_costs,
    decode_order,
    decode_ticker,
    decode_trade,
)
from actors.venue.errors import VenueBadInput
from actors.venue.types import FillCosts, VenueOrder, VenueQuote, VenueTrade

VALID = parsed(loaded_binance())
VALID["fill"] = VALID["trade"]  # one of an order's trades, added up with its fees
KNOWN = {"qf-intent-1", "x", ""}

DECODERS: dict[str, Callable[[Any], Any]] = {
    "order": lambda d: decode_order(d, known_client_ids=KNOWN),
    "trade": decode_trade,
    "ticker": decode_ticker,
    "balance": decode_balance,
    "fill": lambda d: decode_fill_costs([d, d]),
}

NASTY = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["0.01", "nan", "open", "buy", "BTC/USDT", "1e400", "-0"]),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=4), st.integers(),
                                                         max_size=3),
)
KEYS = st.sampled_from([
    "id", "clientOrderId", "symbol", "side", "status", "amount", "filled", "price", "average",
    "timestamp", "order", "fee", "fees", "cost", "currency", "bid", "ask", "last", "free",
    "used", "total", "BTC", "info",
])


def _sane(value: object) -> None:
    """Every number in a decoded result is finite and non-negative."""
    if isinstance(value, FillCosts):
        assert value.quantity > 0
        assert value.notional > 0
        assert all(math.isfinite(v) and v > 0 for v in value.fees.values()), value.fees
        return
    if isinstance(value, dict):
        for v in value.values():
            _sane(v)
        return
    for name, v in vars(value).items():
        if isinstance(v, float):
            assert math.isfinite(v), name
            assert v >= 0, name
        if name in ("price", "average", "bid", "ask", "last") and v is not None:
            assert v > 0, name
    if isinstance(value, VenueOrder):
        assert value.filled <= value.amount
    if isinstance(value, VenueTrade):
        assert value.trade_id
    if isinstance(value, VenueQuote) and value.bid is not None and value.ask is not None:
        assert value.bid <= value.ask


def _run(kind: str, d: object) -> None:
    try:
        result = DECODERS[kind](d)
    except VenueBadInput:
        return
    _sane(result)


@pytest.mark.parametrize("kind", DECODERS)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(d=st.one_of(NASTY, st.dictionaries(st.one_of(KEYS, st.text(max_size=6)), NASTY,
                                          max_size=12)))
def test_arbitrary_input_raises_only_bad_input(kind: str, d: object) -> None:
    """Arbitrary values and dicts: VenueBadInput or a sane result, never anything else."""
    _run(kind, d)


@pytest.mark.parametrize("kind", DECODERS)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_valid_input_raises_only_bad_input(kind: str, data: st.DataObject) -> None:
    """A valid ccxt dict with keys dropped, replaced by nasty values, or unknown ones added."""
    d: dict[Any, Any] = dict(VALID[kind])
    target: dict[Any, Any] = d
    if kind == "balance":
        target = d["BTC"] = dict(d["BTC"])
    for _ in range(data.draw(st.integers(min_value=1, max_value=4))):
        action = data.draw(st.sampled_from(["drop", "replace", "add"]))
        if action == "drop" and target:
            target.pop(data.draw(st.sampled_from(sorted(target, key=str))))
        elif action == "replace" and target:
            target[data.draw(st.sampled_from(sorted(target, key=str)))] = data.draw(NASTY)
        else:
            target[data.draw(st.text(max_size=8))] = data.draw(NASTY)
    _run(kind, d)


@pytest.mark.parametrize("kind", ["order", "trade", "ticker"])
@settings(max_examples=50, deadline=None)
@given(extra=st.dictionaries(st.text(min_size=1, max_size=8).filter(
    lambda k: k not in VALID["order"] and k not in VALID["trade"]
    and k not in VALID["ticker"]), NASTY, max_size=5))
def test_unknown_fields_are_ignored(kind: str, extra: dict[str, Any]) -> None:
    """Fields ccxt or the venue add (``info`` and any new one) never make valid input bad:
    the result equals that of the untouched dict. (A balance's unknown key is a currency.)"""
    assert DECODERS[kind]({**VALID[kind], **extra}) == DECODERS[kind](VALID[kind])
