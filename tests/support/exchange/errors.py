"""Binance spot error codes and messages, named once; raised as ``BinanceError`` by the book."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Err:
    """One Binance error: its code, message and the HTTP status it is answered with."""

    code: int
    msg: str
    status: int = 400


UNKNOWN = Err(-1000, "An unknown error occurred while processing the request.", 500)
INTERNAL = Err(-1001, "Internal error; unable to process your request. Please try again.", 500)
TOO_MANY_WEIGHT = Err(
    -1003,
    "Too much request weight used; current limit is {limit} request weight per 1 MINUTE. "
    "Please use WebSocket Streams for live updates to avoid polling the API.",
    429,
)
BANNED = Err(-1003, "Way too much request weight used; IP banned until {until}.", 418)
TIMESTAMP = Err(-1021, "Timestamp for this request is outside of the recvWindow.")
BAD_SIGNATURE = Err(-1022, "Signature for this request is not valid.")
ILLEGAL_CHARS = Err(
    -1100, "Illegal characters found in parameter '{name}'; legal range is '{legal}'.")
MANDATORY = Err(-1102, "Mandatory parameter '{name}' was not sent, was empty/null, or malformed.")
NOT_REQUIRED = Err(-1106, "Parameter '{name}' sent when not required.")
BAD_ORDER_TYPE = Err(-1116, "Invalid orderType.")
BAD_SIDE = Err(-1117, "Invalid side.")
BAD_SYMBOL = Err(-1121, "Invalid symbol.")
BAD_TIF = Err(-1115, "Invalid timeInForce.")
BAD_INTERVAL = Err(-1120, "Invalid interval.")
FILTER = Err(-1013, "Filter failure: {name}")
REJECTED = Err(-2010, "{reason}")
INSUFFICIENT = Err(-2010, "Account has insufficient balance for requested action.")
DUPLICATE = Err(-2010, "Duplicate order sent.")
CANCEL_REJECTED = Err(-2011, "Unknown order sent.")
NO_SUCH_ORDER = Err(-2013, "Order does not exist.")
BAD_KEY = Err(-2014, "API-key format invalid.", 401)
INVALID_KEY = Err(-2015, "Invalid API-key, IP, or permissions for action.", 401)
NOT_FOUND = Err(-1000, "Not found: {path}", 404)


class BinanceError(Exception):
    """An error answered as Binance does: HTTP ``status`` with ``{"code": ..., "msg": ...}``."""

    def __init__(self, err: Err, **fmt: object) -> None:
        self.code = err.code
        self.msg = err.msg.format(**fmt) if fmt else err.msg
        self.status = err.status
        super().__init__(f"{self.code} {self.msg}")

    def body(self) -> dict[str, object]:
        """The JSON body Binance answers with."""
        return {"code": self.code, "msg": self.msg}
