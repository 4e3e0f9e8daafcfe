"""The broker interface execution drives, and the order and report it passes through it.

A real adapter (a ccxt venue, say) implements ``Broker``: submit by client order id (idempotent),
cancel, and look up an order by client order id for reconciliation after a restart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from actors._runtime.messages import Event
from actors.execution.messages import OrderStatus, Side
from actors.execution.reconcile import Fill


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
    fees: Mapping[str, float] = field(default_factory=dict)
    """What the venue charged for ``filled_quantity`` so far, by currency (cumulative, like the
    fill: ``{"BTC": 1e-05}``); {} where it charged nothing."""
    fees_known: bool = True
    """False: the venue has not said yet what this fill cost (an answer without its trades);
    a later report of the same order says it."""


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
        ...

    def order_fills(self) -> dict[str, Fill]:
        """Our orders the venue lists since the last call's settled point (at the first call,
        all of them): client order id -> fill; {} where there is no venue to compare with."""
        ...

    def order_rate_limit(self) -> list[tuple[int, float]]:
        """The order limits the venue publishes, as (orders, per seconds); [] for none."""
        ...

    def events(self) -> list[Event]:
        """What the venue adapter has to say on the bus since the last call (refused input,
        rate limits); [] for a simulated venue."""
        ...
