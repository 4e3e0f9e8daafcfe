"""Broker adapters behind one small interface; ``shadow`` records and sends nothing.

A real adapter (a ccxt venue, say) implements ``Broker``: submit by client order id (idempotent),
cancel, and look up an order by client order id for reconciliation after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from actors.execution.messages import OrderStatus, Side


@dataclass(frozen=True)
class BrokerOrder:
    """An order as the broker is asked to take it."""

    client_order_id: str
    instrument: str
    side: Side
    quantity: float
    reference_price: float
    limit_price: float | None


@dataclass(frozen=True)
class BrokerReport:
    """The broker's answer: status, and the fill if there was one."""

    client_order_id: str
    status: OrderStatus
    filled_quantity: float = 0.0
    fill_price: float = 0.0
    reason: str = ""


class Broker(Protocol):
    """What execution needs from a venue."""

    name: str

    def submit(self, order: BrokerOrder) -> BrokerReport:
        """Send an order; the same client order id twice must not make two orders."""

    def cancel(self, client_order_id: str) -> BrokerReport:
        """Cancel an open order."""

    def cancel_all(self, client_order_ids: list[str]) -> list[BrokerReport]:
        """Cancel several open orders at once."""

    def lookup(self, client_order_id: str) -> BrokerReport | None:
        """What the venue knows of an order (None: never seen)."""

    def mark(self, instrument: str, price: float) -> None:
        """A market price (simulated venues fill at it)."""

    def match(self) -> list[BrokerReport]:
        """Reports that arrived since the last call (fills of resting orders)."""

    def positions(self) -> dict[str, float]:
        """Net filled quantity by instrument, as the venue holds it ({} when it holds none)."""
        ...

    def open_orders(self) -> list[str]:
        """Client order ids resting at the venue."""


class ShadowBroker:
    """Records what would be sent and sends nothing; reports a hypothetical fill at the
    reference price so positions and PnL show what the strategy would have done.
    """

    name = "shadow"

    def submit(self, order: BrokerOrder) -> BrokerReport:
        """Nothing leaves the process."""
        price = order.limit_price if order.limit_price is not None else order.reference_price
        return BrokerReport(
            order.client_order_id, OrderStatus.RECORDED, order.quantity, price
        )

    def cancel(self, client_order_id: str) -> BrokerReport:
        """Shadow orders are final at once; there is nothing to cancel."""
        return BrokerReport(client_order_id, OrderStatus.RECORDED, reason="shadow: nothing open")

    def cancel_all(self, client_order_ids: list[str]) -> list[BrokerReport]:
        """Nothing to cancel."""
        return [self.cancel(c) for c in client_order_ids]

    def lookup(self, client_order_id: str) -> BrokerReport | None:
        """A shadow venue remembers nothing; execution's own record is the truth."""
        return None

    def mark(self, instrument: str, price: float) -> None:
        """Nothing rests, so prices change nothing."""

    def match(self) -> list[BrokerReport]:
        """Nothing rests."""
        return []

    def positions(self) -> dict[str, float]:
        """Nothing is sent, so nothing is held."""
        return {}

    def open_orders(self) -> list[str]:
        """Nothing rests."""
        return []


def make_broker(name: str, state_dir: Path, *, latency_s: float, slippage_bps: float) -> Broker:
    """The broker named in config."""
    if name == "shadow":
        return ShadowBroker()
    if name == "paper":
        from actors.execution.paper import PaperVenue

        return PaperVenue(
            state_dir / "paper-venue.sqlite", latency_s=latency_s, slippage_bps=slippage_bps
        )
    raise ValueError(f"unknown broker {name!r} (known: shadow, paper)")
