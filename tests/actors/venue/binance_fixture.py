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


ORDER_RESPONSE = {
    "symbol": "BTCUSDT", "orderId": 28, "orderListId": -1, "clientOrderId": "qf-intent-1",
    "transactTime": 1507725176595, "price": "65000.00000000", "origQty": "0.01000000",
    "executedQty": "0.00400000", "cummulativeQuoteQty": "260.00000000", "status":
    "PARTIALLY_FILLED", "timeInForce": "GTC", "type": "LIMIT", "side": "BUY",
    "workingTime": 1507725176595, "selfTradePreventionMode": "NONE",
}
"""A Binance POST /api/v3/order answer (RESULT), partly filled."""

TRADE_RESPONSE = {
    "symbol": "BTCUSDT", "id": 28457, "orderId": 28, "orderListId": -1, "price": "65000.00",
    "qty": "0.00400000", "quoteQty": "260.00", "commission": "0.00000400",
    "commissionAsset": "BTC", "time": 1499865549590, "isBuyer": True, "isMaker": False,
    "isBestMatch": True,
}
"""A Binance GET /api/v3/myTrades row."""

TICKER_RESPONSE = {
    "symbol": "BTCUSDT", "bidPrice": "64999.99", "bidQty": "1.5", "askPrice": "65000.01",
    "askQty": "2.0",
}
"""A Binance GET /api/v3/ticker/bookTicker answer."""

BALANCE_RESPONSE = {
    "makerCommission": 10, "takerCommission": 10, "canTrade": True, "accountType": "SPOT",
    "updateTime": 123456789, "balances": [
        {"asset": "BTC", "free": "0.50000000", "locked": "0.01000000"},
        {"asset": "USDT", "free": "10000.00", "locked": "0.00"},
    ],
}
"""A Binance GET /api/v3/account answer (the part ccxt reads)."""


CANCEL_RESPONSE = {
    "symbol": "BTCUSDT", "origClientOrderId": "qf-intent-1", "orderId": 28, "orderListId": -1,
    "clientOrderId": "cancelMyOrder1", "transactTime": 1684804350068, "price": "65000.00000000",
    "origQty": "0.01000000", "executedQty": "0.00400000", "cummulativeQuoteQty": "260.00000000",
    "status": "CANCELED", "timeInForce": "GTC", "type": "LIMIT", "side": "BUY",
    "selfTradePreventionMode": "NONE",
}
"""A Binance DELETE /api/v3/order answer: ``clientOrderId`` is the cancel request's own id (one
Binance makes up when none is given), the order's is ``origClientOrderId``."""


def parsed(ex: Any) -> dict[str, Any]:
    """Each response above as ccxt's unified dict (what the decoders get)."""
    market = ex.markets["BTC/USDT"]
    return {
        "order": ex.parse_order(ORDER_RESPONSE, market),
        "cancel": ex.parse_order(CANCEL_RESPONSE, market),
        "trade": ex.parse_trade(TRADE_RESPONSE, market),
        "ticker": ex.parse_ticker(TICKER_RESPONSE, market),
        "balance": ex.parse_balance_custom(BALANCE_RESPONSE, "spot"),
    }
