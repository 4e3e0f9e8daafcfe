"""classify: every ccxt exception class, and Binance's real error bodies through ccxt."""

import asyncio
import json

import pytest
from binance_fixture import loaded_binance
from ccxt.base import errors as ce

from actors.venue.rules import RejectReason, classify

R = RejectReason

CLASSES = [
    (ce.InsufficientFunds, R.INSUFFICIENT_BALANCE, True),
    (ce.InvalidOrder, R.FILTER_VIOLATION, True),
    (ce.BadSymbol, R.UNKNOWN_SYMBOL, True),
    (ce.OrderNotFound, R.UNKNOWN_ORDER, True),
    (ce.InvalidNonce, R.CLOCK_SKEW, True),
    (ce.AuthenticationError, R.AUTH_FAILED, True),
    (ce.PermissionDenied, R.AUTH_FAILED, True),
    (ce.AccountSuspended, R.AUTH_FAILED, True),
    (ce.RateLimitExceeded, R.RATE_LIMITED, True),
    (ce.DDoSProtection, R.RATE_LIMITED, True),
    (ce.ExchangeNotAvailable, R.VENUE_UNAVAILABLE, False),
    (ce.OnMaintenance, R.VENUE_UNAVAILABLE, False),
    (ce.RequestTimeout, R.VENUE_UNAVAILABLE, False),
    (ce.NetworkError, R.VENUE_UNAVAILABLE, False),
    (ce.ChecksumError, R.VENUE_UNAVAILABLE, False),
    (ce.BadRequest, R.BAD_REQUEST, True),
    (ce.NotSupported, R.BAD_REQUEST, True),
    (ce.DuplicateOrderId, R.STATUS_UNKNOWN, False),
    (ce.ExchangeError, R.STATUS_UNKNOWN, False),
    (ce.OperationFailed, R.STATUS_UNKNOWN, False),
    (ce.BadResponse, R.STATUS_UNKNOWN, False),
    (asyncio.TimeoutError, R.VENUE_UNAVAILABLE, False),
    (ConnectionResetError, R.VENUE_UNAVAILABLE, False),
    (OSError, R.VENUE_UNAVAILABLE, False),
    (KeyError, R.STATUS_UNKNOWN, False),
]


@pytest.mark.parametrize(("cls", "reason", "definite"), CLASSES, ids=lambda v: getattr(
    v, "__name__", str(v)))
def test_each_exception_class(cls: type[BaseException], reason: R, definite: bool) -> None:
    """Each class maps to its reason; subclasses are not swallowed by their parents."""
    outcome = classify(cls("boom"))
    assert (outcome.reason, outcome.definite) == (reason, definite)
    assert cls.__name__ in outcome.detail


BINANCE = [
    (400, -1013, "Filter failure: LOT_SIZE", R.FILTER_VIOLATION, True),
    (400, -1013, "Filter failure: PRICE_FILTER", R.FILTER_VIOLATION, True),
    (400, -1013, "Filter failure: NOTIONAL", R.BELOW_MIN_NOTIONAL, True),
    (400, -1013, "Filter failure: MIN_NOTIONAL", R.BELOW_MIN_NOTIONAL, True),
    (400, -2010, "Account has insufficient balance for requested action.",
     R.INSUFFICIENT_BALANCE, True),
    (400, -2010, "Duplicate order sent.", R.STATUS_UNKNOWN, False),
    (400, -2011, "Unknown order sent.", R.UNKNOWN_ORDER, True),
    (400, -2013, "Order does not exist.", R.UNKNOWN_ORDER, True),
    (400, -1021, "Timestamp for this request is outside of the recvWindow.", R.CLOCK_SKEW, True),
    (400, -1022, "Signature for this request is not valid.", R.AUTH_FAILED, True),
    (401, -2015, "Invalid API-key, IP, or permissions for action.", R.AUTH_FAILED, True),
    (400, -1121, "Invalid symbol.", R.UNKNOWN_SYMBOL, True),
    (429, -1003, "Too many requests.", R.RATE_LIMITED, True),
    (418, -1003, "Way too many requests; IP banned until 1600000000000.", R.RATE_LIMITED, True),
    (400, -1015, "Too many new orders; current limit is 10 orders per SECOND.",
     R.RATE_LIMITED, True),
    (503, -1001, "Internal error; unable to process your request. Please try again.",
     R.STATUS_UNKNOWN, False),
    (500, -1000, "An unknown error occured while processing the request.",
     R.STATUS_UNKNOWN, False),
    (400, -1102, "Mandatory parameter 'quantity' was not sent, was empty/null, or malformed.",
     R.BAD_REQUEST, True),
    (400, -9999, "Something Binance adds next year.", R.STATUS_UNKNOWN, False),
]


@pytest.mark.parametrize("host", ["https://api.binance.com", "http://127.0.0.1:9100"])
@pytest.mark.parametrize(("status", "code", "msg", "reason", "definite"), BINANCE,
                         ids=[f"{c}:{m[:24]}" for _, c, m, _, _ in BINANCE])
def test_binance_bodies_through_ccxts_own_handler(
    host: str, status: int, code: int, msg: str, reason: R, definite: bool
) -> None:
    """A real Binance error body, raised by ccxt's binance.handle_errors, classifies right;
    the same on binance.com and on a rehosted local exchange (ccxt's per-URL table is
    spot-only on api.binance.com, and its general table gives the same classes here)."""
    ex = loaded_binance()
    response = {"code": code, "msg": msg}
    with pytest.raises(ce.BaseError) as info:
        ex.handle_errors(status, "Bad Request", f"{host}/api/v3/order", "POST", {},
                         json.dumps(response), response, {}, "")
    outcome = classify(info.value)
    assert (outcome.reason, outcome.definite) == (reason, definite), type(info.value).__name__


def test_a_rehosted_binance_loses_ccxts_spot_table() -> None:
    """ccxt picks its 299-code spot table only for https://api.binance.com (and testnet) URLs;
    a rehosted REST URL gets the 134-code general table, and some codes differ: -1004 (server
    busy) is OperationFailed on binance.com (status unknown) but OperationRejected elsewhere
    (a definite bad request). The adapter must route the spot table for its rehosted URL."""
    ex = loaded_binance()
    response = {"code": -1004, "msg": "Server is busy, please wait and try again"}
    seen = {}
    for host in ("https://api.binance.com", "http://127.0.0.1:9100"):
        with pytest.raises(ce.BaseError) as info:
            ex.handle_errors(400, "Bad Request", f"{host}/api/v3/order", "POST", {},
                             json.dumps(response), response, {}, "")
        seen[host] = classify(info.value)
    assert not seen["https://api.binance.com"].definite
    assert seen["http://127.0.0.1:9100"].definite
