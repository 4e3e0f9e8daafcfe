"""The ``shadow`` broker: records what would be sent and sends nothing."""

from __future__ import annotations

from actors._runtime.messages import Event
from actors.execution.broker import BrokerOrder, BrokerReport
from actors.execution.messages import OrderStatus
from actors.execution.reconcile import Fill


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

    def order_fills(self) -> dict[str, Fill]:
        """A simulated venue is execution's own: nothing to reconcile periodically."""
        return {}

    def order_rate_limit(self) -> list[tuple[int, float]]:
        """A simulated venue publishes no order limit: the configured throttle holds."""
        return []

    def events(self) -> list[Event]:
        """A simulated venue has nothing to say on the bus."""
        return []
