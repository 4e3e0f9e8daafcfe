"""Shadow orders against the market that followed: pure bookkeeping of mark-outs.

An order recorded in shadow mode keeps the market price at that moment and, as prices arrive,
the price 1 s, 10 s and 60 s later (by the feed's own time). What it "would have cost" is the
move against it: a buy at 100 followed by 99 cost 1 per unit, a sell there gained 1.
"""

from __future__ import annotations

from collections import OrderedDict

import msgspec

from actors.execution.messages import Side

HORIZONS_S = (1.0, 10.0, 60.0)
"""Mark-out horizons, seconds after the order (feed time)."""
PENDING_MAX = 10_000
"""Orders waiting for their later prices, at most (a stopped feed must not grow memory)."""
KEY_PREFIX = "cold/shadow/"
"""Execution's state keys of the records (cold: never loaded at start)."""


def horizon_key(h: float) -> str:
    """The mark's name for a horizon (``1s``, ``10s``, ``60s``)."""
    return f"{h:g}s"


class ShadowRecord(msgspec.Struct):
    """An order recorded and not sent, with the market at that moment and after."""

    client_order_id: str
    instrument: str
    side: Side
    quantity: float
    price: float
    """The price it would have been sent at (limit, else the reference)."""
    market: float
    """The market price execution had seen for the instrument when it was recorded."""
    at: float
    """Feed time of that market price (epoch seconds)."""
    marks: dict[str, float] = msgspec.field(default_factory=dict)
    """Market price at each horizon reached (``horizon_key``)."""


def cost(rec: ShadowRecord, mark: float) -> float:
    """What the order would have cost by the time the market was at ``mark`` (the adverse
    move times the quantity; negative: it would have gained)."""
    move = mark - rec.price
    return -move * rec.quantity if rec.side is Side.BUY else move * rec.quantity


class Markouts:
    """Orders waiting for later prices, oldest first."""

    def __init__(self, horizons: tuple[float, ...] = HORIZONS_S,
                 pending_max: int = PENDING_MAX) -> None:
        """No order pending yet."""
        self.horizons = horizons
        self.pending_max = pending_max
        self.pending: OrderedDict[str, ShadowRecord] = OrderedDict()

    def add(self, rec: ShadowRecord) -> ShadowRecord | None:
        """Wait for ``rec``'s later prices; returns the oldest pending one when it had to give
        way (to be kept as it is, without its later marks)."""
        self.pending[rec.client_order_id] = rec
        if len(self.pending) > self.pending_max:
            return self.pending.popitem(last=False)[1]
        return None

    def on_price(self, instrument: str, price: float, ts: float) -> list[ShadowRecord]:
        """Mark every pending order of ``instrument`` whose horizons ``ts`` reached; returns
        those that gained a mark (to be written again); a complete one is no longer pending."""
        marked: list[ShadowRecord] = []
        for coid, rec in list(self.pending.items()):
            if rec.instrument != instrument:
                continue
            before = len(rec.marks)
            for h in self.horizons:
                key = horizon_key(h)
                if key not in rec.marks and ts >= rec.at + h:
                    rec.marks[key] = price
            if len(rec.marks) > before:
                marked.append(rec)
            if len(rec.marks) == len(self.horizons):
                del self.pending[coid]
        return marked
