"""Execution's status report (``ExecutionStatus``) from its book, marks and gate state: pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from actors._runtime.clock import Instant
from actors.execution import gate
from actors.execution.gate_config import GateConfig
from actors.execution.messages import (
    ExecutionStatus,
    GateStatus,
    InstrumentBook,
    LastFill,
    OrderStatus,
)
from actors.execution.portfolio import Portfolio


def report(
    pf: Portfolio, *, prices: dict[str, float], priced_at: Mapping[str, float],
    orders: dict[str, int], open_statuses: Iterable[OrderStatus], last_fill: LastFill | None,
    gate_state: gate.GateState, config: GateConfig, now: Instant, fees_due: int = 0,
) -> ExecutionStatus:
    """What execution holds and how it marks it at ``now``.

    Args:
        pf: the book's portfolio.
        prices: last market price per instrument.
        priced_at: wall time each of those prices was taken.
        orders: orders by status (open and final).
        open_statuses: the status of each open order.
        last_fill: the most recent fill booked.
        gate_state: the gate's own remembered state.
        config: the gate's limits (as execution applies them).
        now: the clocks' reading.
        fees_due: fills whose commission is not known yet.

    Returns:
        The report: every figure from the portfolio's and the gate's own functions.
    """
    instruments: dict[str, InstrumentBook] = {}
    for name in sorted({*pf.positions, *prices}):
        pos = pf.positions.get(name)
        instruments[name] = InstrumentBook(
            position=pos.quantity if pos else 0.0, avg_price=pos.avg_price if pos else 0.0,
            last_price=prices.get(name), last_price_at=priced_at.get(name),
            unrealized_pnl=pf.unrealized(name, prices),
            realized_pnl=pos.realized_pnl if pos else 0.0,
        )
    equity = pf.equity(prices)
    in_window = gate.orders_in_window(gate_state, now, config)
    open_orders: dict[str, int] = {}
    for status in open_statuses:
        open_orders[status.value] = open_orders.get(status.value, 0) + 1
    return ExecutionStatus(
        instruments=instruments, equity=equity, cash=pf.cash, realized_pnl=pf.realized_pnl,
        unrealized_pnl=sum(i.unrealized_pnl for i in instruments.values()),
        orders=orders, open_orders=open_orders, fills=pf.fills, last_fill=last_fill,
        gate=GateStatus(
            orders_in_window=in_window, max_orders_per_window=config.max_orders_per_window,
            rate_window_s=config.rate_window_s,
            rate_headroom=max(0, config.max_orders_per_window - in_window),
            session_id=gate_state.session_id,
            daily_loss=gate.session_loss(gate_state, equity),
            daily_loss_limit=config.daily_loss_limit,
        ),
        at=now.wall, fees=dict(pf.fees), fees_due=fees_due,
    )
