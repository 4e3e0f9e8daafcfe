"""Build the ccxt exchange a ``[venue]`` section names: its REST (or websocket) client, pointed
where ``rest_url``/``ws_url`` say, with our credentials and deadlines, ccxt's throttle off."""

from __future__ import annotations

from typing import Any, Protocol

from actors.venue.urls import rehost_all

EXCHANGE_OPTIONS: dict[str, dict[str, Any]] = {
    "binance": {
        # Spot only: the markets of the other products are other hosts and other rules.
        "defaultType": "spot",
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "fetchMargins": False,
    },
}
"""ccxt options per exchange id that a spot adapter needs (others run with ccxt's defaults)."""


class VenueSettings(Protocol):
    """What of ``VenueConfig`` building an exchange reads."""

    @property
    def exchange(self) -> str: ...
    @property
    def sandbox(self) -> bool: ...
    @property
    def rest_url(self) -> str: ...
    @property
    def ws_url(self) -> str: ...
    @property
    def request_timeout_s(self) -> float: ...
    @property
    def recv_window_ms(self) -> int: ...


def make_exchange(cfg: VenueSettings, *, key: str = "", secret: str = "",
                  streaming: bool = False) -> Any:
    """A ccxt async exchange (``streaming``: ccxt.pro's, for websockets) for ``cfg``.

    ccxt's own rate limiter is off (``enableRateLimit``): it spaces every request by the
    exchange's ``rateLimit`` (50 ms on Binance), which would put a halt's cancels in a queue.
    The venue's limits are kept by the gate's throttle and by honouring ``Retry-After``.
    Call it inside the event loop that will use it (its HTTP session belongs to that loop).
    """
    if streaming:
        import ccxt.pro as lib
    else:
        import ccxt.async_support as lib
    cls = getattr(lib, cfg.exchange, None)
    if cls is None:
        kind = "ccxt.pro (websockets)" if streaming else "ccxt"
        raise ValueError(f"[venue] exchange {cfg.exchange!r} is not in {kind}")
    options = {**EXCHANGE_OPTIONS.get(cfg.exchange, {}), "recvWindow": cfg.recv_window_ms}
    params: dict[str, Any] = {
        "enableRateLimit": False,
        "timeout": int(cfg.request_timeout_s * 1000),
        "options": options,
    }
    if key or secret:
        params.update(apiKey=key, secret=secret)
    ex = cls(params)
    if cfg.sandbox:
        ex.set_sandbox_mode(True)
    if cfg.rest_url or cfg.ws_url:
        ex.urls["api"] = rehost_all(ex.urls["api"], cfg.rest_url, cfg.ws_url)
    return ex
