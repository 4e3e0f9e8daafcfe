"""Config of the venue (``[venue]``): which ccxt exchange, where, which symbols, and its pace.

API credentials are never part of it: they come from the environment or systemd credentials
(``actors.venue.credentials``). ccxt itself is not imported here (it takes seconds): the
exchange id is checked against the list ccxt ships, read from its package source.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path
from typing import Annotated

import msgspec

Positive = Annotated[float, msgspec.Meta(gt=0)]

SECRET_KEYS = frozenset({"key", "secret", "api_key", "apikey", "api_secret", "password"})
"""Keys that look like a credential: refused in ``[venue]`` with a message saying where they go."""

_SYMBOL = re.compile(r"[A-Z0-9]+/[A-Z0-9]+")
_EXCHANGES = re.compile(r"^exchanges = \[(?P<body>.*?)^\]", re.DOTALL | re.MULTILINE)


@functools.cache
def ccxt_exchanges() -> frozenset[str]:
    """The exchange ids the installed ccxt knows (``ccxt.exchanges``), without importing ccxt."""
    spec = importlib.util.find_spec("ccxt")
    if spec is None or spec.origin is None:
        return frozenset()
    m = _EXCHANGES.search(Path(spec.origin).read_text(encoding="utf-8"))
    if m is None:  # ccxt changed its layout: pay for the import rather than guess
        import ccxt

        return frozenset(ccxt.exchanges)
    return frozenset(re.findall(r"'([a-z0-9_]+)'", m["body"]))


class VenueConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The venue reached through ccxt (used when ``[execution] broker`` or
    ``[orchestrator.feed] kind`` is ``venue``)."""

    exchange: str = "binance"
    """A ccxt exchange id (``ccxt.exchanges``): ``binance`` is the one proven end to end."""
    sandbox: bool = False
    """Use the exchange's testnet (ccxt ``set_sandbox_mode``)."""
    rest_url: str = ""
    """Send every REST call to this ``scheme://host[:port][/prefix]``, paths kept; empty: ccxt's."""
    ws_url: str = ""
    """Same for websocket endpoints; empty: ccxt's."""
    symbols: list[str] = msgspec.field(default_factory=lambda: ["BTC/USDT", "ETH/USDT"])
    """Markets traded and watched, in ccxt's unified ``BASE/QUOTE`` form."""
    request_timeout_s: Positive = 5.0
    """A REST call not answered within this is a timeout (its order's status is then unknown)."""
    recv_window_ms: Annotated[int, msgspec.Meta(gt=0, le=60_000)] = 5000
    """A signed request older than this at the venue is refused (Binance ``recvWindow``)."""
    request_weight_per_minute: Annotated[int, msgspec.Meta(gt=0)] = 1200
    """The venue's published request-weight limit (Binance spot: 1200 per minute per IP); the
    broker's polling stays under half of it, leaving the rest to orders and cancels."""
    stale_after_s: Positive = 5.0
    """A symbol with no market update for this long is stale (``FeedStale``); no order on it."""
    reconcile_every_s: Positive = 30.0
    """Seconds between reconciliations with the venue while running (also at every start, and
    after the market stream reconnects): every order of ours it lists since the last one
    compared with execution's record, differences recovered or halted on."""
    reconnect_backoff_min_s: Positive = 0.5
    """First wait before reconnecting a dropped stream; doubles on each failure."""
    reconnect_backoff_max_s: Positive = 10.0
    """Longest wait between reconnect attempts."""

    def __post_init__(self) -> None:
        """Refuse an exchange ccxt does not know, a malformed symbol and an inverted backoff."""
        known = ccxt_exchanges()
        if known and self.exchange not in known:
            raise ValueError(
                f"exchange {self.exchange!r} is not a ccxt exchange id "
                f"(e.g. binance, kraken, okx; all: ccxt.exchanges)"
            )
        for symbol in self.symbols:
            if not _SYMBOL.fullmatch(symbol):
                raise ValueError(f"symbol {symbol!r} is not BASE/QUOTE (e.g. BTC/USDT)")
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError(f"symbols {self.symbols} name a market twice")
        if self.reconnect_backoff_min_s > self.reconnect_backoff_max_s:
            raise ValueError(
                f"reconnect_backoff_min_s ({self.reconnect_backoff_min_s}) exceeds "
                f"reconnect_backoff_max_s ({self.reconnect_backoff_max_s})"
            )
