"""Symbol specs: Binance exchangeInfo symbol entries and the order filters they enforce."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from tests.support.exchange import errors

D = Decimal


def fmt(x: Decimal, places: int = 8) -> str:
    """A decimal as Binance writes it: fixed point with ``places`` decimals."""
    return f"{x.quantize(D(1).scaleb(-places)):f}"


def floor_to(x: Decimal, step: Decimal) -> Decimal:
    """``x`` rounded down to a multiple of ``step``."""
    return (x / step).to_integral_value(rounding=ROUND_DOWN) * step


@dataclass(frozen=True)
class Spec:
    """One spot symbol: assets, price/lot/notional filters."""

    base: str
    quote: str
    tick: Decimal = D("0.01")
    step: Decimal = D("0.00001")
    min_price: Decimal = D("0.01")
    max_price: Decimal = D("1000000")
    min_qty: Decimal = D("0.00001")
    max_qty: Decimal = D("9000")
    market_max_qty: Decimal = D("100")
    min_notional: Decimal = D("5")
    max_notional: Decimal = D("9000000")

    @property
    def symbol(self) -> str:
        """Binance's id, e.g. BTCUSDT."""
        return self.base + self.quote

    def info(self) -> dict[str, object]:
        """The exchangeInfo ``symbols[]`` entry."""
        return {
            "symbol": self.symbol,
            "status": "TRADING",
            "baseAsset": self.base,
            "baseAssetPrecision": 8,
            "quoteAsset": self.quote,
            "quotePrecision": 8,
            "quoteAssetPrecision": 8,
            "baseCommissionPrecision": 8,
            "quoteCommissionPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
            "icebergAllowed": False,
            "ocoAllowed": False,
            "otoAllowed": False,
            "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": False,
            "cancelReplaceAllowed": False,
            "isSpotTradingAllowed": True,
            "isMarginTradingAllowed": False,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": fmt(self.min_price),
                    "maxPrice": fmt(self.max_price),
                    "tickSize": fmt(self.tick),
                },
                {
                    "filterType": "LOT_SIZE",
                    "minQty": fmt(self.min_qty),
                    "maxQty": fmt(self.max_qty),
                    "stepSize": fmt(self.step),
                },
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "minQty": fmt(D(0)),
                    "maxQty": fmt(self.market_max_qty),
                    "stepSize": fmt(D(0)),
                },
                {
                    "filterType": "NOTIONAL",
                    "minNotional": fmt(self.min_notional),
                    "applyMinToMarket": True,
                    "maxNotional": fmt(self.max_notional),
                    "applyMaxToMarket": False,
                    "avgPriceMins": 5,
                },
                {"filterType": "MAX_NUM_ORDERS", "maxNumOrders": 200},
            ],
            "permissions": [],
            "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "allowedSelfTradePreventionModes": ["NONE", "EXPIRE_TAKER", "EXPIRE_MAKER"],
        }

    def check_price(self, price: Decimal) -> None:
        """PRICE_FILTER: within [min, max] and a multiple of the tick."""
        if price < self.min_price or price > self.max_price or price % self.tick != 0:
            raise errors.BinanceError(errors.FILTER, name="PRICE_FILTER")

    def check_qty(self, qty: Decimal, *, market: bool) -> None:
        """LOT_SIZE (and MARKET_LOT_SIZE for market orders)."""
        if qty < self.min_qty or qty > self.max_qty or qty % self.step != 0:
            raise errors.BinanceError(errors.FILTER, name="LOT_SIZE")
        if market and qty > self.market_max_qty:
            raise errors.BinanceError(errors.FILTER, name="MARKET_LOT_SIZE")

    def check_notional(self, notional: Decimal) -> None:
        """NOTIONAL: price * qty within [minNotional, maxNotional]."""
        if notional < self.min_notional or notional > self.max_notional:
            raise errors.BinanceError(errors.FILTER, name="NOTIONAL")


def spec_for(symbol: str) -> Spec:
    """A spec for ``BASE/QUOTE`` with defaults suited to its quote asset."""
    base, _, quote = symbol.upper().partition("/")
    if not quote:
        raise ValueError(f"symbol must be BASE/QUOTE, got {symbol!r}")
    if base in ("BTC",):
        return Spec(base, quote)
    return Spec(base, quote, step=D("0.0001"), min_qty=D("0.0001"))


def exchange_info(specs: list[Spec], server_time: int, weight_limit: int,
                  orders_per_10s: int = 100) -> dict[str, object]:
    """The ``GET /api/v3/exchangeInfo`` body (its ORDERS limit published, not enforced)."""
    return {
        "timezone": "UTC",
        "serverTime": server_time,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": weight_limit},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10,
             "limit": orders_per_10s},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5,
             "limit": 61000},
        ],
        "exchangeFilters": [],
        "symbols": [s.info() for s in specs],
    }
