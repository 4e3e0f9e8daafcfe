"""A real ``ccxt.binance()`` loaded with markets from exchangeInfo-shaped data (no network)."""

from typing import Any

import ccxt


def _symbol(base: str, tick: str, step: str, min_qty: str, min_notional: str) -> dict[str, Any]:
    return {
        "symbol": f"{base}USDT", "status": "TRADING", "baseAsset": base, "baseAssetPrecision": 8,
        "quoteAsset": "USDT", "quotePrecision": 8, "quoteAssetPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"], "icebergAllowed": True,
        "ocoAllowed": True, "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
        "permissions": [], "permissionSets": [["SPOT"]],
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000.00000000",
             "tickSize": tick},
            {"filterType": "LOT_SIZE", "minQty": min_qty, "maxQty": "9000.00000000",
             "stepSize": step},
            {"filterType": "NOTIONAL", "minNotional": min_notional, "applyMinToMarket": True,
             "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
        ],
    }


EXCHANGE_INFO = {
    "timezone": "UTC",
    "symbols": [
        _symbol("BTC", "0.01000000", "0.00001000", "0.00001000", "5.00000000"),
        _symbol("ETH", "0.01000000", "0.00010000", "0.00010000", "5.00000000"),
    ],
}


def loaded_binance() -> Any:
    """A ``ccxt.binance`` whose markets are BTC/USDT and ETH/USDT, parsed by ccxt itself."""
    ex = ccxt.binance()
    # fetch_markets fills these from margin endpoints before parse_market reads them.
    ex.options["crossMarginPairsData"] = []
    ex.options["isolatedMarginPairsData"] = []
    ex.set_markets([ex.parse_market(s) for s in EXCHANGE_INFO["symbols"]])
    return ex
