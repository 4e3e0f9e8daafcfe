"""Positions, cash and PnL from fills (average-cost accounting), as pure code over values."""

from __future__ import annotations

import msgspec

from actors.execution.messages import Side


class Position(msgspec.Struct):
    """One instrument's signed quantity and average entry price."""

    quantity: float = 0.0
    avg_price: float = 0.0
    realized_pnl: float = 0.0
    """Realised PnL of this instrument's closing fills (0 in a book written before it)."""


class Portfolio(msgspec.Struct):
    """Cash, positions and realised PnL; what execution persists after every fill."""

    cash: float = 0.0
    realized_pnl: float = 0.0
    positions: dict[str, Position] = msgspec.field(default_factory=dict)
    fills: int = 0
    fees: dict[str, float] = msgspec.field(default_factory=dict)
    """Commissions paid, by currency (what the venue charged; {} in a book written before)."""
    fees_value: float = 0.0
    """The commissions in the base and quote currencies, valued in cash (counted in the
    realised PnL); a fee in a third currency (BNB, say) is in ``fees`` only."""

    def apply_fill(self, instrument: str, side: Side, quantity: float, price: float) -> float:
        """Book a fill; returns the realised PnL of its closing part."""
        pos = self.positions.setdefault(instrument, Position())
        signed = quantity if side is Side.BUY else -quantity
        realized = 0.0
        if pos.quantity and (pos.quantity > 0) != (signed > 0):
            closing = min(abs(signed), abs(pos.quantity))
            direction = 1.0 if pos.quantity > 0 else -1.0
            realized = closing * (price - pos.avg_price) * direction
        new_qty = pos.quantity + signed
        if abs(new_qty) < 1e-12:
            pos.quantity, pos.avg_price = 0.0, 0.0
        elif pos.quantity == 0 or (pos.quantity > 0) != (new_qty > 0):
            pos.quantity, pos.avg_price = new_qty, price  # opened, or flipped through zero
        elif abs(new_qty) > abs(pos.quantity):
            pos.avg_price = (pos.avg_price * abs(pos.quantity) + price * abs(signed)) / abs(new_qty)
            pos.quantity = new_qty
        else:
            pos.quantity = new_qty  # reduced: the average price of what is left is unchanged
        self.cash -= signed * price
        self.realized_pnl += realized
        pos.realized_pnl += realized
        self.fills += 1
        return realized

    def apply_fee(self, instrument: str, currency: str, amount: float, price: float
                  ) -> float | None:
        """Book a commission of ``amount`` in ``currency`` on a fill of ``instrument``
        (``BASE/QUOTE``): one in the base currency comes off the position (a buy's fee on
        Binance: the account holds less than was bought), one in the quote currency off the
        cash; either is a realised cost. Returns its value in cash, None for a third currency
        (recorded in ``fees`` only: the book holds no price for it).

        A base fee is valued at the average price of what is left (at ``price``, the fill's,
        where the fee alone opens a position), so that equity (cash plus marked positions)
        stays realised plus unrealised PnL: the position shrinks at its cost.
        """
        self.fees[currency] = self.fees.get(currency, 0.0) + amount
        base, _, quote = instrument.partition(":")[0].partition("/")
        pos = self.positions.setdefault(instrument, Position())
        if currency == quote:
            self.cash -= amount
            value = amount
        elif currency == base:
            new_qty = pos.quantity - amount
            opens = abs(new_qty) >= 1e-12 and (
                pos.quantity == 0 or (pos.quantity > 0) != (new_qty > 0))
            value = amount * (price if opens else pos.avg_price)
            if abs(new_qty) < 1e-12:
                pos.quantity, pos.avg_price = 0.0, 0.0
            elif opens:
                pos.quantity, pos.avg_price = new_qty, price  # the fee alone opens (or flips) it
            else:
                pos.quantity = new_qty
        else:
            return None
        self.fees_value += value
        self.realized_pnl -= value
        pos.realized_pnl -= value
        return value

    def equity(self, prices: dict[str, float]) -> float:
        """Cash plus positions marked at ``prices`` (entry price where no mark is known)."""
        marked = sum(
            p.quantity * prices.get(i, p.avg_price) for i, p in self.positions.items()
        )
        return self.cash + marked

    def unrealized(self, instrument: str, prices: dict[str, float]) -> float:
        """Unrealised PnL of ``instrument`` at ``prices``: 0 when flat or unmarked (``equity``
        marks an unpriced position at its entry price)."""
        pos = self.positions.get(instrument)
        if pos is None or not pos.quantity or instrument not in prices:
            return 0.0
        return pos.quantity * (prices[instrument] - pos.avg_price)

    def signed(self) -> dict[str, float]:
        """Instrument -> signed quantity, without flat instruments."""
        return {i: p.quantity for i, p in self.positions.items() if p.quantity}
