"""``quantfund status`` as text: the tree's health, then its trading, from one ``StatusReply``.

Pure: a reply in, lines out. Every figure is printed as the reply carries it (execution's and
the breaker's own numbers); nothing is recomputed here.
"""

from __future__ import annotations

import math
import time

from supervisor.admin_messages import StatusReply
from supervisor.trading_view import TradingStatus


def _num(value: float | None, spec: str = ".2f") -> str:
    if value is None:
        return "-"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return format(value, spec)


def _age(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}s"


def _when(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"


def render(reply: StatusReply) -> str:
    """The whole status: health lines, the actor table, then the trading section."""
    lines = health(reply)
    if reply.trading is not None:
        lines += ["", *trading(reply.trading)]
    return "\n".join(lines)


def health(reply: StatusReply) -> list[str]:
    """Trading state, supervisor, stores that failed, and one row per actor."""
    sv = reply.supervisor
    out = [f"trading state: {reply.trading_state} (seq {reply.trading_state_seq})   supervisor "
           f"pid {sv.pid}  up {sv.uptime_s:.1f} s  tree live: {sv.tree_live}"]
    if reply.halts_store_problem:
        out.append(f"HALTS STORE FAILED VERIFICATION: {reply.halts_store_problem}")
    out += [f"STATE LOST AT START (started HALTED): {lost}" for lost in reply.state_lost]
    out += [f"STATE CANNOT BE WRITTEN (HALTED): {stuck}" for stuck in reply.state_unwritable]
    out.append(f"{'actor':<14}{'pid':>8}  {'alive':<6}{'restarts':>9}{'beat age':>10}"
               f"{'iterations':>12}")
    for a in reply.actors:
        age = "-" if a.last_heartbeat_age_s is None else f"{a.last_heartbeat_age_s:.2f}s"
        it = "-" if a.iterations is None else str(a.iterations)
        out.append(f"{a.name:<14}{a.pid or '-':>8}  {a.alive!s:<6}{a.restarts:>9}{age:>10}"
                   f"{it:>12}")
    return out


def trading(ts: TradingStatus) -> list[str]:
    """Instruments, account, limits, breaker, gate, orders, fill, feeds, outbox."""
    return [*_execution(ts), *_breaker(ts), *_feeds(ts)]


def _execution(ts: TradingStatus) -> list[str]:
    ex = ts.execution
    if ex is None:
        return ["execution: no status report yet"]
    out = [f"{'instrument':<14}{'position':>12}{'avg price':>12}{'last price':>12}"
           f"{'age':>8}{'unrealised':>12}{'realised':>12}"]
    for name, b in ex.instruments.items():
        out.append(f"{name:<14}{_num(b.position, 'g'):>12}{_num(b.avg_price):>12}"
                   f"{_num(b.last_price):>12}{_age(ts.last_price_age_s.get(name)):>8}"
                   f"{_num(b.unrealized_pnl):>12}{_num(b.realized_pnl):>12}")
    out.append(f"equity {_num(ex.equity)}  cash {_num(ex.cash)}  realised {_num(ex.realized_pnl)}"
               f"  unrealised {_num(ex.unrealized_pnl)}  (execution, {_age(ts.execution_age_s)}"
               " ago)")
    g = ex.gate
    out.append(f"gate: daily loss {_num(g.daily_loss)} of {_num(g.daily_loss_limit)} (session "
               f"{g.session_id or '-'})  rate headroom {g.rate_headroom} of "
               f"{g.max_orders_per_window} per {g.rate_window_s:g} s")
    out.append(f"orders: open {_counts(ex.open_orders)}; all {_counts(ex.orders)}; "
               f"fills {ex.fills}")
    if ex.fees or ex.fees_due:
        paid = ", ".join(f"{v:.8g} {c}" for c, v in sorted(ex.fees.items())) or "none"
        out.append(f"commissions: {paid}" + (f"; {ex.fees_due} fill(s) waiting for theirs"
                                             if ex.fees_due else ""))
    f = ex.last_fill
    out.append("last fill: none" if f is None else
               f"last fill: {f.side.value} {f.quantity:g} {f.instrument} @ {_num(f.price)} "
               f"at {_when(f.at)} ({f.client_order_id})")
    return out


def account_lines(ts: TradingStatus) -> list[str]:
    """``trading`` without its instrument table (a phone's width: ``/positions`` has them)."""
    table = 1 + len(ts.execution.instruments) if ts.execution is not None else 0
    return [*_execution(ts)[table:], *_breaker(ts), *_feeds(ts)]


def _breaker(ts: TradingStatus) -> list[str]:
    br = ts.breaker
    if br is None:
        return ["breaker: no status report yet"]
    state = "HALTED" if br.halted else (
        f"paused until {_when(br.paused_until)}" if br.paused_until is not None else "armed")
    return [
        f"breaker: {state}  (breaker, {_age(ts.breaker_age_s)} ago)",
        f"  peak {_num(br.peak_equity)}  drawdown {_num(br.drawdown_pct, '.3f')}% of "
        f"max {br.max_drawdown_pct:g}%  daily loss {_num(br.daily_loss)} of "
        f"{_num(br.daily_loss_limit)} (session {br.session_id or '-'})",
        f"  consecutive losses {br.consecutive_losses} of {br.max_consecutive_losses}  "
        f"sharpe {_num(br.sharpe, '.3f')} over {br.sharpe_trades} trades (floor "
        f"{br.sharpe_floor:g} from {br.sharpe_min_trades})  trips in 24 h "
        f"{br.trips_in_24h} of {br.max_trips_per_24h}",
    ]


def _feeds(ts: TradingStatus) -> list[str]:
    feeds = ", ".join(
        f"{s} {'STALE' if f.stale else 'fresh'} since {_when(f.changed_at)}"
        for s, f in sorted(ts.feeds.items())) or "no staleness reported"
    depth = "-" if ts.outbox_depth is None else str(ts.outbox_depth)
    return [f"feeds: {feeds}", f"alert outbox: {depth} waiting"]
