"""Wall-clock stamps (``time.time()``, full resolution) of what the exchange sent and received,
for benchmarks: Binance's own fields carry milliseconds, too coarse for a path of a few."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Stamps:
    """The last ticker sent per symbol; per client order id, when its order arrived and when its
    cancel arrived and was answered (the answer's body is built, the bytes about to go)."""

    ticker_sent: dict[str, float] = field(default_factory=dict)
    order_received: dict[str, float] = field(default_factory=dict)
    cancel_received: dict[str, float] = field(default_factory=dict)
    cancel_answered: dict[str, float] = field(default_factory=dict)

    @staticmethod
    def now() -> float:
        """The clock every stamp is on (the same host's wall clock as the tree's ``sent_at``)."""
        return time.time()

    def request(self, key: str, params: dict[str, str], arrived: float,
                result: Any = None) -> None:
        """Stamp an order the exchange took (``arrived``) or a cancel it made (``arrived``,
        answered now; a ``DELETE openOrders`` stamps each order its ``result`` names); called
        only for requests that succeeded."""
        if key == "POST /api/v3/order":
            cid = params.get("newClientOrderId", "")
            if cid:
                self.order_received[cid] = arrived
        elif key == "DELETE /api/v3/order":
            cid = params.get("origClientOrderId", "")
            if cid:
                self.cancel_received[cid] = arrived
                self.cancel_answered[cid] = self.now()
        elif key == "DELETE /api/v3/openOrders" and isinstance(result, list):
            answered = self.now()
            for row in result:
                cid = row.get("origClientOrderId", "") if isinstance(row, dict) else ""
                if cid:
                    self.cancel_received[cid] = arrived
                    self.cancel_answered[cid] = answered

    def view(self) -> dict[str, dict[str, float]]:
        """Everything stamped so far (``GET /_control/stamps``)."""
        return {"ticker_sent": dict(self.ticker_sent),
                "order_received": dict(self.order_received),
                "cancel_received": dict(self.cancel_received),
                "cancel_answered": dict(self.cancel_answered)}

    def clear(self) -> None:
        """Forget every stamp (``POST /_control/stamps``: a benchmark's next round)."""
        for d in (self.ticker_sent, self.order_received, self.cancel_received,
                  self.cancel_answered):
            d.clear()
