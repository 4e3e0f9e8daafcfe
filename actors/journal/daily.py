"""The daily report's pure core: one day's journal entries in, a `DailyReport` out.

Everything in the report is read from the journal's own entries for that day, so the CLI
(``quantfund report``) and the message the alerter sends at the session boundary say the same
thing, and a person can check each figure against the day file. `read_day` and `report_for`
are the functions that touch a file (`report_for` folds it as it reads); `build` is a fold over
values.

What the journal holds of latency is what the events carry (the heartbeat's silence, a hang's
duration, a feed's gap or staleness) and the entries' own times (a halt until the last order
cancelled after it). Price ticks and the trading-state acknowledgements are not journaled, so
tick -> order and halt -> all acks are not in the report (Prometheus has them).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import msgspec

from actors.journal.chain import Entry
from actors.journal.layout import day_path, list_days, read_lines
from actors.journal.torn import check_line

HALT_CANCELS_WITHIN_S = 60.0
"""Cancels this long after a halt still count as the halt's (as the metrics count them)."""
MAX_SERIES_POINTS = 500
"""Equity points kept in the report for the chart (the extremes are computed on all)."""


class Incident(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One breaker trip or halt, as the journal recorded it."""

    at: str
    """Entry time (RFC 3339 UTC)."""
    seq: int
    """Journal seq of the entry."""
    what: str
    """The rule (a trip) or who asked (a halt)."""
    reason: str
    """Why, as recorded."""


class Latency(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The worst figures the day's entries carry (None: nothing of that kind that day)."""

    halt_to_last_cancel_s: float | None = None
    """A halt until the last order cancelled within 60 s after it (entry times)."""
    heartbeat_silence_s: float | None = None
    """Longest silence of an actor reported by ``HeartbeatMissed``."""
    hang_s: float | None = None
    """Longest hang or stall reported by ``HangDetected``."""
    feed_gap_s: float | None = None
    """Longest market-stream gap reported by ``FeedReconnected``."""
    feed_stale_s: float | None = None
    """Longest a symbol stayed stale (``FeedFresh``)."""


class DailyReport(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One UTC day of trading, from its journal file."""

    day: str
    """The day (``YYYY-MM-DD``, UTC)."""
    anchor: str | None
    """Hash of the day's last good entry: its anchor (None for a day with no entry)."""
    first_seq: int
    """Seq of the day's first good entry (0 when none)."""
    last_seq: int
    """Seq of the day's last good entry: the anchor's (0 when none)."""
    entries: int
    """Good entries read."""
    bad_lines: int
    """Lines that are not good entries (torn or edited; ``journal verify`` says which)."""
    realized_pnl: float
    """Sum of the day's fills' realised P&L, less the commissions valued in cash (as
    execution's book counts them)."""
    equity_start: float | None
    """First equity mark of the day."""
    equity_end: float | None
    """Last equity mark of the day."""
    equity_peak: float | None
    """Highest equity mark of the day."""
    max_drawdown_pct: float
    """Deepest fall from the day's running equity peak, in percent of that peak."""
    fills: int
    """Fills (trades) recorded."""
    fills_by_instrument: dict[str, int]
    """Fills per instrument."""
    notional: float
    """Sum of quantity x price over the fills."""
    orders_accepted: int
    """Orders execution accepted."""
    rejections: dict[str, int]
    """Orders refused, by typed reason code."""
    breaker_trips: list[Incident]
    """Each ``BreakerTripped`` (rule, reason)."""
    breaker_halts: int
    """Breaker escalations to HALTED."""
    halts: list[Incident]
    """Each change into HALTED (who asked, reason)."""
    state_changes: int
    """Trading-state transitions of any kind."""
    restarts: dict[str, int]
    """Child restarts by actor (``ChildStarted`` with a restart count above 0)."""
    exits: dict[str, int]
    """Child processes ended, by exit reason."""
    latency: Latency
    """Worst latency figures the journal records."""
    equity_series: list[tuple[float, float]]
    """(epoch seconds, equity) through the day, at most `MAX_SERIES_POINTS` points."""
    fees: dict[str, float] = msgspec.field(default_factory=dict)
    """Commissions the venue charged, by currency (``FeeCharged``)."""
    fees_value: float = 0.0
    """Those valued in cash (a third currency's are not); already out of ``realized_pnl``."""

    @property
    def equity_change(self) -> float | None:
        """Equity at the day's end minus at its start."""
        if self.equity_start is None or self.equity_end is None:
            return None
        return self.equity_end - self.equity_start


def epoch(at: str) -> float:
    """An entry's time text (``2026-11-23T22:31:58.123456Z``) as epoch seconds."""
    return datetime.fromisoformat(at[:-1]).replace(tzinfo=UTC).timestamp()


def read_day(root: Path, day: str) -> tuple[list[Entry], int]:
    """The day file's good entries (hash checked) and how many lines were not.

    Raises:
        FileNotFoundError: there is no journal file for ``day``.
    """
    checked = list(_checked(root, day))
    good = [c for c in checked if isinstance(c, Entry)]
    return good, len(checked) - len(good)


def _checked(root: Path, day: str) -> Iterator[Entry | str]:
    """Each line of the day file: its entry when good, else why not."""
    if not day_path(root, day).exists():
        raise FileNotFoundError(f"no journal file for {day} ({day_path(root, day)})")
    for line in read_lines(root, day):
        yield check_line(line)


def report_for(root: Path, day: str) -> DailyReport:
    """`build` over the day file, one line at a time (no list of entries is held).

    Raises:
        FileNotFoundError: there is no journal file for ``day``.
    """
    fold, bad = _Fold(), 0
    for checked in _checked(root, day):
        if isinstance(checked, Entry):
            fold.add(checked)
        else:
            bad += 1
    return fold.report(day, bad)


def pick_day(root: Path, day: str | None) -> str:
    """``day`` checked (``YYYY-MM-DD``), or the last finished day: the one before the latest
    day file (the latest itself when it is the only one).

    Raises:
        ValueError: ``day`` is not a date, or there is no journal at all.
    """
    if day is not None:
        try:
            return date.fromisoformat(day).isoformat()
        except ValueError as exc:
            raise ValueError(f"--day {day!r} is not a date like 2026-11-23 ({exc})") from exc
    days = list_days(root)
    if not days:
        raise ValueError(f"no journal day files under {root}")
    return days[-2] if len(days) > 1 else days[-1]


def drawdowns(series: Iterable[tuple[float, float]]) -> list[float]:
    """Each point's fall from the running peak, in percent of that peak (0 at a new peak)."""
    out: list[float] = []
    peak: float | None = None
    for _, equity in series:
        peak = equity if peak is None else max(peak, equity)
        out.append(0.0 if peak <= 0 else (peak - equity) / peak * 100.0)
    return out


def build(day: str, entries: Iterable[Entry], bad_lines: int = 0) -> DailyReport:
    """Fold one day's entries (in file order) into its report."""
    fold = _Fold()
    for entry in entries:
        fold.add(entry)
    return fold.report(day, bad_lines)


def _max(current: float | None, value: Any) -> float | None:
    if not isinstance(value, int | float):
        return current
    return float(value) if current is None else max(current, float(value))


class _Fold:
    """The running totals of `build`."""

    def __init__(self) -> None:
        self.first: Entry | None = None
        self.last: Entry | None = None
        self.count = 0
        self.pnl = 0.0
        self.fills: Counter[str] = Counter()
        self.notional = 0.0
        self.fees: dict[str, float] = {}
        self.fees_value = 0.0
        self.accepted = 0
        self.rejections: Counter[str] = Counter()
        self.trips: list[Incident] = []
        self.breaker_halts = 0
        self.halts: list[Incident] = []
        self.changes = 0
        self.restarts: Counter[str] = Counter()
        self.exits: Counter[str] = Counter()
        self.series: list[tuple[float, float]] = []
        self.halted_at: float | None = None
        self.halt_cancel: float | None = None
        self.silence: float | None = None
        self.hang: float | None = None
        self.gap: float | None = None
        self.stale: float | None = None

    def add(self, entry: Entry) -> None:
        if self.first is None:
            self.first = entry
        self.last = entry
        self.count += 1
        f, name = entry.fields, entry.event
        if name in ("OrderFilled", "FeeCharged"):
            self._trade(name, f)
        elif name == "EquityUpdated":
            self.series.append((epoch(entry.at), float(f.get("equity", 0.0))))
        elif name == "OrderAccepted":
            self.accepted += 1
        elif name == "OrderRejected":
            self.rejections[str(f.get("code", "?"))] += 1
        elif name == "OrderCancelled":
            self._cancelled(epoch(entry.at))
        elif name == "BreakerTripped":
            self.trips.append(_incident(entry, "rule"))
        elif name == "BreakerHalted":
            self.breaker_halts += 1
        elif name == "TradingStateChanged":
            self._state_changed(entry)
        elif name == "ChildStarted" and int(f.get("restarts", 0)) > 0:
            self.restarts[str(f.get("actor", "?"))] += 1
        elif name == "ChildTerminated":
            self.exits[str(f.get("reason", "?"))] += 1
        else:
            self._latency(name, f)

    def _trade(self, name: str, f: dict[str, Any]) -> None:
        if name == "OrderFilled":
            self.fills[str(f.get("instrument", "?"))] += 1
            self.pnl += float(f.get("realized_pnl", 0.0))
            self.notional += abs(float(f.get("quantity", 0.0)) * float(f.get("price", 0.0)))
            return
        amount, value = float(f.get("amount", 0.0)), f.get("value")
        currency = str(f.get("currency", "?"))
        self.fees[currency] = self.fees.get(currency, 0.0) + amount
        if value is not None:
            self.fees_value += float(value)
            self.pnl -= float(value)

    def _state_changed(self, entry: Entry) -> None:
        f = entry.fields
        if f.get("previous") == f.get("state"):
            return
        self.changes += 1
        if f.get("state") == "HALTED":
            self.halts.append(_incident(entry, "source"))
            self.halted_at = epoch(entry.at)
        else:
            self.halted_at = None

    def _cancelled(self, at: float) -> None:
        if self.halted_at is not None and 0.0 <= at - self.halted_at < HALT_CANCELS_WITHIN_S:
            self.halt_cancel = _max(self.halt_cancel, at - self.halted_at)

    def _latency(self, name: str, f: dict[str, Any]) -> None:
        if name == "HeartbeatMissed":
            self.silence = _max(self.silence, f.get("silent_s"))
        elif name == "HangDetected":
            self.hang = _max(self.hang, f.get("for_s"))
        elif name == "FeedReconnected":
            self.gap = _max(self.gap, f.get("gap_s"))
        elif name == "FeedFresh":
            self.stale = _max(self.stale, f.get("stale_for_s"))

    def report(self, day: str, bad_lines: int) -> DailyReport:
        equities = [e for _, e in self.series]
        return DailyReport(
            day=day,
            anchor=None if self.last is None else self.last.hash,
            first_seq=0 if self.first is None else self.first.seq,
            last_seq=0 if self.last is None else self.last.seq,
            entries=self.count,
            bad_lines=bad_lines,
            realized_pnl=self.pnl,
            equity_start=equities[0] if equities else None,
            equity_end=equities[-1] if equities else None,
            equity_peak=max(equities) if equities else None,
            max_drawdown_pct=max(drawdowns(self.series), default=0.0),
            fills=sum(self.fills.values()),
            fills_by_instrument=dict(sorted(self.fills.items())),
            notional=self.notional,
            orders_accepted=self.accepted,
            rejections=dict(self.rejections.most_common()),
            breaker_trips=self.trips,
            breaker_halts=self.breaker_halts,
            halts=self.halts,
            state_changes=self.changes,
            restarts=dict(sorted(self.restarts.items())),
            exits=dict(sorted(self.exits.items())),
            latency=Latency(
                halt_to_last_cancel_s=self.halt_cancel,
                heartbeat_silence_s=self.silence,
                hang_s=self.hang,
                feed_gap_s=self.gap,
                feed_stale_s=self.stale,
            ),
            equity_series=_thin(self.series, MAX_SERIES_POINTS),
            fees=dict(sorted(self.fees.items())), fees_value=self.fees_value,
        )


def _incident(entry: Entry, what: str) -> Incident:
    return Incident(at=entry.at, seq=entry.seq, what=str(entry.fields.get(what, "?")),
                    reason=str(entry.fields.get("reason", "")))


def _thin(series: list[tuple[float, float]], limit: int) -> list[tuple[float, float]]:
    """At most ``limit`` points: evenly picked, the first, the last and the lowest kept."""
    if len(series) <= limit:
        return list(series)
    step = (len(series) - 1) / (limit - 3)
    picked = {round(i * step) for i in range(limit - 2)} | {len(series) - 1}
    picked.add(min(range(len(series)), key=lambda i: series[i][1]))
    return [series[i] for i in sorted(picked)][:limit]
