"""What our orders' fills cost at the venue: the commissions, by trade.

An order's answer carries its trades only sometimes (Binance's FULL answer to a new order
does; an order looked up or cancelled does not). A fill reported without its trades is *due*:
the broker's poller asks the venue for that order's trades (``myTrades`` by order id) and
reports the order again with what they cost. Nothing here guesses a fee from a rate: a cost is
booked only as the venue states it, trade by trade.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from actors.execution.broker import BrokerReport
from actors.execution.messages import OrderStatus
from actors.venue.decode import decode_fill_costs
from actors.venue.types import FillCosts, VenueOrder

_TOLERANCE = 1e-9
"""Relative: the trades' quantity equals the order's fill, printed through floats."""


def covers(costs: FillCosts, filled: float) -> bool:
    """Whether trades adding up to ``costs`` are the whole of a fill of ``filled``."""
    return math.isclose(costs.quantity, filled, rel_tol=_TOLERANCE, abs_tol=1e-12) or (
        costs.quantity > filled)


@dataclass(frozen=True)
class Due:
    """A fill of ours reported without what it cost."""

    symbol: str
    venue_order_id: str
    filled: float
    status: OrderStatus


class Costs:
    """The fills still due a cost, and the fees an answer's own trades state."""

    def __init__(self) -> None:
        self.due: dict[str, Due] = {}
        """Client order id -> the fill whose trades the poller asks for."""

    def of_answer(self, coid: str, raw: Any, order: VenueOrder) -> tuple[dict[str, float], bool]:
        """The fees ``raw`` (the ccxt order ``order`` was decoded from) states for its fill,
        and whether they are the whole of it; a fill they do not cover becomes due.

        Raises:
            VenueBadInput: A trade the answer carries is malformed (the answer is refused).
        """
        trades = raw.get("trades") if isinstance(raw, dict) else None
        if order.filled <= 0:
            self.due.pop(coid, None)
            return {}, True
        if trades:
            costs = decode_fill_costs(trades)
            if covers(costs, order.filled):
                self.due.pop(coid, None)
                return costs.fees, True
        known = self.due.get(coid)
        if known is None or known.filled < order.filled or known.status is not order.status:
            self.due[coid] = Due(order.symbol, order.venue_order_id, order.filled, order.status)
        return {}, False

    def report(self, coid: str, trades: Any) -> BrokerReport | None:
        """The due order ``coid`` reported again with its trades' costs (``trades``: the
        venue's list of that order's trades), None while they do not add up to its fill yet
        (it stays due).

        Raises:
            VenueBadInput: A trade is malformed (it stays due; nothing is booked from it).
        """
        due = self.due.get(coid)
        if due is None:
            return None
        costs = decode_fill_costs(trades, "myTrades")
        if not covers(costs, due.filled):
            return None
        del self.due[coid]
        return BrokerReport(coid, due.status, costs.quantity, costs.notional / costs.quantity,
                            fees=costs.fees)
