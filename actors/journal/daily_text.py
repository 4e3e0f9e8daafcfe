"""The daily report as text: the Telegram message and ``quantfund report``'s output alike."""

from __future__ import annotations

from actors.journal.daily import DailyReport, Incident

MAX_LISTED = 8
"""Trips or halts listed one per line; past it, a count of the rest (a message stays short)."""


def render_text(report: DailyReport) -> str:
    """The report in lines a person reads, ending with the anchor to compare later."""
    r = report
    lines = [f"Daily report {r.day} (UTC)"]
    change = r.equity_change
    if change is None:
        lines.append(f"P&L: realised {r.realized_pnl:+.2f}; no equity mark recorded")
    else:
        lines.append(f"P&L: equity {r.equity_start:.2f} -> {r.equity_end:.2f} ({change:+.2f}), "
                     f"realised {r.realized_pnl:+.2f}")
        lines.append(f"Drawdown: max {r.max_drawdown_pct:.2f} % from the day's peak "
                     f"{r.equity_peak:.2f}")
    by = ", ".join(f"{k} {v}" for k, v in r.fills_by_instrument.items())
    lines.append(f"Trades: {r.fills} fills" + (f" ({by})" if by else "")
                 + f", notional {r.notional:.2f}; orders accepted: {r.orders_accepted}")
    if r.fees:
        paid = ", ".join(f"{v:.8g} {c}" for c, v in r.fees.items())
        lines.append(f"Commissions: {paid} (in cash {r.fees_value:.2f}, out of realised)")
    rejected = sum(r.rejections.values())
    reasons = ", ".join(f"{k} {v}" for k, v in r.rejections.items())
    lines.append(f"Rejections: {rejected}" + (f" ({reasons})" if reasons else ""))
    lines.append(f"Breaker trips: {len(r.breaker_trips)}, escalations to HALTED: "
                 f"{r.breaker_halts}")
    lines.extend(_incidents(r.breaker_trips))
    lines.append(f"Halts: {len(r.halts)} (trading-state changes: {r.state_changes})")
    lines.extend(_incidents(r.halts))
    restarts = ", ".join(f"{k} {v}" for k, v in r.restarts.items())
    exits = ", ".join(f"{k} {v}" for k, v in r.exits.items())
    lines.append(f"Restarts: {sum(r.restarts.values())}" + (f" ({restarts})" if restarts else "")
                 + (f"; exits: {exits}" if exits else ""))
    lines.append("Worst latency: " + _latency(r))
    if r.bad_lines:
        lines.append(f"WARNING: {r.bad_lines} lines are not good entries: run "
                     "`quantfund journal verify`")
    lines.append(f"Journal: {r.entries} entries, seq {r.first_seq}..{r.last_seq}")
    lines.append(f"Anchor: {r.anchor or 'none (no entry that day)'}")
    return "\n".join(lines)


def _incidents(items: list[Incident]) -> list[str]:
    shown = [f"  {i.at[11:19]} {i.what}: {i.reason[:120]}" for i in items[:MAX_LISTED]]
    if len(items) > MAX_LISTED:
        shown.append(f"  ... and {len(items) - MAX_LISTED} more")
    return shown


def _latency(r: DailyReport) -> str:
    lat = r.latency
    figures = [
        ("halt -> last cancel", lat.halt_to_last_cancel_s),
        ("heartbeat silence", lat.heartbeat_silence_s),
        ("hang", lat.hang_s),
        ("feed gap", lat.feed_gap_s),
        ("feed stale", lat.feed_stale_s),
    ]
    said = [f"{name} {value:.3f} s" for name, value in figures if value is not None]
    return ", ".join(said) if said else "none recorded"
