"""Plain-text alert messages per event type, readable on a phone lock screen.

Every message starts with the severity (``🔴 RED · HALTED by operator: ...``). Rendering never
raises: a missing field shows as ``?``, an unknown event gets a generic line listing its fields,
and a template that fails for any reason falls back to that generic line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

from actors.alerter.severity import Fields, Severity, raw

MAX_CHARS = 4000
"""Telegram refuses texts over 4096 characters; we cut a little earlier to leave room for a
``(resent ...)`` prefix."""

MISSING = "?"
"""Shown in place of a field the event did not carry."""


class _View:
    """Lenient access to an event's fields: never raises, formats numbers compactly."""

    def __init__(self, fields: Fields) -> None:
        self._fields = fields

    def has(self, name: str) -> bool:
        return self._fields.get(name) not in (None, "")

    def __getitem__(self, name: str) -> str:
        return _show(raw(self._fields.get(name)))

    def clock(self, name: str) -> str:
        """A seconds-since-epoch field as ``HH:MM:SS UTC``, or "" when absent or not a time."""
        value = self._fields.get(name)
        if not isinstance(value, int | float) or isinstance(value, bool):
            return ""
        try:
            return _hms(float(value))
        except (OverflowError, OSError, ValueError):
            return ""

    def lines(self, name: str) -> list[str]:
        """A list field as strings (empty when absent or not a list)."""
        value = self._fields.get(name)
        return [str(raw(v)) for v in value] if isinstance(value, list | tuple) else []

    def first(self, *names: str) -> str:
        """The first of ``names`` the event carries, or ``?``."""
        for name in names:
            if self.has(name):
                return self[name]
        return MISSING


def _show(value: object) -> str:
    if value is None or value == "":
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        # Prices and PnL: enough digits to read, no float noise (0.30000000000000004).
        return f"{value:.10g}"
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(_show(raw(item)) for item in value) or "none"
    return str(raw(value))


def _suffix(f: _View, name: str, fmt: str) -> str:
    return fmt.format(f[name]) if f.has(name) else ""


def _trading_state(f: _View) -> str:
    return f"{f['state']} by {f['source']}: {f['reason']} (was {f['previous']})" + _suffix(
        f, "seq", ", halts row {}"
    )


def _child_started(f: _View) -> str:
    return f"{f['actor']} restarted (restart #{f['restarts']}, pid {f['pid']})"


def _child_terminated(f: _View) -> str:
    return (
        f"{f['actor']} terminated: {f['reason']} (exit status {f['exit_status']}, pid {f['pid']})"
    )


def _restart_intensity(f: _View) -> str:
    what = f.first("child", "actor")
    limits = ""
    if f.has("intensity") or f.has("period_s") or f.has("period"):
        limits = f" ({f['intensity']} restarts within {f.first('period_s', 'period')} s)"
    return (
        f"restart intensity reached{limits}; last child to die: {what}. "
        "Trading halted; the supervisor drains and exits for systemd to decide."
    )


def _tampering(f: _View) -> str:
    where = f.first("store", "path", "file", "source")
    what = f.first("problem", "detail", "reason", "description")
    return f"tampering detected in {where}: {what}" + (
        _suffix(f, "seq", " (first broken row {})")
    )


def _breaker_tripped(f: _View) -> str:
    until = f.clock("pause_until")
    return (
        f"breaker tripped on {f.first('rule', 'check', 'name')}: {f['reason']}; trading paused"
        + (f" until {until}" if until else "")
    )


def _breaker_reset(f: _View) -> str:
    return f"breaker reset: {f['reason']}; trading resumes"


def _strategy_failed(f: _View) -> str:
    who = f"strategy {f['strategy']}" if f.has("strategy") else "the strategy"
    return f"{who} failed: {f.first('error', 'reason')}" + _suffix(
        f, "iteration", " (iteration {}; bar skipped)"
    )


def _bad_message(f: _View) -> str:
    return f"{f['actor']} dropped undecodable bytes on {f['socket']}: {f['reason']}" + _suffix(
        f, "count", " ({} so far)"
    )


def _breaker_halted(f: _View) -> str:
    return (
        f"breaker escalated to HALT: {f['reason']}"
        + _suffix(f, "trips_in_24h", " ({} trips within 24 h)")
        + _suffix(f, "resets", " ({} resets within 24 h)")
        + "; only an operator resumes"
    )


def _heartbeat_missed(f: _View) -> str:
    return (
        f"{f['actor']} missed its heartbeat"
        + _suffix(f, "silent_s", ", silent for {} s")
        + _suffix(f, "missed", " ({} beats)")
        + (_suffix(f, "last_seen_s", ", last seen {} s ago"))
    )


def _hang_detected(f: _View) -> str:
    what = "stalled (beating, no progress)" if f["kind"] == "stall" else "hung (silent)"
    return f"{f['actor']} {what} for {f['for_s']} s (pid {f['pid']}, iteration {f['iterations']})"


def _heartbeat_action(f: _View) -> str:
    return f"heartbeat {f['action']} on {f['target']} (pid {f['pid']}): {f['reason']}"


def _order_rejected(f: _View) -> str:
    return (
        f"order rejected: {f['instrument']} [{f['code']}] {f['reason']} (intent {f['intent_id']})"
    )


def _order_filled(f: _View) -> str:
    return (
        f"filled {f['side']} {f['quantity']} {f['instrument']} @ {f['price']}; "
        f"position {f['position_after']}; realised PnL {f['realized_pnl']}"
    )


def _config_changed(f: _View) -> str:
    if f.has("new_hash"):
        lines = f.lines("diff")
        shown = "\n".join(f"  {line}" for line in lines[:_DIFF_LINES])
        more = len(lines) - _DIFF_LINES
        return (
            f"config changed since the last run ({f['old_hash'][:12]} -> {f['new_hash'][:12]})"
            + (f":\n{shown}" if shown else "")
            + (f"\n  ... and {more} more" if more > 0 else "")
        )
    return (
        f"config changed: {f.first('key', 'path', 'file', 'section')}"
        + _suffix(f, "old", " from {}")
        + _suffix(f, "new", " to {}")
        + _suffix(f, "source", " by {}")
    )


_DIFF_LINES = 30
"""Changed keys listed in a config-change alert; the rest are counted."""


def _journal_anchored(f: _View) -> str:
    head = f.first("final_hash", "head", "hash", "digest")
    return f"journal anchored for {f.first('day', 'date')}: final hash {head[:16]}" + _suffix(
        f, "last_seq", ", last entry #{}"
    )


def _state_lost(f: _View) -> str:
    return f"state lost, trading HALTED: {'; '.join(f.lines('problems'))}. Remedy: {f['remedy']}"


def _state_write_failed(f: _View) -> str:
    return (f"state not written, trading HALTED: {f['actor']} could not write {f['path']} "
            f"({f['problem']}). Remedy: {f['remedy']}")


def _feed_stale(f: _View) -> str:
    return (f"market data stale: {f['symbol']} no update for {f['age_s']} s "
            f"(threshold {f['threshold_s']} s); no orders on it until fresh")


def _feed_fresh(f: _View) -> str:
    return f"market data fresh again: {f['symbol']} after {f['stale_for_s']} s stale"


def _feed_reconnected(f: _View) -> str:
    return (f"market stream {f['symbol']} reconnected after {f['gap_s']} s (attempt "
            f"{f['attempt']}); updates in the gap are unknown, not filled in")


def _venue_input_rejected(f: _View) -> str:
    return (f"venue answer refused ({f['what']}, {f['count']} since start): {f['detail']}; "
            "no position changed")


def _venue_rate_limited(f: _View) -> str:
    return (f"venue rate limit on {f['endpoint']}: nothing sent there for "
            f"{f['retry_after_s']} s")


def _admin_command(f: _View) -> str:
    return f"operator {f['command']} by {f['who']}: {f['reason']} -> {f['result']}"


def _telegram_refused(f: _View) -> str:
    return (f"Telegram command refused from {f['who']} in chat {f['chat_id']}: {f['why']} "
            f"({f['text']!r}; {f['refused_total']} refused since start)")


TEMPLATES: Mapping[str, Callable[[_View], str]] = {
    "TradingStateChanged": _trading_state,
    "ChildStarted": _child_started,
    "ChildTerminated": _child_terminated,
    "RestartIntensityReached": _restart_intensity,
    "TamperingDetected": _tampering,
    "StateLost": _state_lost,
    "StateWriteFailed": _state_write_failed,
    "FeedStale": _feed_stale,
    "FeedFresh": _feed_fresh,
    "FeedReconnected": _feed_reconnected,
    "VenueInputRejected": _venue_input_rejected,
    "VenueRateLimited": _venue_rate_limited,
    "BreakerTripped": _breaker_tripped,
    "BreakerHalted": _breaker_halted,
    "BreakerReset": _breaker_reset,
    "StrategyFailed": _strategy_failed,
    "BadMessageSeen": _bad_message,
    "HeartbeatMissed": _heartbeat_missed,
    "HangDetected": _hang_detected,
    "HeartbeatAction": _heartbeat_action,
    "OrderRejected": _order_rejected,
    "OrderFilled": _order_filled,
    "ConfigChanged": _config_changed,
    "JournalAnchored": _journal_anchored,
    "AdminCommandReceived": _admin_command,
    "TelegramCommandRefused": _telegram_refused,
}
"""Body template per event type name; :func:`fallback` serves the rest."""


def headline(severity: Severity) -> str:
    """The prefix every message carries: ``🔴 RED · ``."""
    return f"{severity.emoji} {severity.name} · "


def fallback(event_name: str, fields: Fields) -> str:
    """A generic body: the event name and its fields as ``name=value`` pairs."""
    pairs = ", ".join(f"{key}={_show(raw(value))}" for key, value in fields.items())
    return f"{event_name}: {pairs}" if pairs else event_name


def render(severity: Severity, event_name: str, fields: Fields) -> str:
    """The message for one event.

    Args:
        severity: Level from the policy table.
        event_name: The event's type name.
        fields: The event's fields by name; any may be missing.

    Returns:
        Plain text, at most :data:`MAX_CHARS` characters; never raises.
    """
    template = TEMPLATES.get(event_name)
    body: str
    if template is None:
        body = fallback(event_name, fields)
    else:
        try:
            body = template(_View(fields))
        except Exception:  # noqa: BLE001 - an alert must go out even if its template is wrong
            body = fallback(event_name, fields)
    return clip(headline(severity) + body)


def render_burst(
    severity: Severity,
    event_name: str,
    *,
    count: int,
    window_s: float,
    total: int,
    since: float,
    top: list[tuple[str, int]],
    others: int,
) -> str:
    """The summary of a coalesced burst (``coalesce.py``).

    Args:
        severity: Level of the coalesced event type.
        event_name: The coalesced event type.
        count: Events in this window, beyond those already reported.
        window_s: Window length in seconds.
        total: Events since the burst began, every earlier message included.
        since: When the burst began (seconds since the epoch).
        top: The most frequent grouping values and their counts, most frequent first.
        others: Events whose grouping value is not in ``top``.

    Returns:
        Plain text, e.g. ``🟡 YELLOW · 499 more OrderRejected in the last 60 s (500 since
        12:00:01 UTC); top reasons: max_notional x300, price_collar x199``.
    """
    what = _BURST_NOUNS.get(event_name, event_name)
    started = _hms(since)
    text = f"{count} more {what} in the last {window_s:g} s ({total} since {started})"
    if top:
        reasons = ", ".join(f"{key} x{n}" for key, n in top)
        if others:
            reasons += f", other x{others}"
        text += f"; top reasons: {reasons}"
    return clip(headline(severity) + text)


_BURST_NOUNS: Mapping[str, str] = {
    "OrderRejected": "orders rejected",
    "BadMessageSeen": "undecodable messages dropped",
}


def _hms(epoch_s: float) -> str:
    return dt.datetime.fromtimestamp(epoch_s, tz=dt.UTC).strftime("%H:%M:%S UTC")


def clip(text: str) -> str:
    """``text`` cut to :data:`MAX_CHARS`, marked with an ellipsis when cut."""
    return text if len(text) <= MAX_CHARS else text[: MAX_CHARS - 1] + "…"
