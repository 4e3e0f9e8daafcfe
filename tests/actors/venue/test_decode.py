"""Decoders accept what ccxt makes of real Binance answers and name any bad field."""

import copy
from typing import Any

import pytest
from binance_fixture import loaded_binance, parsed

from actors.execution.messages import OrderStatus, Side
from actors.venue.decode import (
    cancel_answer,
    decode_balance,
    decode_order,
    decode_ticker,
    decode_trade,
)
from actors.venue.errors import UnknownClientOrder, VenueBadInput

KNOWN = {"qf-intent-1"}


@pytest.fixture(scope="module")
def valid() -> dict[str, Any]:
    """ccxt's unified dicts of the Binance fixture answers."""
    return parsed(loaded_binance())


def test_a_ccxt_order_decodes(valid: dict[str, Any]) -> None:
    """A partly filled Binance order: open -> SUBMITTED, amounts and price kept."""
    order = decode_order(valid["order"], known_client_ids=KNOWN)
    assert order.status is OrderStatus.SUBMITTED
    assert (order.venue_order_id, order.client_order_id) == ("28", "qf-intent-1")
    assert (order.side, order.amount, order.filled, order.price) == (
        Side.BUY, 0.01, 0.004, 65000.0)


@pytest.mark.parametrize(("raw", "status"), [
    ("closed", OrderStatus.FILLED), ("canceled", OrderStatus.CANCELLED),
    ("expired", OrderStatus.CANCELLED), ("rejected", OrderStatus.REJECTED),
])
def test_every_ccxt_status_maps(valid: dict[str, Any], raw: str, status: OrderStatus) -> None:
    """ccxt's statuses map to the project's; the raw one is kept."""
    d = {**valid["order"], "status": raw}
    order = decode_order(d, known_client_ids=KNOWN)
    assert (order.status, order.venue_status) == (status, raw)


@pytest.mark.parametrize(("key", "value", "field"), [
    ("status", "PARTIALLY_FILLED", "order.status"),
    ("filled", 0.02, "order.filled"),
    ("amount", 0.0, "order.amount"),
    ("price", float("nan"), "order.price"),
    ("price", -1.0, "order.price"),
    ("amount", "0.01", "order.amount"),
    ("side", "BUY", "order.side"),
    ("id", None, "order.id"),
    ("symbol", "BTCUSDT", "order.symbol"),
    ("filled", True, "order.filled"),
])
def test_a_bad_order_field_is_named(
    valid: dict[str, Any], key: str, value: Any, field: str
) -> None:
    """Each bad field fails with VenueBadInput naming that field and the value."""
    d = {**valid["order"], key: value}
    with pytest.raises(VenueBadInput) as info:
        decode_order(d, known_client_ids=KNOWN)
    assert info.value.what == field
    assert not isinstance(info.value, UnknownClientOrder)


@pytest.mark.parametrize("client_id", ["someone-else", None])
def test_a_client_order_id_we_never_sent_is_its_own_error(
    valid: dict[str, Any], client_id: str | None
) -> None:
    """An order under another (or no) client id raises UnknownClientOrder with the order."""
    d = {**valid["order"], "clientOrderId": client_id}
    with pytest.raises(UnknownClientOrder) as info:
        decode_order(d, known_client_ids=KNOWN)
    assert info.value.order.venue_order_id == "28"


def test_a_binance_cancel_answer_is_the_order_it_cancelled(valid: dict[str, Any]) -> None:
    """Binance answers a cancel under the cancel's own client id, the order's in
    origClientOrderId: read as that order, CANCELLED with what had filled."""
    with pytest.raises(UnknownClientOrder):  # as ccxt parses it: the cancel's id
        decode_order(valid["cancel"], known_client_ids=KNOWN)
    order = decode_order(cancel_answer(valid["cancel"], "qf-intent-1"), known_client_ids=KNOWN)
    assert (order.client_order_id, order.status, order.filled) == (
        "qf-intent-1", OrderStatus.CANCELLED, 0.004)


def test_a_cancel_answer_for_another_order_stays_unknown(valid: dict[str, Any]) -> None:
    """A cancel answer whose original id is not the one cancelled is not taken as ours; one
    without a status is a cancel's; what is not a dict is left for the decoder to refuse."""
    other = cancel_answer(valid["cancel"], "qf-intent-2")
    with pytest.raises(UnknownClientOrder):
        decode_order(other, known_client_ids={"qf-intent-1", "qf-intent-2"})
    bare = {**valid["order"], "status": None}
    assert decode_order(cancel_answer(bare, "qf-intent-1"),
                        known_client_ids=KNOWN).status is OrderStatus.CANCELLED
    assert cancel_answer("garbage", "qf-intent-1") == "garbage"
    with pytest.raises(VenueBadInput):
        decode_order(cancel_answer(None, "qf-intent-1"), known_client_ids=KNOWN)


def test_a_ccxt_trade_decodes_and_needs_its_id(valid: dict[str, Any]) -> None:
    """A Binance fill decodes with its fee; without a trade id it is refused."""
    trade = decode_trade(valid["trade"])
    assert (trade.trade_id, trade.venue_order_id, trade.price, trade.amount) == (
        "28457", "28", 65000.0, 0.004)
    assert (trade.fee, trade.fee_currency) == (4e-06, "BTC")
    d = copy.deepcopy(valid["trade"])
    del d["id"]
    with pytest.raises(VenueBadInput, match=r"trade\.id"):
        decode_trade(d)


def test_a_ccxt_ticker_decodes_and_a_crossed_book_is_refused(valid: dict[str, Any]) -> None:
    """Bid/ask decode; bid above ask, or no price at all, is refused."""
    quote = decode_ticker(valid["ticker"])
    assert (quote.bid, quote.ask, quote.last) == (64999.99, 65000.01, None)
    with pytest.raises(VenueBadInput, match="crossed"):
        decode_ticker({**valid["ticker"], "bid": 70000.0})
    with pytest.raises(VenueBadInput, match="no bid, ask or last"):
        decode_ticker({"symbol": "BTC/USDT"})


def test_a_ccxt_balance_decodes_per_currency(valid: dict[str, Any]) -> None:
    """One line per currency; ccxt's free/used/total summary tables are skipped."""
    lines = decode_balance(valid["balance"])
    assert set(lines) == {"BTC", "USDT"}
    assert (lines["BTC"].free, lines["BTC"].used, lines["BTC"].total) == (0.5, 0.01, 0.51)
    with pytest.raises(VenueBadInput, match=r"balance\.BTC\.free"):
        decode_balance({**valid["balance"], "BTC": {"free": -1.0}})
