"""ccxt's Binance pointed at a local exchange the way the venue adapter does (rehost_all)."""

from __future__ import annotations

from typing import Any

from actors.venue.urls import rehost_all


def ccxt_binance(base_url: str, *, key: str, secret: str, pro: bool = False, **options: Any) -> Any:
    """An unmodified async ccxt binance (``ccxt.pro`` when ``pro``) talking to ``base_url``."""
    if pro:
        import ccxt.pro as ccxt_mod
    else:
        import ccxt.async_support as ccxt_mod
    opts = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
            "fetchMargins": False, **options}
    ex = ccxt_mod.binance({"apiKey": key, "secret": secret, "options": opts})
    ws_base = "ws" + base_url[len("http"):]
    ex.urls["api"] = rehost_all(ex.urls["api"], base_url, ws_base)
    return ex
